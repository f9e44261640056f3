package emulator

import (
	"sync"

	"github.com/shadowload/shadowload/internal/policy"
)

// connState is what the emulator knows about one MQTT connection: who it is
// (certificate, thing, policy variables), its policy set, its subscriptions
// and its rate limits.
type connState struct {
	certID string
	pctx   policy.Context
	v5     bool
	limit  *connLimiter // nil unless the aws limits profile is on
	shadow shadowConn   // per-connection state of the shadow service

	mu     sync.Mutex
	set    *policy.Set
	setGen uint64
	active bool // certificate ACTIVE when the set was loaded
	// filters are the topic filters the client holds (for the 50 limit and
	// the "a/#" rule); parentFilters counts those ending in "/#".
	filters       map[string]struct{}
	parentFilters int
	// subDecisions answers the broker's per-filter ACL checks while one
	// SUBSCRIBE is processed; subOverrides are SUBACK reason codes, by
	// packet ID, that replace the broker's for filters refused by a limit.
	subDecisions map[string]bool
	subOverrides map[uint16][]byte
}

// allowed evaluates the connection's policies, reloading them when the
// registry changed since they were last loaded.
func (cs *connState) allowed(reg *Registry, a policy.Action, name string) bool {
	gen := reg.Generation()
	cs.mu.Lock()
	if cs.set == nil || cs.setGen != gen {
		status, _, set, ok := reg.policySet(cs.certID)
		cs.set, cs.setGen, cs.active = set, gen, ok && status == StatusActive
	}
	set, active := cs.set, cs.active
	cs.mu.Unlock()
	return active && set != nil && set.Allowed(a, name, &cs.pctx)
}
