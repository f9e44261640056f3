package emulator

import (
	"encoding/json"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/shadowload/shadowload/emulator/internal/broker"
)

// Lifecycle event topics.
const (
	presencePrefix      = "$aws/events/presence/"
	subscriptionsPrefix = "$aws/events/subscriptions/"
)

// versionResetAfter is how long a client ID stays offline before its
// lifecycle versionNumber starts again from 0.
const versionResetAfter = time.Hour

// presence keeps each client ID's lifecycle versionNumber: monotonic while
// the client ID comes and goes, shared by a connection's connected and
// disconnected events, reset after versionResetAfter offline.
type presence struct {
	mu  sync.Mutex
	ids map[string]*presenceEntry
}

type presenceEntry struct {
	version      int64
	online       int
	offlineSince time.Time
}

// connected returns the versionNumber of a new connection of id.
func (p *presence) connected(id string, now time.Time) int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ids == nil {
		p.ids = map[string]*presenceEntry{}
	}
	e := p.ids[id]
	switch {
	case e == nil:
		e = &presenceEntry{}
		p.ids[id] = e
	case e.online == 0 && now.Sub(e.offlineSince) >= versionResetAfter:
		e.version = 0
	default:
		e.version++
	}
	e.online++
	return e.version
}

// disconnected notes that a connection of id ended.
func (p *presence) disconnected(id string, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e := p.ids[id]; e != nil {
		e.online--
		if e.online == 0 {
			e.offlineSince = now
		}
	}
}

// sweep forgets client IDs offline for longer than versionResetAfter.
func (p *presence) sweep(now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id, e := range p.ids {
		if e.online == 0 && now.Sub(e.offlineSince) >= versionResetAfter {
			delete(p.ids, id)
		}
	}
}

// lifecycleEvent is the JSON of a lifecycle event; fields left empty are
// omitted as each event type omits them.
type lifecycleEvent struct {
	ClientID                  string   `json:"clientId"`
	Timestamp                 int64    `json:"timestamp"`
	EventType                 string   `json:"eventType"`
	SessionIdentifier         string   `json:"sessionIdentifier"`
	PrincipalIdentifier       string   `json:"principalIdentifier"`
	IPAddress                 string   `json:"ipAddress,omitempty"`
	VersionNumber             *int64   `json:"versionNumber,omitempty"`
	ClientInitiatedDisconnect *bool    `json:"clientInitiatedDisconnect,omitempty"`
	DisconnectReason          string   `json:"disconnectReason,omitempty"`
	ConnectFailureReason      string   `json:"connectFailureReason,omitempty"`
	Topics                    []string `json:"topics,omitempty"`
}

// emit publishes ev on topic when someone subscribes to it; client IDs
// holding + or # produce no events, as on AWS.
func (h *awsSide) emit(topic string, ev *lifecycleEvent) {
	if strings.ContainsAny(ev.ClientID, "+#") || !h.srv.HasSubscribers(topic) {
		return
	}
	b, err := json.Marshal(ev)
	if err != nil {
		h.log.Error("lifecycle event", "error", err)
		return
	}
	h.srv.Publish(topic, b)
}

// event starts the event of type typ about c.
func event(c *broker.Client, cs *connState, typ string) *lifecycleEvent {
	ev := &lifecycleEvent{ClientID: c.ID, Timestamp: time.Now().UnixMilli(), EventType: typ, SessionIdentifier: c.SessionID}
	if cs != nil {
		ev.PrincipalIdentifier = cs.certID
	}
	return ev
}

// addrOf is the IP address of a, unmapped; the zero Addr when a has none.
func addrOf(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

func ipOf(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP.String()
	}
	host, _, _ := net.SplitHostPort(a.String())
	return host
}

// Connected tracks the connection and publishes its connected event.
func (h *awsSide) Connected(c *broker.Client) {
	cs := stateOf(c)
	if cs == nil {
		return
	}
	cs.version = h.presence.connected(c.ID, time.Now())
	h.track(c, cs)
	ev := event(c, cs, "connected")
	ev.IPAddress = ipOf(c.Remote)
	ev.VersionNumber = &cs.version
	h.emit(presencePrefix+"connected/"+c.ID, ev)
}

// ConnectFailed publishes the connect_failed event of a refused CONNECT.
func (h *awsSide) ConnectFailed(c *broker.Client) {
	ev := event(c, stateOf(c), "connect_failed")
	if ev.SessionIdentifier == "" {
		ev.SessionIdentifier = broker.NewSessionID()
	}
	ev.IPAddress = ipOf(c.Remote)
	ev.ConnectFailureReason = "AUTHORIZATION_FAILED"
	h.emit(presencePrefix+"connect_failed/"+c.ID, ev)
}

// Disconnected forgets the connection and publishes its disconnected event.
func (h *awsSide) Disconnected(c *broker.Client, reason broker.DisconnectReason) {
	cs := stateOf(c)
	if cs == nil {
		return
	}
	h.untrack(c, cs)
	h.presence.disconnected(c.ID, time.Now())
	ev := event(c, cs, "disconnected")
	initiated := reason == broker.ReasonClientInitiated
	ev.ClientInitiatedDisconnect = &initiated
	ev.DisconnectReason = reason.String()
	ev.VersionNumber = &cs.version
	h.emit(presencePrefix+"disconnected/"+c.ID, ev)
}

// Subscribed publishes the subscribed event of a SUBSCRIBE.
func (h *awsSide) Subscribed(c *broker.Client, filters []string) {
	ev := event(c, stateOf(c), "subscribed")
	ev.Topics = filters
	h.emit(subscriptionsPrefix+"subscribed/"+c.ID, ev)
}

// Unsubscribed publishes the unsubscribed event of an UNSUBSCRIBE.
func (h *awsSide) Unsubscribed(c *broker.Client, filters []string) {
	ev := event(c, stateOf(c), "unsubscribed")
	ev.Topics = filters
	h.emit(subscriptionsPrefix+"unsubscribed/"+c.ID, ev)
}
