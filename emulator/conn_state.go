package emulator

import (
	"sync"
	"unsafe"

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
	// SUBSCRIBE is processed, keyed by filter; subOverrides are SUBACK
	// reason codes, by packet ID, that replace the broker's for filters
	// refused by a limit.
	subDecisions map[string]subDecision
	subOverrides map[uint16][]byte
}

// subDecision is OnSubscribe's answer for one filter. filter is the
// emulator's own copy of the filter string, put into the SUBSCRIBE packet,
// so that the broker's check of that filter can be told apart from a
// delivery, made concurrently by another client, of a topic spelled the
// same: mochi asks OnACLCheck(topic, read) for both.
type subDecision struct {
	filter string
	allow  bool
}

// isFilterCheck reports whether topic is the very string d was made for
// (not merely an equal one).
func (d subDecision) isFilterCheck(topic string) bool {
	return len(topic) == len(d.filter) && unsafe.StringData(topic) == unsafe.StringData(d.filter)
}

// allowed evaluates the connection's policies, reloading them when the
// registry changed since they were last loaded.
func (cs *connState) allowed(reg *Registry, a policy.Action, name string) bool {
	gen := reg.Generation()
	cs.mu.Lock()
	set := cs.policyLocked(reg, gen)
	cs.mu.Unlock()
	return set != nil && set.Allowed(a, name, &cs.pctx)
}

// policyLocked returns the connection's policy set for registry generation
// gen, or nil when the certificate is not ACTIVE. The caller holds cs.mu.
func (cs *connState) policyLocked(reg *Registry, gen uint64) *policy.Set {
	if cs.set == nil || cs.setGen != gen {
		status, _, set, ok := reg.policySet(cs.certID)
		cs.set, cs.setGen, cs.active = set, gen, ok && status == StatusActive
	}
	if !cs.active {
		return nil
	}
	return cs.set
}
