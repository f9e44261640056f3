package emulator

import (
	"strings"
	"testing"
)

func TestDurabilityDefaultsToSyncAndRejectsOthers(t *testing.T) {
	cfg, err := Config{DataDir: t.TempDir()}.withDefaults()
	if err != nil || cfg.Durability != DurabilitySync {
		t.Fatalf("default durability %q, %v; want sync", cfg.Durability, err)
	}
	for _, d := range []Durability{DurabilitySync, DurabilityAsync, DurabilityOff} {
		if cfg, err := (Config{DataDir: t.TempDir(), Durability: d}).withDefaults(); err != nil || cfg.Durability != d {
			t.Errorf("durability %q: %q, %v", d, cfg.Durability, err)
		}
		if got := shadowConfig(Config{Durability: d}).Durability; string(got) != string(d) {
			t.Errorf("shadowConfig maps durability %q to %q", d, got)
		}
	}
	if _, err := (Config{DataDir: t.TempDir(), Durability: "fsync"}).withDefaults(); err == nil || !strings.Contains(err.Error(), `"fsync"`) {
		t.Fatalf("durability fsync: %v, want an error naming it", err)
	}
}
