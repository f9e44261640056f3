package emulator

import (
	"crypto/tls"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/policy"
)

// Reason codes the emulator answers with beyond mochi's own.
var (
	errRetainOnReserved = packets.Code{Code: 0x83, Reason: "RETAIN is not allowed on $ topics"}
	errCertNotActive    = packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "certificate is not ACTIVE"}
	errUnknownCert      = packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "certificate is not registered"}
	errNoClientCert     = packets.Code{Code: packets.ErrNotAuthorized.Code, Reason: "no client certificate"}
	errCertLeftActive   = packets.Code{Code: packets.ErrAdministrativeAction.Code, Reason: "certificate is no longer ACTIVE"}
)

// awsHook is the mochi hook that makes the broker behave as AWS IoT Core:
// identity from the client certificate, policies at every CONNECT, PUBLISH,
// SUBSCRIBE and delivery, AWS protocol limits, the $aws wildcard rule and
// the shadow service.
type awsHook struct {
	mqtt.HookBase
	srv    *mqtt.Server
	reg    *Registry
	cfg    Config
	log    *slog.Logger
	shadow shadowRouter // nil: shadow topics are ordinary topics

	conns  sync.Map // *mqtt.Client → *connState
	byCert sync.Map // certificate ID → *certConns
	// disconnects counts the goroutines closing connections of
	// certificates that left ACTIVE; once stopped is set none are started.
	disconnectsMu sync.Mutex
	disconnects   sync.WaitGroup
	stopped       bool

	// Counters of refusals, for tests and diagnostics.
	refusedConnects  atomic.Int64
	deniedPublishes  atomic.Int64
	deniedSubscribes atomic.Int64
	droppedDelivery  atomic.Int64
	throttled        atomic.Int64
}

// certConns holds the live connections of one certificate.
type certConns struct {
	mu      sync.Mutex
	clients map[*mqtt.Client]struct{}
}

// ID names the hook.
func (h *awsHook) ID() string { return "aws-iot-core" }

// Provides lists the events the hook handles.
func (h *awsHook) Provides(b byte) bool {
	switch b {
	case mqtt.OnConnect, mqtt.OnConnectAuthenticate, mqtt.OnSessionEstablish, mqtt.OnSessionEstablished, mqtt.OnDisconnect,
		mqtt.OnACLCheck, mqtt.OnPacketRead, mqtt.OnPacketEncode, mqtt.OnPublish, mqtt.OnPublished,
		mqtt.OnSubscribe, mqtt.OnSubscribed, mqtt.OnUnsubscribed:
		return true
	}
	return false
}

func (h *awsHook) state(cl *mqtt.Client) *connState {
	v, ok := h.conns.Load(cl)
	if !ok {
		return nil
	}
	return v.(*connState)
}

// OnConnect identifies the client by its certificate, checks the certificate
// is registered and ACTIVE and that iot:Connect allows the client ID, and
// applies the AWS keep-alive and client ID rules. A refused MQTT 5 client
// gets a CONNACK with the reason; a refused MQTT 3.1.1 client is closed
// without one, as AWS does.
func (h *awsHook) OnConnect(cl *mqtt.Client, _ packets.Packet) error {
	v5 := cl.Properties.ProtocolVersion == 5
	if len(cl.ID) > MaxClientIDLength {
		return h.refuseConnect(cl, packets.ErrClientIdentifierNotValid, true)
	}
	tc, ok := cl.Net.Conn.(*tls.Conn)
	if !ok {
		return h.refuseConnect(cl, errNoClientCert, false)
	}
	peers := tc.ConnectionState().PeerCertificates
	if len(peers) == 0 {
		return h.refuseConnect(cl, errNoClientCert, false)
	}
	leaf := peers[0]
	certID := fleet.CertificateID(leaf.Raw)
	status, thing, _, ok := h.reg.policySet(certID)
	if !ok {
		// Provisioned by another process since we last looked?
		_, _ = h.reg.Refresh()
		status, thing, _, ok = h.reg.policySet(certID)
	}
	if !ok {
		return h.refuseConnect(cl, errUnknownCert, false)
	}
	if status != StatusActive {
		return h.refuseConnect(cl, errCertNotActive, false)
	}
	cs := &connState{certID: certID, v5: v5, pctx: policy.Context{ClientID: cl.ID, CommonName: leaf.Subject.CommonName}}
	if thing == cl.ID {
		cs.pctx.ThingName = thing
	}
	if !cs.allowed(h.reg, policy.Connect, cl.ID) {
		return h.refuseConnect(cl, packets.ErrNotAuthorized, false)
	}
	cl.State.Keepalive = iotcore.ClampKeepAlive(cl.State.Keepalive)
	cl.State.ServerKeepalive = v5
	if atomic.LoadUint32(&cl.Properties.Will.Flag) == 1 && !h.willAllowed(cs, cl.Properties.Will) {
		atomic.StoreUint32(&cl.Properties.Will.Flag, 0)
	}
	if h.cfg.Limits == LimitsAWS {
		cs.limit = newConnLimiter(awsPublishesPerSec, awsBytesPerSec, time.Now())
	}
	if h.shadow != nil {
		cs.shadow = h.shadow.newConn()
	}
	h.conns.Store(cl, cs)
	v, _ := h.byCert.LoadOrStore(certID, &certConns{clients: map[*mqtt.Client]struct{}{}})
	cc := v.(*certConns)
	cc.mu.Lock()
	cc.clients[cl] = struct{}{}
	cc.mu.Unlock()
	// A status change applied after the check above found no connection
	// of this certificate to close; now that certificateStatusChanged can
	// see this one, look again so that neither misses it.
	if status, _, _, ok := h.reg.policySet(certID); !ok || status != StatusActive {
		h.OnDisconnect(cl, nil, false)
		return h.refuseConnect(cl, errCertNotActive, false)
	}
	return nil
}

// willAllowed reports whether the Last Will may be published: iot:Publish on
// its topic, and for a retained will iot:RetainPublish and a non-$ topic.
func (h *awsHook) willAllowed(cs *connState, w mqtt.Will) bool {
	if !topicWithinLimits(w.TopicName) || !cs.allowed(h.reg, policy.Publish, w.TopicName) {
		return false
	}
	if w.Retain {
		return len(w.TopicName) > 0 && w.TopicName[0] != '$' && cs.allowed(h.reg, policy.RetainPublish, w.TopicName)
	}
	return true
}

// refuseConnect answers a refused CONNECT: a CONNACK for MQTT 5, and for
// MQTT 3.1.1 a CONNACK only when v3Connack is set (3.1.1 has codes for a bad
// client ID but none AWS uses for authorization).
func (h *awsHook) refuseConnect(cl *mqtt.Client, code packets.Code, v3Connack bool) error {
	h.refusedConnects.Add(1)
	h.log.Debug("connect refused", "client", cl.ID, "remote", cl.Net.Remote, "reason", code.Reason)
	if cl.Properties.ProtocolVersion == 5 || v3Connack {
		_ = h.srv.SendConnack(cl, code, false, nil)
	}
	return code
}

// OnConnectAuthenticate admits exactly the clients OnConnect accepted.
func (h *awsHook) OnConnectAuthenticate(cl *mqtt.Client, _ packets.Packet) bool {
	return h.state(cl) != nil
}

// OnSessionEstablish lets a connection that ends an older one with the same
// client ID wait for that one's teardown. mochi removes a client whose
// session ends by its client ID, after it has checked for a takeover; a new
// connection added to the client map in between is removed in its place and
// receives nothing. So when the older connection's session ends with it, the
// newer one disconnects it (reason 0x8E, as a takeover does) and waits, at
// most takeoverWait, until mochi has removed it. A session that outlives its
// connection is taken over by mochi as usual.
func (h *awsHook) OnSessionEstablish(cl *mqtt.Client, _ packets.Packet) {
	old, ok := h.srv.Clients.Get(cl.ID)
	if !ok || old == cl || !sessionEnds(old) {
		return
	}
	if !old.Closed() {
		_ = h.srv.DisconnectClient(old, packets.ErrSessionTakenOver)
	}
	deadline := time.Now().Add(takeoverWait)
	for time.Now().Before(deadline) {
		if cur, ok := h.srv.Clients.Get(cl.ID); !ok || cur != old || old.IsTakenOver() {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// takeoverWait bounds how long a connection waits for the teardown of the
// connection it replaces.
const takeoverWait = 2 * time.Second

// sessionEnds reports whether a client's session ends with its connection,
// as mochi decides it: MQTT 5 with no session expiry, or MQTT 3.1.1 with a
// clean session.
func sessionEnds(cl *mqtt.Client) bool {
	if cl.Properties.ProtocolVersion == 5 {
		return cl.Properties.Props.SessionExpiryInterval == 0
	}
	return cl.Properties.Clean
}

// OnSessionEstablished counts the subscriptions a resumed session brought.
func (h *awsHook) OnSessionEstablished(cl *mqtt.Client, _ packets.Packet) {
	cs := h.state(cl)
	if cs == nil {
		return
	}
	subs := cl.State.Subscriptions.GetAll()
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for filter := range subs {
		if h.cfg.HashMatchesDollar && isDollarTwin(filter, subs) {
			continue
		}
		cs.addFilter(filter)
	}
}

// isDollarTwin reports whether filter is one the emulator added itself: the
// $aws twin of another filter the session holds. A $aws filter the client
// subscribed to in its own right counts like any other.
func isDollarTwin(filter string, subs map[string]packets.Subscription) bool {
	if !strings.HasPrefix(filter, "$aws") {
		return false
	}
	for f := range subs {
		if twin, ok := dollarTwin(f); ok && twin == filter {
			return true
		}
	}
	return false
}

// OnDisconnect forgets the connection.
func (h *awsHook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	v, ok := h.conns.LoadAndDelete(cl)
	if !ok {
		return
	}
	cs := v.(*connState)
	if v, ok := h.byCert.Load(cs.certID); ok {
		cc := v.(*certConns)
		cc.mu.Lock()
		delete(cc.clients, cl)
		cc.mu.Unlock()
	}
}

// sweep forgets connections that closed without OnDisconnect, which mochi
// skips when writing the CONNACK fails.
func (h *awsHook) sweep(now time.Time) {
	h.conns.Range(func(k, _ any) bool {
		cl := k.(*mqtt.Client)
		if cl.Closed() && cl.StopTime() > 0 && now.Unix()-cl.StopTime() > sweepAfterSeconds {
			h.OnDisconnect(cl, nil, false)
		}
		return true
	})
}

// sweepAfterSeconds is how long a closed connection may stay known before
// sweep forgets it; OnDisconnect normally does so at once.
const sweepAfterSeconds = 5

// certificateStatusChanged closes the live connections of a certificate
// that left ACTIVE.
func (h *awsHook) certificateStatusChanged(certID string, status CertStatus) {
	if status == StatusActive {
		return
	}
	v, ok := h.byCert.Load(certID)
	if !ok {
		return
	}
	cc := v.(*certConns)
	cc.mu.Lock()
	clients := make([]*mqtt.Client, 0, len(cc.clients))
	for cl := range cc.clients {
		clients = append(clients, cl)
	}
	cc.mu.Unlock()
	for _, cl := range clients {
		h.log.Info("closing connection of certificate that left ACTIVE", "client", cl.ID, "certificate", certID, "status", status)
		// Not on the caller's goroutine (the registry refresh loop, or a
		// connecting client): mochi writes the DISCONNECT under the client's
		// write lock, which a client that stopped reading can hold for the
		// whole keep-alive deadline. After disconnectGrace the socket is
		// closed without it.
		h.disconnectsMu.Lock()
		if h.stopped {
			h.disconnectsMu.Unlock()
			cl.Stop(errCertLeftActive)
			continue
		}
		h.disconnects.Add(1)
		h.disconnectsMu.Unlock()
		go func() {
			defer h.disconnects.Done()
			force := time.AfterFunc(disconnectGrace, func() { cl.Stop(errCertLeftActive) })
			h.disconnect(cl, errCertLeftActive)
			force.Stop()
		}()
	}
}

// waitDisconnects waits for the connections being closed by
// certificateStatusChanged; later status changes close sockets at once.
func (h *awsHook) waitDisconnects() {
	h.disconnectsMu.Lock()
	h.stopped = true
	h.disconnectsMu.Unlock()
	h.disconnects.Wait()
}

// disconnectGrace is how long a client may take its DISCONNECT before the
// emulator closes the socket without it.
const disconnectGrace = 3 * time.Second

// disconnect closes a client: with a DISCONNECT carrying code for MQTT 5,
// without one for 3.1.1, which has no server DISCONNECT.
func (h *awsHook) disconnect(cl *mqtt.Client, code packets.Code) {
	if cl.Properties.ProtocolVersion == 5 {
		_ = h.srv.DisconnectClient(cl, code)
		return
	}
	cl.Stop(code)
}

// OnPacketRead refuses what AWS refuses before looking at a PUBLISH: QoS 2
// and payloads over MaxPayload close the connection. It returns
// packets.ErrRejectPacket because mochi ignores any other error from this
// hook and would go on to deliver the packet (a QoS 0 one in full).
func (h *awsHook) OnPacketRead(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if pk.FixedHeader.Type != packets.Publish {
		return pk, nil
	}
	if pk.FixedHeader.Qos > 1 {
		h.disconnect(cl, packets.ErrQosNotSupported)
		return pk, packets.ErrRejectPacket
	}
	if len(pk.Payload) > MaxPayload {
		h.disconnect(cl, packets.ErrPacketTooLarge)
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

// OnPublish checks a client PUBLISH: topic limits, RETAIN on $ topics,
// iot:Publish (and iot:RetainPublish for RETAIN) and, in the aws profile,
// the connection's rate. A refusal answers MQTT 5 QoS 1 with a PUBACK reason
// code, drops MQTT 5 QoS 0 silently and closes an MQTT 3.1.1 connection.
func (h *awsHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline {
		return pk, nil
	}
	cs := h.state(cl)
	if cs == nil {
		cl.Stop(packets.ErrNotAuthorized)
		return pk, packets.ErrRejectPacket
	}
	topic := pk.TopicName
	switch {
	case !topicWithinLimits(topic):
		return pk, h.refusePublish(cl, cs, pk, packets.ErrTopicNameInvalid, false)
	case pk.FixedHeader.Retain && topic[0] == '$':
		return pk, h.refusePublish(cl, cs, pk, errRetainOnReserved, false)
	case !cs.allowed(h.reg, policy.Publish, topic),
		pk.FixedHeader.Retain && !cs.allowed(h.reg, policy.RetainPublish, topic):
		h.deniedPublishes.Add(1)
		return pk, h.refusePublish(cl, cs, pk, packets.ErrNotAuthorized, h.cfg.DisconnectOnDeniedPublish)
	case cs.limit != nil && !cs.limit.allow(len(pk.Payload), time.Now()):
		h.throttled.Add(1)
		if cs.v5 && pk.FixedHeader.Qos > 0 {
			return pk, packets.ErrQuotaExceeded
		}
		return pk, packets.ErrRejectPacket
	}
	return pk, nil
}

// refusePublish answers a refused PUBLISH and returns the error for mochi.
func (h *awsHook) refusePublish(cl *mqtt.Client, cs *connState, pk packets.Packet, code packets.Code, closeV5 bool) error {
	h.log.Debug("publish refused", "client", cl.ID, "topic", pk.TopicName, "reason", code.Reason)
	if !cs.v5 {
		cl.Stop(code)
		return packets.ErrRejectPacket
	}
	if !closeV5 {
		if pk.FixedHeader.Qos > 0 {
			return code
		}
		return packets.ErrRejectPacket
	}
	if pk.FixedHeader.Qos > 0 {
		_ = cl.WritePacket(packets.Packet{
			FixedHeader: packets.FixedHeader{Type: packets.Puback},
			PacketID:    pk.PacketID,
			ReasonCode:  code.Code,
			Properties:  packets.Properties{ReasonString: code.Reason},
		})
	}
	_ = h.srv.DisconnectClient(cl, code)
	return packets.ErrRejectPacket
}

// OnPublished hands an accepted publish to the shadow service once the
// broker acknowledged and delivered it.
func (h *awsHook) OnPublished(cl *mqtt.Client, pk packets.Packet) {
	if h.shadow == nil || cl.Net.Inline || !strings.HasPrefix(pk.TopicName, "$aws/things/") {
		return
	}
	cs := h.state(cl)
	if cs == nil {
		return
	}
	h.shadow.handle(cs.shadow, pk.TopicName, pk.Payload)
}

// OnSubscribe decides each filter of a SUBSCRIBE: AWS filter limits, at most
// MaxFiltersPerSub filters, at most MaxSubscriptions held, and iot:Subscribe.
// The broker asks OnACLCheck per filter; the decisions made here answer it.
// MQTT 5 refusals show in the SUBACK (0x87 denied, 0x8F over the topic
// limits, 0x97 over a count limit); an MQTT 3.1.1 connection with any refused
// filter is closed, as AWS does.
func (h *awsHook) OnSubscribe(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	cs := h.state(cl)
	if cs == nil {
		cl.Stop(packets.ErrNotAuthorized)
		pk.Filters = nil
		return pk
	}
	decisions := make(map[string]subDecision, len(pk.Filters))
	overrides := make([]byte, len(pk.Filters))
	refused := false
	cs.mu.Lock()
	held := len(cs.filters)
	cs.mu.Unlock()
	for i, sub := range pk.Filters {
		f := sub.Filter
		if d, dup := decisions[f]; dup {
			// The same filter twice: one decision, one string to recognise.
			pk.Filters[i].Filter = d.filter
			if !d.allow {
				overrides[i] = overrides[slices.IndexFunc(pk.Filters[:i], func(s packets.Subscription) bool { return s.Filter == f })]
			}
			continue
		}
		own := strings.Clone(f)
		pk.Filters[i].Filter = own
		allow := false
		switch {
		case len(pk.Filters) > MaxFiltersPerSub:
			overrides[i] = packets.ErrQuotaExceeded.Code
		case !topicWithinLimits(f):
			overrides[i] = packets.ErrTopicFilterInvalid.Code
		case !cs.allowed(h.reg, policy.Subscribe, f):
			h.deniedSubscribes.Add(1)
		default:
			cs.mu.Lock()
			_, already := cs.filters[f]
			cs.mu.Unlock()
			if !already && held >= MaxSubscriptions {
				overrides[i] = packets.ErrQuotaExceeded.Code
				break
			}
			if !already {
				held++
			}
			allow = true
		}
		decisions[f] = subDecision{filter: own, allow: allow}
		refused = refused || !allow
	}
	if refused && !cs.v5 {
		h.log.Debug("subscribe refused; closing 3.1.1 connection", "client", cl.ID)
		cl.Stop(packets.ErrNotAuthorized)
		pk.Filters = nil
		return pk
	}
	cs.mu.Lock()
	cs.subDecisions = decisions
	if refused {
		if cs.subOverrides == nil {
			cs.subOverrides = map[uint16][]byte{}
		}
		cs.subOverrides[pk.PacketID] = overrides
	}
	cs.mu.Unlock()
	return pk
}

// OnSubscribed records the granted filters and, when HashMatchesDollar is
// set, subscribes the $aws twin of each leading-wildcard filter.
func (h *awsHook) OnSubscribed(cl *mqtt.Client, pk packets.Packet, codes []byte) {
	cs := h.state(cl)
	if cs == nil {
		return
	}
	cs.mu.Lock()
	cs.subDecisions = nil
	for i, sub := range pk.Filters {
		if i >= len(codes) || codes[i] >= 0x80 {
			continue
		}
		cs.addFilter(sub.Filter)
	}
	cs.mu.Unlock()
	if !h.cfg.HashMatchesDollar {
		return
	}
	for i, sub := range pk.Filters {
		if i >= len(codes) || codes[i] >= 0x80 {
			continue
		}
		twin, ok := dollarTwin(sub.Filter)
		if !ok {
			continue
		}
		ts := sub
		ts.Filter = twin
		ts.Qos = codes[i]
		h.srv.Topics.Subscribe(cl.ID, ts)
		cl.State.Subscriptions.Add(twin, ts)
	}
}

// OnUnsubscribed forgets the filters and drops their $aws twins.
func (h *awsHook) OnUnsubscribed(cl *mqtt.Client, pk packets.Packet) {
	cs := h.state(cl)
	if cs == nil {
		return
	}
	cs.mu.Lock()
	for _, sub := range pk.Filters {
		cs.removeFilter(sub.Filter)
	}
	cs.mu.Unlock()
	if !h.cfg.HashMatchesDollar {
		return
	}
	for _, sub := range pk.Filters {
		if twin, ok := dollarTwin(sub.Filter); ok {
			h.srv.Topics.Unsubscribe(twin, cl.ID)
			cl.State.Subscriptions.Delete(twin)
		}
	}
}

// OnPacketEncode puts the emulator's SUBACK reason codes in place of the
// broker's for filters refused by a limit.
func (h *awsHook) OnPacketEncode(cl *mqtt.Client, pk packets.Packet) packets.Packet {
	if pk.FixedHeader.Type != packets.Suback {
		return pk
	}
	cs := h.state(cl)
	if cs == nil {
		return pk
	}
	cs.mu.Lock()
	overrides, ok := cs.subOverrides[pk.PacketID]
	delete(cs.subOverrides, pk.PacketID)
	cs.mu.Unlock()
	if !ok {
		return pk
	}
	codes := append([]byte(nil), pk.ReasonCodes...)
	for i, c := range overrides {
		if c != 0 && i < len(codes) {
			codes[i] = c
		}
	}
	pk.ReasonCodes = codes
	return pk
}

// OnACLCheck answers the broker's checks. Publishes are checked in
// OnPublish, so write checks pass here. A read check is either a filter of
// the SUBSCRIBE being processed, answered from OnSubscribe's decisions, or a
// delivery, which needs iot:Receive on the topic (and, in the aws profile,
// room in the connection's rate); a denied delivery is dropped silently. A
// delivery matched only by "topic/#" is dropped too: on AWS "a/#" does not
// match "a".
func (h *awsHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	if write {
		return true
	}
	cs := h.state(cl)
	if cs == nil {
		return false
	}
	gen := h.reg.Generation()
	cs.mu.Lock()
	if d, ok := cs.subDecisions[topic]; ok && d.isFilterCheck(topic) {
		cs.mu.Unlock()
		return d.allow
	}
	parentOnly := cs.onlyParentMatchLocked(topic)
	set := cs.policyLocked(h.reg, gen)
	cs.mu.Unlock()
	if parentOnly {
		return false
	}
	if set == nil || !set.Allowed(policy.Receive, topic, &cs.pctx) {
		h.droppedDelivery.Add(1)
		return false
	}
	if cs.limit != nil && !cs.limit.allow(0, time.Now()) {
		h.throttled.Add(1)
		return false
	}
	return true
}
