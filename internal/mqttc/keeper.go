package mqttc

import (
	"fmt"
	"sync"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Keeper watches a set of connections from one goroutine: it sends each
// its PINGREQ when the connection has written nothing for its keep-alive,
// ends a connection whose PINGREQ went unanswered for its Timeout, and
// closes one whose write has been blocked for its Timeout (a server that
// stopped reading). A fleet of connections then holds no runtime timer of
// its own — no write deadline, no keep-alive timer — so the runtime's timer
// heap stays small and a worker's precise waits do not walk it.
//
// The zero Keeper checks every second; a Keeper runs its goroutine only
// while it watches a connection.
type Keeper struct {
	// Every is how often the connections are checked; default 1s. A
	// PINGREQ leaves at most this late, a blocked write is ended at most
	// this late.
	Every time.Duration

	mu    sync.Mutex
	conns map[*Conn]struct{}
	stop  chan struct{} // closes the running goroutine; nil when none runs
}

func (k *Keeper) add(c *Conn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.conns == nil {
		k.conns = map[*Conn]struct{}{}
	}
	k.conns[c] = struct{}{}
	if k.stop == nil {
		k.stop = make(chan struct{})
		go k.run(k.stop)
	}
}

func (k *Keeper) remove(c *Conn) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.conns, c)
	if len(k.conns) == 0 && k.stop != nil {
		close(k.stop)
		k.stop = nil
	}
}

func (k *Keeper) run(stop chan struct{}) {
	every := k.Every
	if every <= 0 {
		every = time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var batch []*Conn
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		k.mu.Lock()
		batch = batch[:0]
		for c := range k.conns {
			batch = append(batch, c)
		}
		k.mu.Unlock()
		now := monoNow()
		for _, c := range batch {
			c.check(now, every)
		}
	}
}

// check runs the keep-alive and the write watchdog of one connection at
// now; every is the time to the next check.
func (c *Conn) check(now int64, every time.Duration) {
	if started := c.writing.Load(); started != 0 && now-started > int64(c.timeout) {
		c.fail(fmt.Errorf("mqttc: a write blocked for %v: the server stopped reading", c.timeout))
		return
	}
	if sent := c.pingSent.Load(); sent != 0 && c.lastRead.Load() < sent && now-sent > int64(c.timeout) {
		c.fail(fmt.Errorf("mqttc: no PINGRESP within %v: the server stopped answering", c.timeout))
		return
	}
	// Ping one check early rather than one check late.
	if c.keepAlive > 0 && now-c.lastWrite.Load() >= int64(c.keepAlive)-int64(every) && c.pingSent.Load() == 0 {
		c.wmu.Lock()
		if !c.closed {
			// Noted before it leaves: the PINGRESP may come back before
			// the write returns.
			c.pingSent.Store(monoNow())
			if c.writeLocked([]byte{packets.Pingreq << 4, 0}) != nil {
				c.pingSent.Store(0)
			}
		}
		c.wmu.Unlock()
	}
}
