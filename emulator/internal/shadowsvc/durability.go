package shadowsvc

import (
	"fmt"
	"path/filepath"
	"time"
)

// Durability says when an accepted change of a shadow reaches the disk
// relative to its accepted reply.
type Durability string

// Durability settings.
const (
	// DurabilitySync makes every accepted update, delete and named-shadow
	// change durable (written and fsynced, one fsync per group of
	// concurrent changes) before its reply is published: an acknowledged
	// change survives kill -9 and a machine crash. "" means this.
	DurabilitySync Durability = "sync"
	// DurabilityAsync publishes a change's reply once its record is written
	// to the operating system (it survives kill -9 of the emulator) and
	// fsyncs within SyncInterval (a machine crash loses at most that).
	DurabilityAsync Durability = "async"
	// DurabilityOff logs nothing: shadows are written to a snapshot at
	// Close only, for pure throughput runs. A crash loses every change
	// since the last start, and versions can repeat after one.
	DurabilityOff Durability = "off"
)

// DefaultDurability is the setting used when none is given.
const DefaultDurability = DurabilitySync

// DefaultSyncInterval bounds how long DurabilityAsync leaves a written
// record unsynced.
const DefaultSyncInterval = 100 * time.Millisecond

// ParseDurability parses a durability setting: sync, async or off; ""
// means DefaultDurability.
func ParseDurability(s string) (Durability, error) {
	switch d := Durability(s); d {
	case "":
		return DefaultDurability, nil
	case DurabilitySync, DurabilityAsync, DurabilityOff:
		return d, nil
	}
	return "", fmt.Errorf("durability %q: want sync, async or off", s)
}

// Describe says in a few words what the setting promises.
func (d Durability) Describe() string {
	switch d {
	case DurabilityAsync:
		return "async (a reply waits for its write; fsync within " + DefaultSyncInterval.String() + ")"
	case DurabilityOff:
		return "off (shadows saved at shutdown only)"
	}
	return "sync (a reply waits for its fsync)"
}

// shadowDir returns the directory of the shadow log and snapshots.
func shadowDir(dataDir string) string { return filepath.Join(dataDir, "shadows") }
