//go:build race

package mqttc

// raceDetector reports a build with the race detector, which allocates
// behind the code it watches.
const raceDetector = true
