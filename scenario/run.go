package scenario

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/metrics"
)

// Errors that say why a run could not produce a result worth reading.
var (
	// ErrUnreachable means no connection to the target could be made.
	ErrUnreachable = errors.New("target unreachable")
	// ErrNothingConnected means the target answered but no thing could
	// connect (refused certificates, policies…).
	ErrNothingConnected = errors.New("no thing connected")
)

// RunOptions configure Run.
type RunOptions struct {
	// Progress, when set, receives one progress line a second.
	Progress func(line string)
	// Log, when set, receives what the run sets up: the embedded emulator,
	// provisioning, connects.
	Log io.Writer
	// Seed fixes the generated payload values; runs with the same seed send
	// the same fields.
	Seed int64
}

// Run executes the scenario: it starts the embedded emulator and provisions
// the fleet when the target is embedded, or loads the bundles of a real
// endpoint, then drives the phases and returns the report with the
// thresholds evaluated. Reasons the run cannot be trusted are in
// Report.Invalid; the error is set only when there is nothing to report.
func Run(ctx context.Context, s *Scenario, opts RunOptions) (*metrics.Report, error) {
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	gen, err := s.Generator(opts.Seed)
	if err != nil {
		return nil, err
	}
	cfg := s.loadConfig(gen)
	cfg.HashMatchesDollar = s.Target.HashMatchesDollar
	if s.Target.Embedded() {
		stop, err := s.startEmbedded(ctx, &cfg, logw)
		if err != nil {
			return nil, err
		}
		defer stop()
	} else if err := s.loadBundles(&cfg); err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		cfg.Tick = func(p load.Progress) {
			opts.Progress(metrics.FormatProgress(p.Interval, metrics.Progress{
				Phase: p.Phase, Elapsed: p.Elapsed, Connected: p.Connected, Things: p.Things, TargetRate: p.TargetRate,
			}))
		}
	}
	fmt.Fprintf(logw, "connecting %d things at %s to %s\n", len(cfg.Things), s.Fleet.ConnectRate, cfg.Target.Endpoint)
	res, err := load.Run(ctx, cfg)
	if errors.Is(err, load.ErrNothingConnected) {
		if res != nil && res.Report.Counters["connect.failed.dial"] > 0 && res.Report.Counters["connect.failed.tls"]+res.Report.Counters["connect.failed.connack"] == 0 {
			return res.Report, fmt.Errorf("%w: %s", ErrUnreachable, cfg.Target.Endpoint)
		}
		return reportOf(res), fmt.Errorf("%w: %s", ErrNothingConnected, connectFailures(res))
	}
	if err != nil {
		return nil, err
	}
	rep := res.Report
	rep.Config, _ = json.Marshal(s.record())
	ths := make([]metrics.Threshold, 0, len(s.Thresholds))
	for _, spec := range s.Thresholds {
		th, err := spec.Threshold()
		if err != nil {
			return rep, err
		}
		ths = append(ths, th)
	}
	metrics.Evaluate(rep, ths)
	return rep, nil
}

// Passed reports whether every threshold of a report passed.
func Passed(rep *metrics.Report) bool {
	for _, t := range rep.Thresholds {
		if !t.Pass {
			return false
		}
	}
	return true
}

func reportOf(res *load.Result) *metrics.Report {
	if res == nil {
		return nil
	}
	return res.Report
}

// connectFailures summarises the connect failures of a report.
func connectFailures(res *load.Result) string {
	if res == nil {
		return "no connect attempted"
	}
	out := ""
	for k, v := range res.Report.Counters {
		if v > 0 && len(k) > len("connect.failed.") && k[:len("connect.failed.")] == "connect.failed." {
			if out != "" {
				out += ", "
			}
			out += fmt.Sprintf("%d %s", v, k[len("connect.failed."):])
		}
	}
	if out == "" {
		return "no connect succeeded"
	}
	return "connect failures: " + out
}

// loadConfig maps the scenario onto the load engine's configuration; the
// target and identities are filled in by the caller.
func (s *Scenario) loadConfig(gen *Generator) load.Config {
	cfg := load.Config{
		ConnectRate: float64(s.Fleet.ConnectRate),
		KeepAlive:   s.Fleet.KeepAlive,
		CleanStart:  s.Fleet.CleanStart,
		QoS:         byte(s.Payload.QoS),
		Optimistic:  s.Payload.Optimistic,
		Timeout:     s.Timeout,
		InFlight:    s.InFlight,
		Fields: func(int) load.FieldsFunc {
			return func(dst []byte, thing int) []byte { return gen.AppendFields(dst, thing, nil) }
		},
	}
	for _, sh := range s.Fleet.Shadows {
		if sh == ClassicShadow {
			sh = ""
		}
		cfg.Shadows = append(cfg.Shadows, sh)
	}
	for _, p := range s.Phases {
		spec := load.PhaseSpec{
			Phase:          load.Phase{Name: p.Name, Duration: p.Duration, From: float64(p.From), To: float64(p.To)},
			Mix:            load.Mix{load.OpUpdate: float64(p.Mix.Update), load.OpGet: float64(p.Mix.Get), load.OpDelete: float64(p.Mix.Delete)},
			RespondToDelta: p.RespondToDelta,
		}
		switch p.Write {
		case SectionDesired:
			spec.Write = load.WriteDesired
		case SectionBoth:
			spec.Write = load.WriteBoth
		}
		cfg.Phases = append(cfg.Phases, spec)
	}
	return cfg
}

// startEmbedded starts the in-process emulator on a free loopback port with
// a temporary data directory and provisions the fleet and observers in it.
// stop shuts the emulator down and removes the directory.
func (s *Scenario) startEmbedded(ctx context.Context, cfg *load.Config, logw io.Writer) (stop func(), err error) {
	dir, err := os.MkdirTemp("", "shadowload-")
	if err != nil {
		return nil, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	em, err := emulator.New(emulator.Config{
		DataDir:           filepath.Join(dir, "data"),
		Listen:            "127.0.0.1:0",
		Limits:            emulator.LimitsProfile(s.Target.Emulator.Limits),
		Latency:           s.Target.Emulator.Latency.String(),
		HashMatchesDollar: s.Target.HashMatchesDollar,
		Logger:            slog.New(slog.NewTextHandler(logw, &slog.HandlerOptions{Level: slog.LevelError})),
	})
	if err != nil {
		cleanup()
		return nil, err
	}
	if err := em.Start(); err != nil {
		cleanup()
		return nil, err
	}
	stop = func() { em.Close(); cleanup() }
	fmt.Fprintf(logw, "embedded emulator on %s (limits %s)\n", em.Addr(), s.Target.Emulator.Limits)

	out := filepath.Join(dir, "bundles")
	start := time.Now()
	if _, err := fleet.Provision(ctx, em.CA(), em.Registry(), fleet.ProvisionOptions{
		Things: s.Fleet.Things, NamePattern: s.Fleet.Name, OutDir: out,
	}); err != nil {
		stop()
		return nil, fmt.Errorf("provision the fleet: %w", err)
	}
	for _, o := range s.Observers {
		if _, err := fleet.Provision(ctx, em.CA(), em.Registry(), fleet.ProvisionOptions{
			Things: o.Count, NamePattern: o.Name + "-{i}", OutDir: out, Observer: true,
		}); err != nil {
			stop()
			return nil, fmt.Errorf("provision observers %q: %w", o.Name, err)
		}
	}
	fmt.Fprintf(logw, "provisioned %d things and %d observers in %v\n", s.Fleet.Things, s.observerCount(), time.Since(start).Round(time.Millisecond))
	cfg.Target = load.Target{Endpoint: em.Addr(), Roots: em.CA().Pool()}
	if err := s.pickBundles(cfg, out); err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}

// loadBundles reads the bundles of a real endpoint and the trust roots.
func (s *Scenario) loadBundles(cfg *load.Config) error {
	cfg.Target = load.Target{Endpoint: s.Target.Endpoint, ServerName: s.Target.ServerName}
	if s.Target.ALPN != "" {
		cfg.Target.ALPN = []string{s.Target.ALPN}
	}
	if err := s.pickBundles(cfg, s.Target.Bundles); err != nil {
		return err
	}
	if s.Target.RootCA != "" {
		pem, err := os.ReadFile(s.Target.RootCA)
		if err != nil {
			return fmt.Errorf("%s: target.root_ca: %w", s.Source, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("%s: target.root_ca: %s holds no PEM certificate", s.Source, s.Target.RootCA)
		}
		cfg.Target.Roots = pool
	}
	return nil
}

// pickBundles loads the bundles directory and takes, in fleet order, the
// identity of every thing and observer connection the scenario names.
func (s *Scenario) pickBundles(cfg *load.Config, dir string) error {
	roots, bundles, err := fleet.LoadBundles(dir)
	if err != nil {
		return fmt.Errorf("%s: target.bundles: %w", s.Source, err)
	}
	if cfg.Target.Roots == nil {
		cfg.Target.Roots = roots
	}
	byName := make(map[string]fleet.Bundle, len(bundles))
	for _, b := range bundles {
		byName[b.Thing] = b
	}
	var missing []string
	cfg.Things = cfg.Things[:0]
	for i := 0; i < s.Fleet.Things; i++ {
		name := s.Fleet.ThingName(i)
		b, ok := byName[name]
		if !ok {
			missing = append(missing, name)
			continue
		}
		cfg.Things = append(cfg.Things, b)
	}
	cfg.Observers = cfg.Observers[:0]
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
		cfg.Observers = append(cfg.Observers, g)
	}
	if len(missing) > 0 {
		more := ""
		if len(missing) > 3 {
			more = fmt.Sprintf(" and %d more", len(missing)-3)
			missing = missing[:3]
		}
		return fmt.Errorf("%s: target.bundles: %s has no bundle for %q%s (provision things with --name %q and observers with --observer --name NAME-{i})",
			s.Source, dir, missing, more, s.Fleet.Name)
	}
	return nil
}

func (s *Scenario) observerCount() int {
	n := 0
	for _, o := range s.Observers {
		n += o.Count
	}
	return n
}

// record is what a report keeps of the scenario it ran.
func (s *Scenario) record() map[string]any {
	phases := make([]map[string]any, len(s.Phases))
	for i, p := range s.Phases {
		phases[i] = map[string]any{
			"name": p.Name, "duration": p.Duration.String(), "from": p.From.String(), "to": p.To.String(),
			"mix":   map[string]int{"update": p.Mix.Update, "get": p.Mix.Get, "delete": p.Mix.Delete},
			"write": p.Write.String(), "respond_to_delta": p.RespondToDelta,
		}
	}
	observers := make([]map[string]any, len(s.Observers))
	for i, o := range s.Observers {
		observers[i] = map[string]any{"name": o.Name, "count": o.Count, "filters": o.Filters}
	}
	return map[string]any{
		"name": s.Name, "source": s.Source, "endpoint": s.Target.Endpoint,
		"limits": string(s.Target.Emulator.Limits), "latency": s.Target.Emulator.Latency.String(),
		"things": s.Fleet.Things, "shadows": s.Fleet.Shadows, "connect_rate": s.Fleet.ConnectRate.String(),
		"observers": observers, "phases": phases, "qos": s.Payload.QoS, "optimistic": s.Payload.Optimistic,
		"timeout": s.Timeout.String(), "in_flight": s.InFlight,
	}
}
