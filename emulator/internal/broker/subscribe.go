package broker

import (
	"strings"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/iotcore"
)

// onSubscribe handles a SUBSCRIBE: AWS's filter limits (at most 8 filters a
// packet, 50 held), the filter grammar, the Authorizer; QoS 2 is granted as
// QoS 1. An MQTT 5 client sees refusals per filter in the SUBACK; a 3.1.1
// connection with any refused filter is closed, as AWS does. Granted exact
// filters get the topic's retained message.
func (c *Client) onSubscribe(fh packets.FixedHeader, body []byte) error {
	v5 := c.v5()
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.Version}
	if err := pk.SubscribeDecode(body); err != nil || len(pk.Filters) == 0 {
		return fault(codeMalformed)
	}
	if v5 && len(pk.Properties.SubscriptionIdentifier) > 0 {
		return fault(codeSubIDsUnsupported)
	}
	srv := c.srv
	sess := c.sess
	codes := make([]byte, len(pk.Filters))
	var granted []string
	refused := byte(0)
	denied := ReasonAuthError
	sess.mu.Lock()
	held := len(sess.subs)
	sess.mu.Unlock()
	taken := map[string]bool{}
	for i := range pk.Filters {
		f := &pk.Filters[i]
		f.Filter = strings.Clone(f.Filter)
		group, _ := splitFilter(f.Filter)
		if group != "" && f.NoLocal {
			return fault(codeProtocolError)
		}
		if !v5 && f.Qos > iotcore.MaxQoS {
			return fault(codeQoSNotSupported)
		}
		code := byte(min(f.Qos, iotcore.MaxQoS))
		switch {
		case len(pk.Filters) > iotcore.MaxFiltersPerSubscribe:
			code = codeQuotaExceeded
		case iotcore.CheckFilter(f.Filter) != nil:
			code = codeFilterInvalid
		case srv.opts.Authorizer != nil && c.deniedFilter(f.Filter, &denied):
			code = codeNotAuthorized
		default:
			sess.mu.Lock()
			_, already := sess.subs[f.Filter]
			sess.mu.Unlock()
			if !already && !taken[f.Filter] {
				if held >= iotcore.MaxSubscriptionsPerConnection {
					code = codeQuotaExceeded
					break
				}
				held++
				taken[f.Filter] = true
			}
		}
		codes[i] = code
		if code >= 0x80 {
			refused = max(refused, code)
		}
	}
	if refused != 0 && !v5 {
		reason := ReasonClientError
		if refused == codeNotAuthorized {
			reason = denied
		}
		return &protocolError{code: refused, reason: reason}
	}
	type retainedSend struct {
		filter string
		sub    *subscription
	}
	var retained []retainedSend
	for i, f := range pk.Filters {
		if codes[i] >= 0x80 {
			continue
		}
		sub := &subscription{s: sess, filter: f.Filter, qos: codes[i], noLocal: f.NoLocal,
			retainAsPub: f.RetainAsPublished, retainHandling: f.RetainHandling}
		sess.mu.Lock()
		if sess.ended {
			sess.mu.Unlock()
			return errClosed
		}
		_, existed := sess.subs[f.Filter]
		sess.subs[f.Filter] = sub
		sess.mu.Unlock()
		srv.index.add(sub)
		granted = append(granted, f.Filter)
		group, _ := splitFilter(f.Filter)
		if group == "" && !hasWildcard(f.Filter) && (sub.retainHandling == 0 || sub.retainHandling == 1 && !existed) {
			retained = append(retained, retainedSend{f.Filter, sub})
		}
	}
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Suback}, ProtocolVersion: c.Version,
		PacketID: pk.PacketID, ReasonCodes: codes}
	if !v5 {
		for i, code := range codes {
			if code >= 0x80 {
				codes[i] = 0x80
			}
		}
	}
	ack.Mods.DisallowProblemInfo = !c.problemInfo
	c.sendPacket(&ack)
	// AWS sends a stored retained message only to a subscription whose
	// filter is exactly its topic.
	for _, r := range retained {
		if m := srv.retained.get(r.filter); m != nil {
			if m.expires != 0 && m.expires <= srv.now() {
				continue
			}
			d := delivery{m: m, qos: min(m.qos, r.sub.qos), retain: true}
			if srv.allowDelivery(c, m) && !c.enqueue(d) {
				sess.deliver(d)
			}
		}
	}
	if l := srv.opts.Lifecycle; l != nil && len(granted) > 0 {
		l.Subscribed(c, granted)
	}
	return nil
}

// onUnsubscribe handles an UNSUBSCRIBE; every filter is answered 0x00, as
// AWS lists no "no subscription existed".
func (c *Client) onUnsubscribe(fh packets.FixedHeader, body []byte) error {
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: c.Version}
	if err := pk.UnsubscribeDecode(body); err != nil || len(pk.Filters) == 0 {
		return fault(codeMalformed)
	}
	sess := c.sess
	filters := make([]string, 0, len(pk.Filters))
	for _, f := range pk.Filters {
		sess.mu.Lock()
		sub := sess.subs[f.Filter]
		delete(sess.subs, f.Filter)
		sess.mu.Unlock()
		if sub != nil {
			c.srv.index.remove(sub)
		}
		filters = append(filters, strings.Clone(f.Filter))
	}
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Unsuback}, ProtocolVersion: c.Version,
		PacketID: pk.PacketID}
	if c.v5() {
		ack.ReasonCodes = make([]byte, len(pk.Filters))
	}
	c.sendPacket(&ack)
	if l := c.srv.opts.Lifecycle; l != nil {
		l.Unsubscribed(c, filters)
	}
	return nil
}

// deniedFilter asks the Authorizer about one filter; a refusal for the
// client's address is kept in why over one for another reason.
func (c *Client) deniedFilter(filter string, why *DisconnectReason) bool {
	denial := c.srv.opts.Authorizer.Subscribe(c, filter)
	if denial == ReasonForbiddenAccess {
		*why = denial
	}
	return denial != 0
}
