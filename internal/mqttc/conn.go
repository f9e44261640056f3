package mqttc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// The MQTT protocol levels a Conn speaks.
const (
	MQTT311 byte = 4 // MQTT 3.1.1
	MQTT5   byte = 5 // MQTT 5
)

// ConnOptions describe one Conn. Endpoint, Certificate and ClientID are
// required; every other zero value means the documented default.
type ConnOptions struct {
	Endpoint    string          // host:port
	Certificate tls.Certificate // client certificate and key
	Roots       *x509.CertPool  // CAs the server certificate must chain to; nil = system roots
	ServerName  string          // SNI and verified name; default the host of Endpoint
	ALPN        []string        // e.g. "x-amzn-mqtt-ca" for port 443
	// Version is MQTT311 or MQTT5; default MQTT5.
	Version  byte
	ClientID string
	// KeepAlive is sent in CONNECT in whole seconds; default
	// DefaultKeepAlive. The connection sends PINGREQ when it has written
	// nothing for that long (or for the Server Keep Alive an MQTT 5
	// CONNACK sets), and counts itself lost when the server then stays
	// silent for Timeout.
	KeepAlive time.Duration
	// CleanStart asks for a new session (cleanSession on 3.1.1).
	CleanStart bool
	// SessionExpiry asks an MQTT 5 server to keep the session this long
	// after a disconnect; zero ends it with the connection. An MQTT 3.1.1
	// session with CleanStart false lasts as long as the server's account
	// setting says.
	SessionExpiry time.Duration
	// ReceiveMaximum bounds the server's unacknowledged QoS 1 publishes to
	// an MQTT 5 connection; default DefaultReceiveMaximum.
	ReceiveMaximum uint16
	// Timeout bounds the TCP dial, TLS handshake and CONNACK wait, every
	// write, and the wait for a PINGRESP (to within the Keeper's period);
	// default DefaultTimeout.
	Timeout time.Duration
	// Keeper sends the connection's pings and bounds its writes; nil gives
	// the connection a Keeper of its own. Connections of one fleet share
	// one.
	Keeper *Keeper
	// OnConnack, when set, is called with the CONNACK's session present
	// flag before the connection reads on: before the messages a resumed
	// session kept are delivered.
	OnConnack func(sessionPresent bool)
	// OnMessage receives every PUBLISH, on the connection's reading
	// goroutine, before its PUBACK is sent. topic and payload alias the
	// read buffer: they are valid only during the call.
	OnMessage func(topic string, payload []byte)
	// OnLost is called at most once, when the connection ends other than
	// by Close or Drop, with the cause (a server DISCONNECT names its
	// reason code).
	OnLost func(error)

	// wrap, when set, wraps the TCP connection under TLS (tests).
	wrap func(net.Conn) net.Conn
}

// Conn is a lean MQTT 3.1.1 or 5 client connection over mutual TLS, made for
// fleets of simulated devices: one goroutine reading, no goroutine or timer
// per message, no allocation per message. Every packet is encoded into a
// reused buffer and leaves in one TLS record and one write(2); the PUBACKs
// for the publishes one read brought in leave together. CONNECT, SUBSCRIBE
// and their acknowledgements go through mochi-mqtt's packet codec (the one
// the emulator's broker uses); PUBLISH, PUBACK and the pings, which every
// message costs, are encoded in place.
type Conn struct {
	nc      *tls.Conn
	v5      bool
	timeout time.Duration
	onMsg   func(string, []byte)
	onLost  func(error)

	// Connack facts.
	sessionPresent bool
	keepAlive      time.Duration

	wmu    sync.Mutex
	wbuf   []byte
	werr   error // the first failed write; every later write fails with it
	nextID uint16
	closed bool

	// Times in ns on the monotonic clock (monoNow), for the Keeper.
	lastWrite atomic.Int64 // when something was last written
	lastRead  atomic.Int64 // when something was last read
	pingSent  atomic.Int64 // when the PINGREQ still unanswered left; 0 when none
	writing   atomic.Int64 // when the write in progress began; 0 when none
	keeper    *Keeper
	// ended is set once Close, Drop or a failure ended the connection: what
	// is still buffered is not delivered.
	ended atomic.Bool

	waitMu sync.Mutex
	waits  map[uint16]chan []byte // SUBACK reason codes by packet ID

	r         reader // the reading goroutine's alone once CONNACK is in
	cause     error  // why fail ended the connection, set once
	causeOnce sync.Once
	lostOnce  sync.Once
	done      chan struct{} // closed when the reader has returned
}

// ErrConnClosed is returned by a write on a connection that Close or Drop
// ended, or that was lost.
var ErrConnClosed = errors.New("mqttc: connection closed")

// monoBase anchors the connection clocks: ns since it on the monotonic clock.
var monoBase = time.Now()

func monoNow() int64 { return int64(time.Since(monoBase)) }

// DialConn connects to opts.Endpoint over mutual TLS and completes the MQTT
// CONNECT/CONNACK exchange. Errors wrap ErrUnreachable, ErrTLS, ErrRefused
// (a *ConnackError with the reason code or 3.1.1 return code) or ErrClosed.
func DialConn(ctx context.Context, opts ConnOptions) (*Conn, error) {
	version := opts.Version
	switch version {
	case 0:
		version = MQTT5
	case MQTT311, MQTT5:
	default:
		return nil, fmt.Errorf("mqttc: protocol level %d: want %d (3.1.1) or %d (5)", version, MQTT311, MQTT5)
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	keepAlive := opts.KeepAlive
	if keepAlive <= 0 {
		keepAlive = DefaultKeepAlive
	}
	receiveMax := opts.ReceiveMaximum
	if receiveMax == 0 {
		receiveMax = DefaultReceiveMaximum
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	nc, serverName, err := dialTLS(dctx, tlsOptions{
		Endpoint: opts.Endpoint, Certificate: opts.Certificate, Roots: opts.Roots,
		ServerName: opts.ServerName, ALPN: opts.ALPN, wrap: opts.wrap,
	})
	if err != nil {
		return nil, err
	}
	c := &Conn{
		nc: nc, v5: version == MQTT5, timeout: timeout, onMsg: opts.OnMessage, onLost: opts.OnLost,
		keepAlive: keepAlive, waits: map[uint16]chan []byte{}, done: make(chan struct{}),
		keeper: opts.Keeper,
	}
	if c.keeper == nil {
		c.keeper = &Keeper{}
	}
	fail := func(err error) (*Conn, error) {
		_ = nc.Close()
		return nil, err
	}
	if dl, ok := dctx.Deadline(); ok {
		_ = nc.SetDeadline(dl)
	}
	stop := context.AfterFunc(dctx, func() { _ = nc.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Connect},
		ProtocolVersion: version,
		Connect: packets.ConnectParams{
			ProtocolName:     []byte("MQTT"),
			Clean:            opts.CleanStart,
			Keepalive:        uint16(min(keepAlive/time.Second, 65535)),
			ClientIdentifier: opts.ClientID,
		},
	}
	if c.v5 {
		pk.Properties.ReceiveMaximum = receiveMax
		if opts.SessionExpiry > 0 {
			pk.Properties.SessionExpiryInterval = uint32(min(opts.SessionExpiry/time.Second, 1<<32-1))
			pk.Properties.SessionExpiryIntervalFlag = true
		}
	}
	var b bytes.Buffer
	if err := pk.ConnectEncode(&b); err != nil {
		return fail(fmt.Errorf("mqttc: encode CONNECT: %w", err))
	}
	if _, err := nc.Write(b.Bytes()); err != nil {
		// With TLS 1.3 a server that refused the client certificate says so
		// in an alert the first write or read meets.
		_ = nc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		var one [1]byte
		if _, rerr := nc.Read(one[:]); isRemoteAlert(rerr) {
			err = rerr
		}
		return fail(classifyConnectErr(opts.Endpoint, serverName, err))
	}
	c.r = reader{src: nc, buf: make([]byte, 0, readBufferSize)}
	fh, body, err := c.r.next()
	if err != nil {
		var ne net.Error
		if dctx.Err() != nil || errors.As(err, &ne) && ne.Timeout() {
			return fail(fmt.Errorf("mqttc: %s: no CONNACK within %v: %w", opts.Endpoint, timeout, context.DeadlineExceeded))
		}
		return fail(classifyConnectErr(opts.Endpoint, serverName, err))
	}
	if fh.Type != packets.Connack {
		return fail(fmt.Errorf("mqttc: %s: CONNECT answered by %s, not CONNACK", opts.Endpoint, packets.PacketNames[fh.Type]))
	}
	ack := packets.Packet{FixedHeader: fh, ProtocolVersion: version}
	if err := ack.ConnackDecode(body); err != nil {
		return fail(fmt.Errorf("mqttc: %s: CONNACK: %w", opts.Endpoint, err))
	}
	if ack.ReasonCode != 0 {
		ce := &ConnackError{Endpoint: opts.Endpoint, ClientID: opts.ClientID, ReasonCode: ack.ReasonCode, V311: !c.v5}
		ce.ReasonString = ack.Properties.ReasonString
		return fail(ce)
	}
	c.r.release()
	c.sessionPresent = ack.SessionPresent
	if c.v5 {
		if ack.Properties.ServerKeepAliveFlag {
			c.keepAlive = time.Duration(ack.Properties.ServerKeepAlive) * time.Second
		}
	}
	if !stop() {
		return fail(fmt.Errorf("mqttc: %s: CONNECT: %w", opts.Endpoint, context.Cause(dctx)))
	}
	_ = nc.SetDeadline(time.Time{})
	now := monoNow()
	c.lastRead.Store(now)
	c.lastWrite.Store(now)
	if opts.OnConnack != nil {
		opts.OnConnack(c.sessionPresent)
	}
	c.keeper.add(c)
	go c.readLoop()
	return c, nil
}

// SessionPresent reports the CONNACK's session present flag: the server
// resumed a session it kept for the client ID.
func (c *Conn) SessionPresent() bool { return c.sessionPresent }

// KeepAlive is the keep-alive in force: the server's when an MQTT 5 CONNACK
// set one, the requested one otherwise.
func (c *Conn) KeepAlive() time.Duration { return c.keepAlive }

// Subscribe subscribes to the filters at qos in one SUBSCRIBE and waits
// for the SUBACK; a refused filter is an error that names it.
func (c *Conn) Subscribe(ctx context.Context, qos byte, filters []string) error {
	pk := packets.Packet{
		FixedHeader:     packets.FixedHeader{Type: packets.Subscribe, Qos: 1},
		ProtocolVersion: c.version(),
	}
	for _, f := range filters {
		pk.Filters = append(pk.Filters, packets.Subscription{Filter: f, Qos: qos})
	}
	codes, err := c.request(ctx, &pk, func(b *bytes.Buffer) error { return pk.SubscribeEncode(b) }, packets.Suback)
	if err != nil {
		return err
	}
	for i, rc := range codes {
		if rc >= 0x80 && i < len(filters) {
			if c.v5 {
				return fmt.Errorf("SUBACK refused %q: %s", filters[i], ReasonString(rc))
			}
			return fmt.Errorf("SUBACK refused %q: return code 0x%02X", filters[i], rc)
		}
	}
	return nil
}

func (c *Conn) version() byte {
	if c.v5 {
		return MQTT5
	}
	return MQTT311
}

// request sends a packet that takes a packet ID and waits for its
// acknowledgement's reason codes.
func (c *Conn) request(ctx context.Context, pk *packets.Packet, encode func(*bytes.Buffer) error, answer byte) ([]byte, error) {
	ch := make(chan []byte, 1)
	c.wmu.Lock()
	id := c.packetID()
	c.wmu.Unlock()
	pk.PacketID = id
	c.waitMu.Lock()
	c.waits[id] = ch
	c.waitMu.Unlock()
	defer func() {
		c.waitMu.Lock()
		delete(c.waits, id)
		c.waitMu.Unlock()
	}()
	var b bytes.Buffer
	if err := encode(&b); err != nil {
		return nil, fmt.Errorf("mqttc: encode %s: %w", packets.PacketNames[pk.FixedHeader.Type], err)
	}
	if err := c.write(b.Bytes()); err != nil {
		return nil, err
	}
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case codes := <-ch:
		return codes, nil
	case <-c.done:
		return nil, fmt.Errorf("mqttc: connection lost waiting for %s", packets.PacketNames[answer])
	case <-t.C:
		return nil, fmt.Errorf("mqttc: no %s within %v", packets.PacketNames[answer], c.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// packetID returns the next packet ID, never 0; the caller holds wmu.
func (c *Conn) packetID() uint16 {
	c.nextID++
	if c.nextID == 0 {
		c.nextID = 1
	}
	return c.nextID
}

// Publish sends one PUBLISH and returns once it is written, without waiting
// for a QoS 1 acknowledgement; an error means the message never left. The
// PUBACK is not awaited or tracked: keeping within the server's Receive
// Maximum is the caller's (the load engine's in-flight cap per connection
// is at most AWS's 100), and a publish the server dropped unacknowledged
// (AWS's answer to a throttled one) must not block the connection.
func (c *Conn) Publish(topic string, qos byte, payload []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return ErrConnClosed
	}
	var id uint16
	if qos > 0 {
		id = c.packetID()
	}
	c.wbuf = appendPublish(c.wbuf[:0], c.v5, qos, id, topic, payload)
	err := c.writeLocked(c.wbuf)
	if cap(c.wbuf) > maxKeptBuffer {
		c.wbuf = nil
	}
	return err
}

// write sends b in one write.
func (c *Conn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return ErrConnClosed
	}
	return c.writeLocked(b)
}

// writeLocked writes b in one TLS record and one write(2). The Keeper
// ends a write blocked for Timeout (a server that stopped reading) without
// a deadline timer per connection. A failed write closes the socket; the
// reader then reports the connection lost with this error.
func (c *Conn) writeLocked(b []byte) error {
	if c.werr != nil {
		return c.werr
	}
	c.writing.Store(monoNow())
	_, err := c.nc.Write(b)
	now := monoNow()
	c.writing.Store(0)
	if err != nil {
		c.werr = fmt.Errorf("mqttc: write: %w", err)
		_ = c.nc.Close()
		return c.werr
	}
	c.lastWrite.Store(now)
	return nil
}

// Close sends DISCONNECT (normal) and closes the connection; OnLost is not
// called.
func (c *Conn) Close() error {
	c.wmu.Lock()
	if c.closed {
		c.wmu.Unlock()
		return nil
	}
	b := []byte{packets.Disconnect << 4, 0}
	if c.v5 {
		b = []byte{packets.Disconnect << 4, 1, 0}
	}
	err := c.writeLocked(b)
	c.closed = true
	c.wmu.Unlock()
	c.shut()
	return err
}

// Drop closes the socket without DISCONNECT, as a device whose network went
// away: the server sees the connection end uncleanly (its will, if any, is
// published). OnLost is not called.
func (c *Conn) Drop() error {
	c.wmu.Lock()
	c.closed = true
	c.wmu.Unlock()
	c.shut()
	return nil
}

// shut closes the socket; the reader then ends without calling OnLost or
// OnMessage again. It does not wait for the reader, which may be inside
// OnMessage waiting for a lock the caller holds.
func (c *Conn) shut() {
	c.ended.Store(true)
	c.lostOnce.Do(func() {})
	c.keeper.remove(c)
	_ = c.nc.Close()
}

// fail ends the connection for cause: the socket is closed at once, which
// also ends a write blocked on it, and the reader reports the loss with
// this cause rather than the read error the close makes.
func (c *Conn) fail(cause error) {
	c.causeOnce.Do(func() { c.cause = cause })
	_ = c.nc.Close()
}

// lost ends the connection after a failure, reporting it once unless Close
// or Drop ended it first. The cause is the first of fail's, a failed
// write's, and err.
func (c *Conn) lost(err error) {
	c.ended.Store(true)
	c.causeOnce.Do(func() {})
	_ = c.nc.Close()
	c.wmu.Lock()
	if c.werr != nil {
		err = c.werr
	}
	c.closed = true
	c.wmu.Unlock()
	if c.cause != nil {
		err = c.cause
	}
	c.keeper.remove(c)
	c.lostOnce.Do(func() {
		if c.onLost != nil {
			c.onLost(err)
		}
	})
}

// readLoop reads packets until the connection ends: it hands publishes to
// OnMessage, acknowledges QoS 1 ones (all those one read brought in, in one
// write), and answers Subscribe's wait.
func (c *Conn) readLoop() {
	defer close(c.done)
	r := &c.r
	var acks []byte
	for {
		fh, body, err := r.next()
		if err != nil {
			c.lost(readError(err))
			return
		}
		c.lastRead.Store(monoNow())
		switch fh.Type {
		case packets.Publish:
			topic, id, payload, err := parsePublish(fh, body, c.v5)
			if err != nil {
				c.lost(fmt.Errorf("mqttc: malformed PUBLISH: %w", err))
				return
			}
			if c.onMsg != nil && !c.ended.Load() {
				c.onMsg(topic, payload)
			}
			if fh.Qos > 0 {
				acks = appendPuback(acks, id)
			}
		case packets.Puback:
			// Publishes are not tracked (Publish).
		case packets.Pingresp:
			c.pingSent.Store(0)
		case packets.Suback:
			ack := packets.Packet{FixedHeader: fh, ProtocolVersion: c.version()}
			if derr := ack.SubackDecode(body); derr != nil {
				c.lost(fmt.Errorf("mqttc: malformed %s: %w", packets.PacketNames[fh.Type], derr))
				return
			}
			c.waitMu.Lock()
			if ch, ok := c.waits[ack.PacketID]; ok {
				ch <- append([]byte(nil), ack.ReasonCodes...)
			}
			c.waitMu.Unlock()
		case packets.Disconnect:
			code := byte(0)
			if len(body) > 0 {
				code = body[0]
			}
			c.lost(fmt.Errorf("server sent DISCONNECT %s", ReasonString(code)))
			return
		default:
			c.lost(fmt.Errorf("mqttc: unexpected %s from the server", packets.PacketNames[fh.Type]))
			return
		}
		if len(acks) > 0 && !r.more() {
			if err := c.ack(acks); err != nil {
				c.lost(err)
				return
			}
			acks = acks[:0]
		}
		r.release()
	}
}

// ack sends the PUBACKs of the publishes one read brought in, in one write.
func (c *Conn) ack(acks []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if c.closed {
		return nil
	}
	return c.writeLocked(acks)
}

// readError words a failed read: an orderly close by the server, or the
// socket's own error.
func readError(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("mqttc: the server closed the connection")
	}
	return fmt.Errorf("mqttc: read: %w", err)
}
