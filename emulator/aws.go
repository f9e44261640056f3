package emulator

import (
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/internal/policy"
)

// awsSide is AWS IoT Core around the broker: identity from the client
// certificate and policies at every CONNECT, PUBLISH, SUBSCRIBE and delivery
// (connect.go, publish.go, deliver.go), lifecycle events (lifecycle.go) and
// the shadow service (publish.go). The broker calls it at named points; it
// implements broker.Authorizer, broker.Lifecycle and broker.Handler.
type awsSide struct {
	reg    *Registry
	cfg    Config
	log    *slog.Logger
	srv    *broker.Server
	shadow shadowRouter // nil: shadow topics are ordinary topics

	byCert   sync.Map // certificate ID → *certConns
	presence presence

	// Counters of refusals, for tests and diagnostics.
	refusedConnects  atomic.Int64
	deniedPublishes  atomic.Int64
	deniedSubscribes atomic.Int64
}

var (
	_ broker.Authorizer = (*awsSide)(nil)
	_ broker.Lifecycle  = (*awsSide)(nil)
	_ broker.Handler    = (*awsSide)(nil)
)

// certConns holds the live connections of one certificate.
type certConns struct {
	mu      sync.Mutex
	clients map[*broker.Client]struct{}
}

// connState is what the emulator knows about one connection: who it is
// (certificate, thing, policy variables), its policy set and its shadow
// service state.
type connState struct {
	certID  string
	pctx    policy.Context
	shadow  shadowConn
	version int64 // lifecycle versionNumber of this connection

	mu     sync.Mutex
	set    *policy.Set
	setGen uint64
	active bool // certificate ACTIVE when the set was loaded
}

// stateOf returns the emulator's state of a connection.
func stateOf(c *broker.Client) *connState {
	cs, _ := c.State.(*connState)
	return cs
}

// allowed evaluates the connection's policies, reloading them when the
// registry changed since they were last loaded.
func (cs *connState) allowed(reg *Registry, a policy.Action, name string) bool {
	set, active := cs.policies(reg)
	return active && set != nil && set.Allowed(a, name, &cs.pctx)
}

// policies returns the connection's policy set and whether its
// certificate is ACTIVE, read again when the registry changed.
func (cs *connState) policies(reg *Registry) (*policy.Set, bool) {
	gen := reg.Generation()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.set == nil || cs.setGen != gen {
		status, _, set, ok := reg.policySet(cs.certID)
		cs.set, cs.setGen, cs.active = set, gen, ok && status == StatusActive
	}
	return cs.set, cs.active
}

// denial is allowed's answer in the broker's terms: 0 when allowed,
// FORBIDDEN_ACCESS when an aws:SourceIp condition decided the refusal,
// AUTH_ERROR otherwise.
func (cs *connState) denial(reg *Registry, a policy.Action, name string) broker.DisconnectReason {
	set, active := cs.policies(reg)
	switch {
	case active && set != nil && set.Allowed(a, name, &cs.pctx):
		return 0
	case active && set.DeniedBySourceIP(a, name, &cs.pctx):
		return broker.ReasonForbiddenAccess
	}
	return broker.ReasonAuthError
}
