package emulator

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		mention string
	}{
		{"no data directory", Config{}, "DataDir"},
		{"unknown limits profile", Config{DataDir: t.TempDir(), Limits: "strict"}, `limits profile "strict"`},
		{"negative connect timeout", Config{DataDir: t.TempDir(), ConnectTimeout: -time.Second}, "connect timeout"},
		{"bad latency spec", Config{DataDir: t.TempDir(), Latency: "sometimes"}, "latency"},
		{"bad stall spec", Config{DataDir: t.TempDir(), Stall: "often"}, "stall"},
		{"disconnect on throttle without a rate", Config{DataDir: t.TempDir(), DisconnectOnThrottle: true}, "aws limits profile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestConfigDefaults(t *testing.T) {
	cfg, err := Config{DataDir: "x"}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Listen != DefaultListen || cfg.Limits != LimitsDefault || cfg.ConnectTimeout != DefaultConnectTimeout || cfg.Logger == nil {
		t.Fatalf("defaults = %+v", cfg)
	}
	if cfg.HashMatchesDollar || cfg.DisconnectOnDeniedPublish {
		t.Fatal("zero value must follow the MQTT spec and keep connections after denied publishes")
	}
}

func TestShadowLimitsFollowProfile(t *testing.T) {
	for profile, want := range map[LimitsProfile][2]int{LimitsDefault: {20, 10}, LimitsAWS: {20, 10}, LimitsNone: {0, 0}} {
		sc := shadowConfig(Config{Limits: profile})
		if sc.RequestsPerSecond != want[0] || sc.InFlightPerConn != want[1] {
			t.Errorf("%s: %d req/s, %d in flight; want %v", profile, sc.RequestsPerSecond, sc.InFlightPerConn, want)
		}
	}
}

func TestStartTwiceAndCloseTwice(t *testing.T) {
	e := startEmulator(t, nil)
	if err := e.Start(); err == nil {
		t.Fatal("second Start succeeded")
	}
	if !strings.HasPrefix(e.Addr(), "127.0.0.1:") || e.Addr() == "127.0.0.1:0" {
		t.Fatalf("Addr() = %q", e.Addr())
	}
	if !strings.HasSuffix(e.RootCAPath(), "ca/root-ca.pem") {
		t.Fatalf("RootCAPath() = %q", e.RootCAPath())
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

// countingHandler counts records.
type countingHandler struct {
	mu sync.Mutex
	n  int
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countingHandler) Handle(context.Context, slog.Record) error {
	h.mu.Lock()
	h.n++
	h.mu.Unlock()
	return nil
}
func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func TestBrokerLogIsSampled(t *testing.T) {
	next := &countingHandler{}
	log := slog.New(newSampledHandler(next, 5)).With("k", "v")
	for range 1000 {
		log.Warn("rejected")
	}
	if next.n != 5 {
		t.Fatalf("%d records passed in one burst, want 5", next.n)
	}
	h := newSampledHandler(next, 5)
	rec := slog.NewRecord(time.Now().Add(2*time.Second), slog.LevelWarn, "later", 0)
	next.n = 0
	for range 10 {
		_ = h.Handle(context.Background(), slog.NewRecord(time.Now(), slog.LevelWarn, "now", 0))
	}
	_ = h.Handle(context.Background(), rec)
	if next.n != 5+2 {
		t.Fatalf("next second passed %d records, want the 5 of the first second, a drop note and the record", next.n)
	}
}
