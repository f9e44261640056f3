//go:build !race

package mqtt_test

// raceDetector reports a build with the race detector, which slows every
// goroutine switch: timing tails are then checked by a build without it.
const raceDetector = false
