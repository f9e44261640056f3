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
	"github.com/shadowload/shadowload/internal/load/mqtt"
	"github.com/shadowload/shadowload/scenario"
)

// target is where a run's connections go and who they are.
type target struct {
	transport *mqtt.Transport
	things    []fleet.Bundle
	observers []load.ObserverGroup
	// close stops the embedded emulator and removes its files; a no-op
	// for a real endpoint.
	close func()
}

// prepareTarget starts the embedded emulator and provisions the fleet in
// it, or loads the bundles of a real endpoint. Every failure here is the
// user's to fix before a run.
func prepareTarget(ctx context.Context, s *scenario.Scenario, shard load.Shard, logw io.Writer) (*target, error) {
	if s.Target.Embedded() {
		return startEmbedded(ctx, s, logw)
	}
	tr := &mqtt.Transport{Endpoint: s.Target.Endpoint, ServerName: s.Target.ServerName}
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
	if err := t.pickBundles(s, s.Target.Bundles, shard); err != nil {
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
		// The generator shares the process: a goroutine per connection
		// rather than event loops, whose blocking waits would hold its
		// scheduler slots.
		EventLoops: -1,
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
	t := &target{transport: &mqtt.Transport{Endpoint: em.Addr()}, close: func() { em.Close(); os.RemoveAll(dir) }}
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
	if err := t.pickBundles(s, out, load.Shard{}); err != nil {
		t.close()
		return nil, err
	}
	return t, nil
}

// pickBundles loads the bundles directory and takes, in fleet order, the
// identity of every thing and observer connection the scenario names, or
// with a shard those of the shard's things, and the observers' for shard 0
// only (the others give the observer groups' sizes without connecting
// them). Too few bundles, or ones under other names, is an error that says
// how to provision the missing ones.
func (t *target) pickBundles(s *scenario.Scenario, dir string, shard load.Shard) error {
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
	for _, i := range shard.Things(s.Fleet.Things) {
		name := s.Fleet.ThingName(i)
		b, ok := byName[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		t.things = append(t.things, b)
	}
	hostsObservers := shard.Whole() || shard.Index == 0
	for _, o := range s.Observers {
		g := load.ObserverGroup{Name: o.Name, Filters: o.Filters, Count: o.Count, OfflineWrites: o.OfflineWrites}
		for k := 0; k < o.Count && hostsObservers; k++ {
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
		wanted := len(t.things) + n
		for _, g := range t.observers {
			wanted += len(g.Bundles)
		}
		more := ""
		if n > 3 {
			more = fmt.Sprintf(" and %d more", n-3)
			missing = missing[:3]
		}
		return fmt.Errorf("%s: target.bundles: %s holds %d bundles but none for %q%s: %d of the %d connections the %s needs have no identity (provision things with --name %q and observers with --observer --name NAME-{i})",
			s.Source, dir, len(bundles), missing, more, n, wanted, runOf(shard), s.Fleet.Name)
	}
	return nil
}

// runOf names what a run drives, for messages: "scenario" or "shard i/N".
func runOf(shard load.Shard) string {
	if shard.Whole() {
		return "scenario"
	}
	return fmt.Sprintf("shard %d/%d", shard.Index, shard.Count)
}

// maxStartAhead bounds how far ahead a shard's start may be set: a start
// days away is a typo, and a shard would hold its connections idle until
// then.
const maxStartAhead = 24 * time.Hour

// checkShard checks the shard and start options against the scenario
// before anything runs.
func checkShard(s *scenario.Scenario, opts Options) error {
	if err := opts.Shard.Validate(); err != nil {
		return err
	}
	if !opts.Shard.Whole() {
		if s.Target.Embedded() {
			return fmt.Errorf("shard %d/%d: a sharded run needs a target every shard reaches (--endpoint and --bundles); each shard would start its own embedded emulator",
				opts.Shard.Index, opts.Shard.Count)
		}
		if opts.Shard.Count > s.Fleet.Things {
			return fmt.Errorf("shard %d/%d: %d shards for a fleet of %d things: at most one shard per thing", opts.Shard.Index, opts.Shard.Count, opts.Shard.Count, s.Fleet.Things)
		}
	}
	if !opts.StartAt.IsZero() {
		now := time.Now()
		switch ahead := opts.StartAt.Sub(now); {
		case ahead <= 0:
			return fmt.Errorf("--start-at %s is %v in the past", opts.StartAt.UTC().Format(time.RFC3339), (-ahead).Round(time.Second))
		case ahead > maxStartAhead:
			return fmt.Errorf("--start-at %s is %v ahead; at most %v", opts.StartAt.UTC().Format(time.RFC3339), ahead.Round(time.Second), maxStartAhead)
		}
	}
	return nil
}
