//go:build !linux

package load

// newPreciseSleeper returns nil: precise sleeps need Linux's timerfd.
func newPreciseSleeper() sleeper { return nil }
