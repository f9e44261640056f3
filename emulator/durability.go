package emulator

import "github.com/shadowload/shadowload/emulator/internal/shadowsvc"

// Durability says when an accepted shadow change reaches the disk relative
// to its accepted reply.
type Durability string

// Durability settings.
const (
	// DurabilitySync makes every accepted update and delete durable
	// (fsynced, one fsync per group of concurrent changes) before its reply
	// leaves: it survives kill -9 and a machine crash. The default.
	DurabilitySync = Durability(shadowsvc.DurabilitySync)
	// DurabilityAsync lets a reply leave once its change is written to the
	// operating system (it survives kill -9) and fsyncs within 100 ms.
	DurabilityAsync = Durability(shadowsvc.DurabilityAsync)
	// DurabilityOff saves shadows at shutdown only, for pure throughput
	// runs: a crash loses every change since the start.
	DurabilityOff = Durability(shadowsvc.DurabilityOff)
)

// Describe says in a few words what the setting promises.
func (d Durability) Describe() string { return shadowsvc.Durability(d).Describe() }

// parseDurability validates d; "" means DurabilitySync.
func parseDurability(d Durability) (Durability, error) {
	sd, err := shadowsvc.ParseDurability(string(d))
	return Durability(sd), err
}

// ShadowRecovery describes what the shadow service restored from the data
// directory when the emulator started; "" before Start.
func (e *Emulator) ShadowRecovery() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.aws == nil || e.aws.shadow == nil {
		return ""
	}
	return e.aws.shadow.recovered()
}
