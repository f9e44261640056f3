// Package hrtimer sleeps with the kernel's timer precision. The runtime's
// timers wake up to about a millisecond late on Linux (the network poller
// waits in whole milliseconds), which shows in anything that injects or
// paces latency at millisecond scale; a Timer waits on a timerfd read
// through the network poller instead.
package hrtimer
