// Package mqtt5 names the engine's MQTT transport as the emulator's tests
// import it. The transport is package mqtt's, which speaks MQTT 3.1.1 and 5
// (each thing as its Session says; MQTT 5 unless a fleet mixes in 3.1.1);
// new code imports package mqtt.
package mqtt5

import "github.com/shadowload/shadowload/internal/load/mqtt"

// Transport is mqtt.Transport.
type Transport = mqtt.Transport
