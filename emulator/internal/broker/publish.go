package broker

import (
	"errors"
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/iotcore"
)

// onPublish handles a client PUBLISH: protocol checks, AWS's topic and
// payload limits, RETAIN on $ topics, the Authorizer, the rate; then the
// PUBACK, delivery, the retained store and the Handler.
func (c *Client) onPublish(fh packets.FixedHeader, body []byte) error {
	v5 := c.v5()
	if fh.Qos > iotcore.MaxQoS {
		return fault(codeQoSNotSupported)
	}
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.Version}
	if err := pk.PublishDecode(body); err != nil {
		return fault(codeMalformed)
	}
	if fh.Qos > 0 && pk.PacketID == 0 {
		return fault(codeProtocolError)
	}
	topic := pk.TopicName
	if v5 {
		p := &pk.Properties
		if len(p.SubscriptionIdentifier) > 0 {
			return fault(codeProtocolError)
		}
		if p.TopicAliasFlag {
			a := p.TopicAlias
			if a == 0 || int(a) > iotcore.TopicAliasMaximum {
				return fault(codeTopicAliasInvalid)
			}
			if topic != "" {
				c.aliases[a] = strings.Clone(topic)
			} else if topic = c.aliases[a]; topic == "" {
				return fault(codeProtocolError)
			}
		}
	}
	if topic == "" {
		return fault(codeProtocolError)
	}
	if len(pk.Payload) > iotcore.MaxPayload {
		return fault(codePacketTooLarge)
	}
	if err := iotcore.CheckTopic(topic); err != nil {
		if errors.Is(err, iotcore.ErrWildcardTopic) || errors.Is(err, iotcore.ErrNotUTF8) {
			return fault(codeTopicInvalid)
		}
		return c.refusePublish(&pk, codeTopicInvalid, ReasonClientError, false)
	}
	if fh.Retain && topic[0] == '$' {
		return c.refusePublish(&pk, codeImplementation, ReasonClientError, false)
	}
	srv := c.srv
	if a := srv.opts.Authorizer; a != nil {
		if denial := a.Publish(c, topic, fh.Retain); denial != 0 {
			return c.refusePublish(&pk, codeNotAuthorized, denial, srv.opts.DisconnectOnDeniedPublish)
		}
	}
	now := srv.now()
	if !c.limit.allowPublish(now) {
		srv.stats.throttled.Add(1)
		if srv.opts.DisconnectOnThrottle {
			return &protocolError{code: codeQuotaExceeded, reason: ReasonThrottled}
		}
		// AWS discards the publish and keeps the connection: MQTT 5 QoS 1
		// gets PUBACK 0x97; 3.1.1 QoS 1 gets no PUBACK, so the client
		// sends it again.
		if v5 && fh.Qos > 0 {
			c.sendPuback(pk.PacketID, codeQuotaExceeded)
		}
		return nil
	}
	if fh.Qos > 0 {
		if n := c.sendPuback(pk.PacketID, codeSuccess); v5 && n > iotcore.MaxInflight {
			return fault(codeReceiveMaxExceeded)
		}
	}
	m := &message{topic: topic, payload: pk.Payload, qos: fh.Qos, retain: fh.Retain, origin: c.sess}
	if v5 {
		m.props = propsFrom(&pk.Properties)
		m.expires = expiryOf(m.props, now)
	}
	srv.route(m, c)
	if h := srv.opts.Handler; h != nil {
		h.Published(c, topic, pk.Payload)
	}
	return nil
}

// refusePublish answers a refused PUBLISH: a 3.1.1 connection is closed; an
// MQTT 5 QoS 1 publish gets a PUBACK with code (a QoS 0 one is dropped), and
// with closeV5 the connection is then closed with DISCONNECT code.
func (c *Client) refusePublish(pk *packets.Packet, code byte, reason DisconnectReason, closeV5 bool) error {
	c.srv.opts.Logger.Debug("publish refused", "client", c.ID, "topic", pk.TopicName, "code", code)
	if !c.v5() {
		return &protocolError{code: code, reason: reason}
	}
	if pk.FixedHeader.Qos > 0 {
		c.sendPuback(pk.PacketID, code)
	}
	if closeV5 {
		return &protocolError{code: code, reason: reason}
	}
	return nil
}

// route delivers m to every matching subscription and stores it when
// retained. from is the publishing client, nil for the server's own.
func (s *Server) route(m *message, from *Client) {
	if m.retain {
		s.retained.set(m)
	}
	var ms matches
	s.index.match(m.topic, &ms)
	if ms.n == 0 && len(ms.groups) == 0 {
		return
	}
	one := ms.n == 1 && len(ms.groups) == 0
	var seen map[*session]int
	var order []*subscription
	for i := range ms.n {
		for _, sub := range ms.list(i) {
			if sub.noLocal && from != nil && sub.s == m.origin {
				continue
			}
			if one {
				sub.s.deliver(s.deliveryFor(m, sub))
				continue
			}
			// A session with several matching filters gets the message
			// once, at the highest QoS among them.
			if seen == nil {
				seen = map[*session]int{}
			}
			if i, ok := seen[sub.s]; ok {
				if sub.qos > order[i].qos {
					order[i] = sub
				}
				continue
			}
			seen[sub.s] = len(order)
			order = append(order, sub)
		}
	}
	for _, sub := range order {
		sub.s.deliver(s.deliveryFor(m, sub))
	}
	for _, g := range ms.groups {
		if sub := g.pick(); sub != nil {
			sub.s.deliver(s.deliveryFor(m, sub))
		}
	}
}

// deliveryFor is m as sub receives it live: at the lower of the two QoS,
// RETAIN cleared unless the subscription asked for it as published.
func (s *Server) deliveryFor(m *message, sub *subscription) delivery {
	return delivery{m: m, qos: min(m.qos, sub.qos), retain: m.retain && sub.retainAsPub}
}

// publishWill publishes c's Last Will, now or after its delay.
func (s *Server) publishWill(c *Client) {
	w := c.will
	m := &message{topic: w.Topic, payload: w.Payload, qos: w.QoS, retain: w.Retain, props: w.Props, origin: c.sess}
	publish := func() {
		// A will's expiry starts when it is published.
		m.expires = expiryOf(m.props, s.now())
		s.route(m, nil)
	}
	if s.opts.WillDelay && w.DelaySecs > 0 && c.sess != nil {
		sess := c.sess
		sess.mu.Lock()
		delay := min(secondsDuration(w.DelaySecs), sess.expiry)
		if delay > 0 && !sess.ended {
			sess.willTimer = s.afterFunc(delay, publish)
			sess.mu.Unlock()
			return
		}
		sess.mu.Unlock()
	}
	publish()
}
