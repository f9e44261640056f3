package runner

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/internal/load/mqtt5"
	"github.com/shadowload/shadowload/scenario"
)

// target is where a run's connections go and who they are.
type target struct {
	transport *mqtt5.Transport
	things    []fleet.Bundle
	observers []load.ObserverGroup
	// close stops the embedded emulator and removes its files; a no-op
	// for a real endpoint.
	close func()
}

// prepareTarget starts the embedded emulator and provisions the fleet in
// it, or loads the bundles of a real endpoint. Every failure here is the
// user's to fix before a run.
func prepareTarget(ctx context.Context, s *scenario.Scenario, logw io.Writer) (*target, error) {
	if s.Target.Embedded() {
		return startEmbedded(ctx, s, logw)
	}
	tr := &mqtt5.Transport{Endpoint: s.Target.Endpoint, ServerName: s.Target.ServerName}
	if s.Target.ALPN != "" {
		tr.ALPN = []string{s.Target.ALPN}
	}
	if s.Target.RootCA != "" {
		pem, err := os.ReadFile(s.Target.RootCA)
		if err != nil {
			return nil, fmt.Errorf("%s: target.root_ca: %w", s.Source, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: target.root_ca: %s holds no PEM certificate", s.Source, s.Target.RootCA)
		}
		tr.Roots = pool
	}
	t := &target{transport: tr, close: func() {}}
	if err := t.pickBundles(s, s.Target.Bundles); err != nil {
		return nil, err
	}
	return t, nil
}

// startEmbedded starts the in-process emulator on a free loopback port with
// a temporary data directory and provisions the fleet and observers in it.
func startEmbedded(ctx context.Context, s *scenario.Scenario, logw io.Writer) (*target, error) {
	dir, err := os.MkdirTemp("", "shadowload-")
	if err != nil {
		return nil, fmt.Errorf("embedded emulator: %w", err)
	}
	data := filepath.Join(dir, "data")
	em, err := emulator.New(emulator.Config{
		DataDir:           data,
		Listen:            "127.0.0.1:0",
		Limits:            emulator.LimitsProfile(s.Target.Emulator.Limits),
		Latency:           s.Target.Emulator.Latency.String(),
		HashMatchesDollar: s.Target.HashMatchesDollar,
		// The data directory is temporary and removed after the run:
		// fsyncing every update would cost the run and keep nothing.
		Durability: emulator.DurabilityOff,
		Logger:     slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded emulator: %w", err)
	}
	if err := em.Start(); err != nil {
		em.Close()
		os.RemoveAll(dir)
		return nil, fmt.Errorf("embedded emulator: %w", err)
	}
	t := &target{transport: &mqtt5.Transport{Endpoint: em.Addr()}, close: func() { em.Close(); os.RemoveAll(dir) }}
	fmt.Fprintf(logw, "embedded emulator on %s (limits %s)\n", em.Addr(), s.Target.Emulator.Limits)

	ca, err := fleet.LoadOrCreateCA(data)
	if err != nil {
		t.close()
		return nil, fmt.Errorf("embedded emulator: %w", err)
	}
	out := filepath.Join(dir, "bundles")
	start := time.Now()
	if _, err := fleet.Provision(ctx, ca, em.Registry(), fleet.ProvisionOptions{
		Things: s.Fleet.Things, NamePattern: s.Fleet.Name, OutDir: out,
	}); err != nil {
		t.close()
		return nil, fmt.Errorf("provision the fleet: %w", err)
	}
	observers := 0
	for _, o := range s.Observers {
		if _, err := fleet.Provision(ctx, ca, em.Registry(), fleet.ProvisionOptions{
			Things: o.Count, NamePattern: o.Name + "-{i}", OutDir: out, Observer: true,
		}); err != nil {
			t.close()
			return nil, fmt.Errorf("provision observers %q: %w", o.Name, err)
		}
		observers += o.Count
	}
	fmt.Fprintf(logw, "provisioned %d things and %d observers in %v\n", s.Fleet.Things, observers, time.Since(start).Round(time.Millisecond))
	if err := t.pickBundles(s, out); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// pickBundles loads the bundles directory and takes, in fleet order, the
// identity of every thing and observer connection the scenario names. Too
// few bundles, or ones under other names, is an error that says how to
// provision the missing ones.
func (t *target) pickBundles(s *scenario.Scenario, dir string) error {
	roots, bundles, err := fleet.LoadBundles(dir)
	if err != nil {
		return fmt.Errorf("%s: target.bundles: %w", s.Source, err)
	}
	if t.transport.Roots == nil {
		t.transport.Roots = roots
	}
	byName := make(map[string]fleet.Bundle, len(bundles))
	for _, b := range bundles {
		byName[b.Thing] = b
	}
	var missing []string
	for i := 0; i < s.Fleet.Things; i++ {
		name := s.Fleet.ThingName(i)
		b, ok := byName[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		t.things = append(t.things, b)
	}
	for _, o := range s.Observers {
		g := load.ObserverGroup{Name: o.Name, Filters: o.Filters}
		for k := 0; k < o.Count; k++ {
			name := fmt.Sprintf("%s-%d", o.Name, k)
			b, ok := byName[name]
			if !ok {
				missing = append(missing, name)
				continue
			}
			g.Bundles = append(g.Bundles, b)
		}
		t.observers = append(t.observers, g)
	}
	if n := len(missing); n > 0 {
		wanted := s.Fleet.Things
		for _, o := range s.Observers {
			wanted += o.Count
		}
		more := ""
		if n > 3 {
			more = fmt.Sprintf(" and %d more", n-3)
			missing = missing[:3]
		}
		return fmt.Errorf("%s: target.bundles: %s holds %d bundles but none for %q%s: %d of the %d connections the scenario needs have no identity (provision things with --name %q and observers with --observer --name NAME-{i})",
			s.Source, dir, len(bundles), missing, more, n, wanted, s.Fleet.Name)
	}
	return nil
}
