package emulator

import (
	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/policy"
)

// Connect identifies the client by its certificate, checks the certificate
// is registered and ACTIVE, that iot:Connect allows the client ID and that
// its Last Will may be published (iot:Publish, and iot:RetainPublish for a
// retained will): a will the client may not publish fails the connect, as
// AWS does.
func (h *awsSide) Connect(c *broker.Client, will *broker.Will) byte {
	if c.TLS == nil {
		return h.refuse(c, "no TLS")
	}
	peers := c.TLS.ConnectionState().PeerCertificates
	if len(peers) == 0 {
		return h.refuse(c, "no client certificate")
	}
	leaf := peers[0]
	certID := fleet.CertificateID(leaf.Raw)
	c.State = &connState{certID: certID}
	status, thing, _, ok := h.reg.policySet(certID)
	if !ok {
		// Provisioned by another process since we last looked?
		_, _ = h.reg.Refresh()
		status, thing, _, ok = h.reg.policySet(certID)
	}
	if !ok {
		return h.refuse(c, "certificate is not registered")
	}
	if status != StatusActive {
		return h.refuse(c, "certificate is not ACTIVE")
	}
	cs := &connState{certID: certID, pctx: policy.Context{ClientID: c.ID, CommonName: leaf.Subject.CommonName, SourceIP: addrOf(c.Remote)}}
	if thing == c.ID {
		cs.pctx.ThingName = thing
	}
	c.State = cs
	switch cs.denial(h.reg, policy.Connect, c.ID) {
	case broker.ReasonForbiddenAccess:
		return h.refuse(c, "iot:Connect denied for the client's address (aws:SourceIp)")
	case broker.ReasonAuthError:
		return h.refuse(c, "iot:Connect denied")
	}
	if will != nil && (!cs.allowed(h.reg, policy.Publish, will.Topic) ||
		will.Retain && !cs.allowed(h.reg, policy.RetainPublish, will.Topic)) {
		return h.refuse(c, "Last Will topic not allowed")
	}
	if h.shadow != nil {
		cs.shadow = h.shadow.newConn()
	}
	return 0
}

// refuse counts and logs a refused connect.
func (h *awsSide) refuse(c *broker.Client, why string) byte {
	h.refusedConnects.Add(1)
	h.log.Debug("connect refused", "client", c.ID, "remote", c.Remote.String(), "reason", why)
	return broker.CodeNotAuthorized
}

// track and untrack keep the live connections of each certificate, so a
// certificate that leaves ACTIVE has its connections closed. track looks at
// the status again once the connection can be found, so that a status
// change applied meanwhile is not missed.
func (h *awsSide) track(c *broker.Client, cs *connState) {
	v, _ := h.byCert.LoadOrStore(cs.certID, &certConns{clients: map[*broker.Client]struct{}{}})
	cc := v.(*certConns)
	cc.mu.Lock()
	cc.clients[c] = struct{}{}
	cc.mu.Unlock()
	if status, _, _, ok := h.reg.policySet(cs.certID); !ok || status != StatusActive {
		c.Disconnect(broker.ReasonAuthError, broker.CodeAdministrative)
	}
}

func (h *awsSide) untrack(c *broker.Client, cs *connState) {
	if v, ok := h.byCert.Load(cs.certID); ok {
		cc := v.(*certConns)
		cc.mu.Lock()
		delete(cc.clients, c)
		cc.mu.Unlock()
	}
}

// certificateStatusChanged closes the live connections of a certificate
// that left ACTIVE: MQTT 5 clients get DISCONNECT 0x98.
func (h *awsSide) certificateStatusChanged(certID string, status CertStatus) {
	if status == StatusActive {
		return
	}
	v, ok := h.byCert.Load(certID)
	if !ok {
		return
	}
	cc := v.(*certConns)
	cc.mu.Lock()
	clients := make([]*broker.Client, 0, len(cc.clients))
	for c := range cc.clients {
		clients = append(clients, c)
	}
	cc.mu.Unlock()
	for _, c := range clients {
		h.log.Info("closing connection of certificate that left ACTIVE", "client", c.ID, "certificate", certID, "status", status)
		c.Disconnect(broker.ReasonAuthError, broker.CodeAdministrative)
	}
}
