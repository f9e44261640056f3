//go:build !linux

package hrtimer

import "time"

// FD is a timerfd, which only Linux has.
type FD struct{}

// NewFD returns nil: the kernel has no timerfd.
func NewFD() *FD { return nil }

// Arm is never called on a nil FD.
func (t *FD) Arm(d time.Duration) error { return nil }

// Wait is never called on a nil FD.
func (t *FD) Wait() error { return nil }

// Close does nothing.
func (t *FD) Close() error { return nil }
