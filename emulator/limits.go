package emulator

import (
	"strings"
	"sync"
	"time"
)

// topicWithinLimits applies AWS's topic limits to a topic name or filter: at
// most MaxTopicLength bytes and MaxTopicSlashes forward slashes.
func topicWithinLimits(topic string) bool {
	return len(topic) <= MaxTopicLength && strings.Count(topic, "/") <= MaxTopicSlashes
}

// connLimiter is a pair of token buckets, messages and bytes per second, each
// holding one second's worth, shared by a connection's inbound and outbound
// publishes.
type connLimiter struct {
	mu          sync.Mutex
	last        time.Time
	msgs, bytes float64
	msgRate     float64
	byteRate    float64
}

func newConnLimiter(msgsPerSec, bytesPerSec int, now time.Time) *connLimiter {
	return &connLimiter{last: now, msgs: float64(msgsPerSec), bytes: float64(bytesPerSec),
		msgRate: float64(msgsPerSec), byteRate: float64(bytesPerSec)}
}

// allow takes one message of n payload bytes if both buckets hold enough.
func (l *connLimiter) allow(n int, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if dt := now.Sub(l.last).Seconds(); dt > 0 {
		l.msgs = min(l.msgRate, l.msgs+dt*l.msgRate)
		l.bytes = min(l.byteRate, l.bytes+dt*l.byteRate)
		l.last = now
	}
	if l.msgs < 1 || l.bytes < float64(n) {
		return false
	}
	l.msgs--
	l.bytes -= float64(n)
	return true
}

// dollarTwin returns the filter that makes a subscription whose first level is
// a wildcard also match $aws topics ("#" → "$aws/#", "+/x" → "$aws/x"), and
// whether the filter has one.
func dollarTwin(filter string) (string, bool) {
	switch {
	case filter == "#":
		return "$aws/#", true
	case filter == "+":
		return "$aws", true
	case strings.HasPrefix(filter, "+/"):
		return "$aws" + filter[1:], true
	}
	return "", false
}
