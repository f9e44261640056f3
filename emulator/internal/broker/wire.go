package broker

import (
	"io"
	"net"
	"sync"
	"time"
)

// wire is the net.Conn under a connection's tls.Conn (on plain TCP the
// broker reads and writes it directly). Until the client is admitted it
// passes everything to the accepted socket, so the TLS handshake and the
// CONNECT run as on any net.Conn. At admission it switches to buffered
// writes: what the TLS layer writes gathers in out, and the connection's
// sender moves it to the socket (see send). When the socket can be polled,
// admission also takes the socket's descriptor out of the Go runtime's
// poller (see pollFD): from then on reads never wait, taking only what the
// kernel already holds, and a read with nothing to take returns errNoInput,
// a temporary error after which crypto/tls keeps any partial record.
type wire struct {
	net.Conn // the accepted socket; closed once the descriptor is polled

	local, remote net.Addr

	// buffered and fd are set at admission, by the goroutine that ran the
	// handshake, before anything else sees the wire.
	buffered bool
	// fd is the polled socket's descriptor, -1 when not polled. Only the
	// connection's poller closes it, after shut, holding the connection's
	// out.mu, so no read, write or shutdown ever reaches a reused number.
	fd int
	// canRead allows the one read(2) of the current read pass, so that a
	// client that keeps its socket full cannot hold its poller. The
	// poller owns it.
	canRead bool

	// mu guards out. It is a leaf lock: taken by the TLS layer's writes
	// and by the sender around its non-blocking write(2). out is nil while
	// nothing waits, so an idle connection holds no buffer; ob is the
	// pooled buffer out lives in.
	mu  sync.Mutex
	out []byte
	ob  *[]byte
}

func newWire(nc net.Conn) *wire {
	return &wire{Conn: nc, local: nc.LocalAddr(), remote: nc.RemoteAddr(), fd: -1}
}

// errNoInput is what a polled wire's Read returns when the socket holds
// nothing more for this pass. crypto/tls treats a temporary net.Error as
// recoverable: it keeps a partial record and returns the error.
var errNoInput net.Error = noInput{}

type noInput struct{}

func (noInput) Error() string   { return "broker: no input ready" }
func (noInput) Timeout() bool   { return false }
func (noInput) Temporary() bool { return true }

// Read reads from the socket: blocking before the wire is polled, else at
// most what the current pass allows, without waiting.
func (w *wire) Read(p []byte) (int, error) {
	if w.fd < 0 {
		return w.Conn.Read(p)
	}
	if !w.canRead || len(p) == 0 {
		return 0, errNoInput
	}
	n, err := readFD(w.fd, p)
	switch {
	case err == errWouldBlock:
		w.canRead = false
		return 0, errNoInput
	case err != nil:
		return 0, &net.OpError{Op: "read", Net: "tcp", Source: w.local, Addr: w.remote, Err: err}
	case n == 0:
		return 0, io.EOF
	}
	w.canRead = false
	return n, nil
}

// Write sends p on the socket before admission and gathers it in out
// afterwards.
func (w *wire) Write(p []byte) (int, error) {
	if !w.buffered {
		return w.Conn.Write(p)
	}
	w.mu.Lock()
	if w.ob == nil {
		w.ob = outPool.Get().(*[]byte)
		w.out = (*w.ob)[:0]
	}
	w.out = append(w.out, p...)
	w.mu.Unlock()
	return len(p), nil
}

// pending reports whether bytes wait in out.
func (w *wire) pending() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.out) > 0
}

// sendFD writes out to the polled socket without waiting: it reports
// whether everything was written and whether anything was, or the
// socket's error.
func (w *wire) sendFD() (done, progress bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for len(w.out) > 0 {
		n, err := writeFD(w.fd, w.out)
		if err == errWouldBlock {
			return false, progress, nil
		}
		if err != nil {
			return false, progress, err
		}
		progress = true
		w.out = w.out[:copy(w.out, w.out[n:])]
	}
	w.release()
	return true, progress, nil
}

// release returns out's buffer to the pool; the caller holds mu.
func (w *wire) release() {
	if w.ob != nil && cap(w.out) <= maxPooled {
		*w.ob = w.out[:0]
		outPool.Put(w.ob)
	}
	w.ob, w.out = nil, nil
}

// writeOut writes the gathered bytes to the socket in blocking writes (the
// portable path's writer goroutine), bounded by timeout each; it reports
// the socket's error.
func (w *wire) writeOut(timeout time.Duration) error {
	for {
		w.mu.Lock()
		b, ob := w.out, w.ob
		w.out, w.ob = nil, nil
		w.mu.Unlock()
		if len(b) == 0 {
			return nil
		}
		_ = w.Conn.SetWriteDeadline(time.Now().Add(timeout))
		_, err := w.Conn.Write(b)
		if ob != nil && cap(b) <= maxPooled {
			*ob = b[:0]
			outPool.Put(ob)
		}
		if err != nil {
			return err
		}
	}
}

func (w *wire) LocalAddr() net.Addr  { return w.local }
func (w *wire) RemoteAddr() net.Addr { return w.remote }

// Close is only reached through tls.Conn, which the broker never closes;
// it closes the socket the portable way.
func (w *wire) Close() error {
	if w.fd >= 0 {
		return nil
	}
	return w.Conn.Close()
}

// The deadlines apply to the socket until it is polled; a polled socket
// never blocks, and the poller's sweep enforces the time-outs.

func (w *wire) SetDeadline(t time.Time) error {
	if w.fd >= 0 {
		return nil
	}
	return w.Conn.SetDeadline(t)
}

func (w *wire) SetReadDeadline(t time.Time) error {
	if w.fd >= 0 {
		return nil
	}
	return w.Conn.SetReadDeadline(t)
}

func (w *wire) SetWriteDeadline(t time.Time) error {
	if w.fd >= 0 {
		return nil
	}
	return w.Conn.SetWriteDeadline(t)
}

// outPool recycles the buffers bytes wait in for the socket, so that an
// idle connection holds none; buffers grown past maxPooled are dropped.
var outPool = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

const maxPooled = 256 << 10
