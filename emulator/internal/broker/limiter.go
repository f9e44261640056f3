package broker

import (
	"sync"
	"time"
)

// limiter is a connection's pair of token buckets, publishes and bytes per
// second, each holding one second's worth, shared by what the connection
// sends and receives. Publishes over the rate are refused; bytes over it
// are owed and delay the connection instead.
type limiter struct {
	mu          sync.Mutex
	last        int64 // ns
	msgs, bytes float64
	msgRate     float64
	byteRate    float64
}

func newLimiter(msgsPerSec, bytesPerSec int, now int64) *limiter {
	if msgsPerSec <= 0 && bytesPerSec <= 0 {
		return nil
	}
	return &limiter{last: now, msgs: float64(msgsPerSec), bytes: float64(bytesPerSec),
		msgRate: float64(msgsPerSec), byteRate: float64(bytesPerSec)}
}

func (l *limiter) refill(now int64) {
	if dt := float64(now-l.last) / 1e9; dt > 0 {
		l.msgs = min(l.msgRate, l.msgs+dt*l.msgRate)
		l.bytes = min(l.byteRate, l.bytes+dt*l.byteRate)
		l.last = now
	}
}

// allowPublish takes one publish if the rate has room.
func (l *limiter) allowPublish(now int64) bool {
	if l == nil || l.msgRate <= 0 {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(now)
	if l.msgs < 1 {
		return false
	}
	l.msgs--
	return true
}

// takeBytes spends n bytes and returns how long the connection should wait
// before moving more: the time to pay back what it owes.
func (l *limiter) takeBytes(n int, now int64) time.Duration {
	if l == nil || l.byteRate <= 0 {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.refill(now)
	l.bytes -= float64(n)
	if l.bytes >= 0 {
		return 0
	}
	return time.Duration(-l.bytes / l.byteRate * 1e9)
}
