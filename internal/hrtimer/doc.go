// Package hrtimer sleeps with the kernel's timer precision. The runtime's
// timers wake up to about a millisecond late on Linux (the network poller
// waits in whole milliseconds), which shows in anything that injects or
// paces latency at millisecond scale. FD is a timerfd read through the
// network poller, for a goroutine that sleeps on it itself (the load
// generator's workers); a Timer pairs one with a runtime timer, for sleeps
// that must also end promptly when the process is busy (the emulator's
// latency injection).
package hrtimer
