package broker

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"net"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/internal/iotcore"
)

// MQTT 3.1.1 CONNACK return codes.
const (
	v3Accepted          = 0x00
	v3BadProtocol       = 0x01
	v3IdentifierRefused = 0x02
)

// MQTT 5 reason codes the broker sends.
const (
	codeSuccess            = 0x00
	codeGrantedQoS1        = 0x01
	codeDisconnectWithWill = 0x04
	codeUnspecified        = 0x80
	codeMalformed          = 0x81
	codeProtocolError      = 0x82
	codeImplementation     = 0x83
	codeBadProtocolVersion = 0x84
	codeClientIDInvalid    = 0x85
	codeNotAuthorized      = 0x87
	codeShuttingDown       = 0x8B
	codeKeepAliveTimeout   = 0x8D
	codeSessionTakenOver   = 0x8E
	codeFilterInvalid      = 0x8F
	codeTopicInvalid       = 0x90
	codeReceiveMaxExceeded = 0x93
	codeTopicAliasInvalid  = 0x94
	codePacketTooLarge     = 0x95
	codeQuotaExceeded      = 0x97
	codeAdministrative     = 0x98
	codeQoSNotSupported    = 0x9B
	codeSubIDsUnsupported  = 0xA1
)

// Reason codes the broker's users answer with: an Authorizer refusing a
// CONNECT, and a Disconnect for an administrative action.
const (
	CodeNotAuthorized  = codeNotAuthorized
	CodeAdministrative = codeAdministrative
)

// GeneratedIDPrefix starts the client IDs the broker assigns; client IDs
// with a leading "$" are otherwise refused, as AWS reserves them.
const GeneratedIDPrefix = "$GEN/"

// connect reads and decides the CONNECT of a socket past its handshake (nc:
// the tls.Conn over w, or w). It returns the admitted client, its CONNACK
// written or queued, or nil when the socket should just be closed (a
// refusal was written if the protocol has one).
func (s *Server) connect(w *wire, nc net.Conn, tc *tls.Conn) *Client {
	r := bufio.NewReaderSize(nc, 512)
	fh, body, err := readPacket(r)
	if err != nil || fh.Type != packets.Connect {
		s.stats.handshakeFailed.Add(1)
		return nil
	}
	pk := packets.Packet{FixedHeader: fh}
	c := &Client{srv: s, w: w, rd: nc, wr: nc, r: r, TLS: tc, Remote: w.RemoteAddr(), gone: make(chan struct{})}
	if err := pk.ConnectDecode(body); err != nil {
		if pk.ProtocolVersion == 5 {
			refuse(nc, 5, codeMalformed)
		}
		return nil
	}
	c.Version = pk.ProtocolVersion
	if code := validateConnect(&pk); code != 0 {
		switch {
		case c.Version == 5:
			refuse(nc, 5, code)
		case code == codeBadProtocolVersion:
			refuse(nc, 4, v3BadProtocol)
		}
		return nil
	}
	v5 := c.v5()
	cp := &pk.Connect
	c.ID = cp.ClientIdentifier
	assigned := false
	switch {
	case c.ID == "" && (v5 || cp.Clean):
		c.ID, assigned = GeneratedIDPrefix+newUUID(), true
	case c.ID == "", len(c.ID) > iotcore.MaxClientIDBytes, c.ID[0] == '$':
		refuseID(nc, c.Version)
		return nil
	}
	will, code := willOf(&pk)
	if code != 0 {
		if v5 {
			refuse(nc, 5, code)
		}
		return nil
	}
	c.will = will
	c.KeepAlive = iotcore.ClampKeepAlive(cp.Keepalive)
	var expiry time.Duration
	askedExpiry := pk.Properties.SessionExpiryInterval
	maxExpiry := uint32(s.opts.SessionExpiry / time.Second)
	switch {
	case v5:
		expiry = time.Duration(min(askedExpiry, maxExpiry)) * time.Second
	case !cp.Clean:
		expiry = s.opts.SessionExpiry
	}
	c.window = iotcore.MaxInflight
	if v5 {
		if rm := pk.Properties.ReceiveMaximum; rm > 0 && int(rm) < c.window {
			c.window = int(rm)
		}
		c.maxPacket = pk.Properties.MaximumPacketSize
		c.problemInfo = !pk.Properties.RequestProblemInfoFlag || pk.Properties.RequestProblemInfo != 0
	}
	c.limit = newLimiter(s.opts.PublishesPerSecond, s.opts.BytesPerSecond, s.now())

	if a := s.opts.Authorizer; a != nil {
		if code := a.Connect(c, will); code != 0 {
			s.opts.Logger.Debug("connect refused", "client", c.ID, "remote", c.Remote.String(), "code", code)
			switch {
			case v5:
				refuse(nc, 5, code)
			case code == codeClientIDInvalid:
				refuseID(nc, 4)
			}
			if code == codeNotAuthorized && s.opts.Lifecycle != nil {
				s.opts.Lifecycle.ConnectFailed(c)
			}
			return nil
		}
	}
	if !s.addClient(c) {
		if v5 {
			refuse(nc, 5, codeShuttingDown)
		}
		return nil
	}
	s.admit(c)
	present, replay, old := s.attach(c, cp.Clean, expiry)
	if old != nil {
		old.Disconnect(ReasonDuplicateClientID, codeSessionTakenOver)
	}

	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: c.Version,
		SessionPresent: present}
	if v5 {
		p := &ack.Properties
		p.ReceiveMaximum = iotcore.MaxInflight
		p.MaximumQos, p.MaximumQosFlag = iotcore.MaxQoS, true
		p.RetainAvailable, p.RetainAvailableFlag = 1, true
		p.WildcardSubAvailable, p.WildcardSubAvailableFlag = 1, true
		p.SharedSubAvailable, p.SharedSubAvailableFlag = 1, true
		p.SubIDAvailable, p.SubIDAvailableFlag = 0, true
		p.TopicAliasMaximum = iotcore.TopicAliasMaximum
		if c.KeepAlive != cp.Keepalive {
			p.ServerKeepAlive, p.ServerKeepAliveFlag = c.KeepAlive, true
		}
		if askedExpiry > maxExpiry {
			p.SessionExpiryInterval, p.SessionExpiryIntervalFlag = maxExpiry, true
		}
		if assigned {
			p.AssignedClientID = c.ID
		}
	}
	_ = nc.SetDeadline(time.Time{})
	c.pushReadDeadline(s.now())
	c.sendPacket(&ack)
	c.flush()
	c.connected = true
	if l := s.opts.Lifecycle; l != nil {
		l.Connected(c)
	}
	if len(replay) > 0 {
		c.replay(replay)
	}
	return c
}

// admit switches an accepted client's wire to gathered writes, holding
// them until the CONNACK is queued (deliveries may reach the client once
// its session is attached), and gives its socket to the poller when the
// poller can take it. Bytes read past the CONNECT are kept for the first
// read pass.
func (s *Server) admit(c *Client) {
	// Under out.mu: Close may be disconnecting the client already, and
	// its writes read the wire's mode.
	o := &c.out
	o.mu.Lock()
	o.hold = true
	w := c.w
	w.buffered = true
	if s.poller != nil {
		if fd, ok := pollFD(w.Conn); ok {
			w.fd = fd
		}
	}
	o.mu.Unlock()
	if n := c.r.Buffered(); n > 0 {
		b, _ := c.r.Peek(n)
		c.partial = append([]byte(nil), b...)
	}
	c.r = nil
}

// validateConnect checks what the codec leaves to the server: the protocol,
// the reserved bit and the flag combinations. It returns an MQTT 5 reason
// code, or 0.
func validateConnect(pk *packets.Packet) byte {
	cp := &pk.Connect
	if !bytes.Equal(cp.ProtocolName, []byte("MQTT")) || (pk.ProtocolVersion != 4 && pk.ProtocolVersion != 5) {
		return codeBadProtocolVersion
	}
	switch {
	case pk.ReservedBit != 0:
		return codeMalformed
	case !cp.WillFlag && (cp.WillQos != 0 || cp.WillRetain):
		return codeMalformed
	case cp.WillQos > 2:
		return codeMalformed
	case pk.ProtocolVersion == 4 && cp.PasswordFlag && !cp.UsernameFlag:
		// MQTT-3.1.2-22: a 3.1.1 password needs a user name.
		return codeProtocolError
	case len(pk.Properties.AuthenticationMethod) > 0:
		return 0x8C // bad authentication method: AWS has no enhanced authentication
	}
	return 0
}

// willOf takes the Last Will of a CONNECT and checks its QoS and topic.
func willOf(pk *packets.Packet) (*Will, byte) {
	cp := &pk.Connect
	if !cp.WillFlag {
		return nil, 0
	}
	if cp.WillQos > iotcore.MaxQoS {
		return nil, codeQoSNotSupported
	}
	if iotcore.CheckTopic(cp.WillTopic) != nil || (cp.WillRetain && cp.WillTopic[0] == '$') {
		return nil, codeTopicInvalid
	}
	w := &Will{Topic: cp.WillTopic, Payload: cp.WillPayload, QoS: cp.WillQos, Retain: cp.WillRetain}
	if pk.ProtocolVersion == 5 {
		w.Props = propsFrom(&cp.WillProperties)
		w.DelaySecs = cp.WillProperties.WillDelayInterval
	}
	return w, 0
}

// refuse writes a failure CONNACK and gives up on the socket.
func refuse(nc net.Conn, version, code byte) {
	ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connack}, ProtocolVersion: version, ReasonCode: code}
	_ = nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = nc.Write(encodePacket(nil, &ack))
}

// refuseID refuses a client ID in the protocol's own terms.
func refuseID(nc net.Conn, version byte) {
	if version == 5 {
		refuse(nc, 5, codeClientIDInvalid)
		return
	}
	refuse(nc, 4, v3IdentifierRefused)
}

// errClosed ends a read pass on purpose.
var errClosed = errors.New("connection closed")
