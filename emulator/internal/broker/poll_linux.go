//go:build linux

package broker

import (
	"net"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// The poller serves established connections from a few event loops, each
// a goroutine blocked in epoll_wait (level-triggered) over the sockets
// assigned to it round-robin. A connection joins a loop after its CONNACK
// is queued, so an idle connection has no goroutine of its own. On
// readiness the loop reads once without waiting, handles every complete
// packet and flushes once: no read ever returns EAGAIN only to park, and
// no goroutine is woken per packet. Writes happen without waiting on
// whichever goroutine queues them (see outbound); what the socket does not
// take arms EPOLLOUT and stops the loop reading from that client until it
// is written. Keep-alive and write time-outs are a sweep of each loop's
// connections.
//
// A socket joins a loop with a duplicate of its descriptor, and the
// net.Conn it came as is closed, so the Go runtime's poller no longer
// watches it (it would wake a thread for every packet). Only the loop
// closes that descriptor, after closeSocket has shut the socket down,
// holding the connection's out.mu; writers check out.closed under the same
// lock, so no read, write or shutdown reaches a reused descriptor.

// errWouldBlock is readFD's and writeFD's EAGAIN.
var errWouldBlock error = syscall.EAGAIN

func readFD(fd int, p []byte) (int, error)  { return nonBlocking(syscall.Read, fd, p) }
func writeFD(fd int, p []byte) (int, error) { return nonBlocking(syscall.Write, fd, p) }

// nonBlocking makes one read or write on a non-blocking descriptor,
// retried when interrupted; EAGAIN is errWouldBlock.
func nonBlocking(op func(int, []byte) (int, error), fd int, p []byte) (int, error) {
	for {
		n, err := op(fd, p)
		switch err {
		case nil:
			return n, nil
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, errWouldBlock
		}
		return 0, err
	}
}

// shutdownFD shuts both directions of a socket: queued bytes still go, and
// the loop sees EPOLLHUP.
func shutdownFD(fd int) { _ = syscall.Shutdown(fd, syscall.SHUT_RDWR) }

// pollFD takes a socket out of the Go runtime's poller: it returns a
// duplicate of nc's descriptor (non-blocking, as the runtime set it) and
// closes nc. ok is false, nc untouched, when nc is not a socket.
func pollFD(nc net.Conn) (fd int, ok bool) {
	sc, isSock := nc.(syscall.Conn)
	if !isSock {
		return -1, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return -1, false
	}
	fd = -1
	var derr error
	if err := rc.Control(func(s uintptr) {
		var r uintptr
		var e syscall.Errno
		r, _, e = syscall.Syscall(syscall.SYS_FCNTL, s, syscall.F_DUPFD_CLOEXEC, 0)
		if e != 0 {
			derr = e
			return
		}
		fd = int(r)
	}); err != nil || derr != nil {
		return -1, false
	}
	_ = nc.Close()
	return fd, true
}

// pollState is a connection's place in its loop. loop and token are set
// before it is posted to the loop; registered and events change under
// out.mu.
type pollState struct {
	loop       *loop
	slot       int32 // index in loop.slots; -1 before it has one
	gen        int32 // the slot's generation, so a stale event is ignored
	registered bool  // in the epoll set
	finished   bool  // the loop let go of it
	events     uint32
}

// poller is the set of event loops.
type poller struct {
	loops []*loop
	next  int
	mu    sync.Mutex
	wg    sync.WaitGroup
}

// newPoller starts n event loops for s.
func newPoller(s *Server, n int) (*poller, error) {
	p := &poller{}
	for range n {
		l, err := newLoop(s)
		if err != nil {
			p.stop()
			return nil, err
		}
		p.loops = append(p.loops, l)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			l.run()
		}()
	}
	return p, nil
}

// add hands an admitted connection with a polled socket to a loop.
func (p *poller) add(c *Client) {
	p.mu.Lock()
	l := p.loops[p.next%len(p.loops)]
	p.next++
	p.mu.Unlock()
	c.poll.loop = l
	c.poll.slot = -1
	l.post(c, postJoin)
}

// stop ends the loops; the server has no connections left.
func (p *poller) stop() {
	for _, l := range p.loops {
		l.stop()
	}
	p.wg.Wait()
}

// loop is one event loop.
type loop struct {
	srv  *Server
	epfd int
	wake [2]int // a pipe: a byte written to wake[1] wakes the loop

	// mu guards the lists below and the wake pipe's life: once exited is
	// set the pipe is closed and nothing is posted.
	mu       sync.Mutex
	joining  []*Client // admitted, to register and read
	resuming []*Client // their byte-rate pause is over
	// rereading: reading was off (output waiting, a pause) and is on
	// again; what was read or buffered before raises no readiness.
	rereading []*Client
	stopping  bool
	exited    bool

	// Owned by the loop's goroutine.
	slots   []*Client
	gens    []int32
	free    []int32
	scratch []byte
	events  []syscall.EpollEvent
}

func newLoop(s *Server) (*loop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	l := &loop{srv: s, epfd: epfd, scratch: make([]byte, 0, readBuf), events: make([]syscall.EpollEvent, 256)}
	if err := syscall.Pipe2(l.wake[:], syscall.O_NONBLOCK|syscall.O_CLOEXEC); err != nil {
		_ = syscall.Close(epfd)
		return nil, err
	}
	// Token 0 is the wake pipe; connections use their slot + 1.
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.wake[0], &syscall.EpollEvent{Events: syscall.EPOLLIN}); err != nil {
		l.closeFDs()
		return nil, err
	}
	return l, nil
}

func (l *loop) closeFDs() {
	_ = syscall.Close(l.wake[0])
	_ = syscall.Close(l.wake[1])
	_ = syscall.Close(l.epfd)
}

// postKind says why a connection is posted to its loop.
type postKind uint8

const (
	postJoin   postKind = iota // admitted: register and read
	postResume                 // the byte-rate pause is over
	postReread                 // reading is on again: handle what is held
)

// post gives c to the loop. A loop that has exited (the server closed)
// takes nothing.
func (l *loop) post(c *Client, kind postKind) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.exited {
		return
	}
	switch kind {
	case postJoin:
		l.joining = append(l.joining, c)
	case postResume:
		l.resuming = append(l.resuming, c)
	case postReread:
		l.rereading = append(l.rereading, c)
	}
	l.pokeLocked()
}

var wakeByte = []byte{1}

// pokeLocked wakes the loop; the caller holds mu.
func (l *loop) pokeLocked() { _, _ = syscall.Write(l.wake[1], wakeByte) }

func (l *loop) stop() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.exited {
		l.stopping = true
		l.pokeLocked()
	}
}

// exit closes the loop's descriptors once nothing can post to it.
func (l *loop) exit() {
	l.mu.Lock()
	l.exited = true
	l.mu.Unlock()
	l.closeFDs()
}

// run is the loop's goroutine.
func (l *loop) run() {
	defer l.exit()
	period := min(l.srv.keepAliveUnit, time.Second)
	nextSweep := time.Now().Add(period)
	lastYield := time.Now()
	var buf [64]byte
	for {
		wait := int(time.Until(nextSweep)/time.Millisecond) + 1
		n, err := syscall.EpollWait(l.epfd, l.events, max(wait, 0))
		if err != nil && err != syscall.EINTR {
			l.srv.opts.Logger.Error("epoll_wait failed", "error", err)
			time.Sleep(10 * time.Millisecond)
		}
		for i := range max(n, 0) {
			ev := l.events[i]
			if ev.Fd == 0 {
				for {
					if k, _ := syscall.Read(l.wake[0], buf[:]); k < len(buf) {
						break
					}
				}
				continue
			}
			slot := ev.Fd - 1
			if int(slot) >= len(l.slots) || l.gens[slot] != ev.Pad || l.slots[slot] == nil {
				continue
			}
			l.event(l.slots[slot], ev.Events)
		}
		l.mu.Lock()
		joining, resuming, rereading, stopping := l.joining, l.resuming, l.rereading, l.stopping
		l.joining, l.resuming, l.rereading = nil, nil, nil
		l.mu.Unlock()
		for _, c := range joining {
			l.join(c)
		}
		for _, c := range resuming {
			l.resume(c)
		}
		for _, c := range rereading {
			if !c.poll.finished {
				l.event(c, syscall.EPOLLIN)
			}
		}
		if stopping {
			for _, c := range l.slots {
				if c != nil {
					c.closeSocket()
					l.finish(c)
				}
			}
			return
		}
		now := time.Now()
		if !now.Before(nextSweep) {
			l.sweep()
			nextSweep = now.Add(period)
		}
		if now.Sub(lastYield) >= yieldEvery {
			// A goroutine that never reschedules is taken for a runaway:
			// the runtime's monitor preempts it and retakes its P every
			// 10 ms, and each retake keeps the monitor polling every
			// 20 µs. Yielding now and then keeps it asleep.
			runtime.Gosched()
			lastYield = now
		}
	}
}

// yieldEvery is how often a busy loop yields to the scheduler.
const yieldEvery = 2 * time.Millisecond

// event handles readiness of c's socket.
func (l *loop) event(c *Client, ev uint32) {
	if c.isGone() {
		l.finish(c)
		return
	}
	if ev&syscall.EPOLLOUT != 0 {
		c.writable()
	}
	hup := ev&(syscall.EPOLLHUP|syscall.EPOLLERR) != 0
	if ev&syscall.EPOLLIN != 0 || hup {
		o := &c.out
		o.mu.Lock()
		canRead := !o.inputEnded && (hup || !o.readPaused && !o.sending)
		o.mu.Unlock()
		if canRead {
			l.read(c)
		}
	}
	if hup && !c.isGone() {
		// The peer is gone: a DISCONNECT still on its way will not be read.
		c.setReason(ReasonConnectionLost)
		c.closeSocket()
	}
	if c.isGone() {
		l.finish(c)
	}
}

// read runs a read pass for c and acts on how it ended.
func (l *loop) read(c *Client) {
	end := c.readPass(l.scratch)
	if end.ended {
		c.endInput()
		return
	}
	if end.pause > 0 {
		o := &c.out
		o.mu.Lock()
		o.readPaused = true
		c.pollChangedLocked()
		o.mu.Unlock()
		time.AfterFunc(end.pause, func() { l.post(c, postResume) })
	}
}

// join registers an admitted connection and reads what it already holds:
// bytes read with its CONNECT, records the TLS layer buffered.
func (l *loop) join(c *Client) {
	if c.isGone() {
		l.finish(c)
		return
	}
	var slot int32
	if n := len(l.free); n > 0 {
		slot = l.free[n-1]
		l.free = l.free[:n-1]
	} else {
		slot = int32(len(l.slots))
		l.slots = append(l.slots, nil)
		l.gens = append(l.gens, 0)
	}
	l.slots[slot] = c
	o := &c.out
	o.mu.Lock()
	c.poll.slot, c.poll.gen = slot, l.gens[slot]
	c.poll.events = c.interestLocked()
	err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, c.w.fd, c.pollEvent(c.poll.events))
	c.poll.registered = err == nil
	o.mu.Unlock()
	if err != nil {
		l.srv.opts.Logger.Error("epoll_ctl ADD failed; closing the connection", "client", c.ID, "error", err)
		c.setReason(ReasonServerError)
		c.closeSocket()
		l.finish(c)
		return
	}
	c.lastPacket = c.srv.now()
	l.event(c, syscall.EPOLLIN)
}

// resume ends c's byte-rate pause and reads again.
func (l *loop) resume(c *Client) {
	if c.poll.finished {
		return
	}
	o := &c.out
	o.mu.Lock()
	o.readPaused = false
	c.pollChangedLocked()
	o.mu.Unlock()
	l.event(c, syscall.EPOLLIN)
}

// finish lets go of a connection whose socket was shut: the descriptor is
// closed and the connection torn down on a goroutine of its own.
func (l *loop) finish(c *Client) {
	if c.poll.finished {
		return
	}
	c.poll.finished = true
	c.closeSocket() // returns once the shutdown is done, if another goroutine began it
	o := &c.out
	o.mu.Lock()
	o.closed = true
	if c.poll.registered {
		_ = syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_DEL, c.w.fd, nil)
		c.poll.registered = false
	}
	_ = syscall.Close(c.w.fd)
	o.mu.Unlock()
	if s := c.poll.slot; s >= 0 {
		l.slots[s] = nil
		l.gens[s]++
		l.free = append(l.free, s)
	}
	c.partial = nil
	go func() {
		defer l.srv.wg.Done()
		l.srv.teardown(c)
	}()
}

// sweep enforces the keep-alive and the write time-out on the loop's
// connections.
func (l *loop) sweep() {
	now := l.srv.now()
	timeout := int64(l.srv.opts.WriteTimeout)
	for _, c := range l.slots {
		if c == nil {
			continue
		}
		if c.isGone() {
			l.finish(c)
			continue
		}
		o := &c.out
		o.mu.Lock()
		stalled := o.sending && now-o.stallSince > timeout
		silent := !o.inputEnded && !o.readPaused && !o.sending && now-c.lastPacket > int64(c.keepAliveGrace())
		o.mu.Unlock()
		switch {
		case stalled:
			c.setReason(ReasonConnectionLost)
			c.closeSocket()
		case silent:
			c.endInput()
			c.Disconnect(ReasonKeepAliveTimeout, codeKeepAliveTimeout)
		}
		if c.isGone() {
			l.finish(c)
		}
	}
}

// interestLocked is the epoll event mask c needs: input unless it ended,
// is paused or waits for output to drain; output while bytes wait.
func (c *Client) interestLocked() uint32 {
	o := &c.out
	var ev uint32
	if !o.inputEnded && !o.readPaused && !o.sending {
		ev |= syscall.EPOLLIN
	}
	if o.sending {
		ev |= syscall.EPOLLOUT
	}
	return ev
}

func (c *Client) pollEvent(events uint32) *syscall.EpollEvent {
	return &syscall.EpollEvent{Events: events, Fd: c.poll.slot + 1, Pad: c.poll.gen}
}

// pollChangedLocked brings c's epoll registration in line with what it
// needs; the caller holds out.mu.
func (c *Client) pollChangedLocked() {
	p := &c.poll
	if !p.registered || c.out.closed {
		return
	}
	ev := c.interestLocked()
	if ev == p.events {
		return
	}
	reread := ev&syscall.EPOLLIN != 0 && p.events&syscall.EPOLLIN == 0
	p.events = ev
	_ = syscall.EpollCtl(p.loop.epfd, syscall.EPOLL_CTL_MOD, c.w.fd, c.pollEvent(ev))
	if reread {
		// Packets read before reading stopped, and TLS records already
		// buffered, raise no readiness: the loop looks at them itself.
		p.loop.post(c, postReread)
	}
}
