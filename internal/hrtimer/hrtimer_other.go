//go:build !linux

package hrtimer

import "time"

// Timer is the runtime's sleep outside Linux.
type Timer struct{}

// New returns nil: the runtime's sleep.
func New() *Timer { return nil }

// Sleep blocks the calling goroutine for d.
func (t *Timer) Sleep(d time.Duration) { time.Sleep(d) }

// Close does nothing.
func (t *Timer) Close() {}
