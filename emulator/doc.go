// Package emulator is an in-process AWS IoT Core: an MQTT 3.1.1 and 5 broker
// behind mutual TLS that admits only registered, ACTIVE
// certificates issued by its own CA, evaluates AWS IoT policies at every
// CONNECT, PUBLISH, SUBSCRIBE and delivery, applies AWS protocol limits, and
// answers the Device Shadow topics through the shadow service.
//
// Its Registry (things, certificates, policies) lives in an append-only log in
// the data directory, so a provisioning process can add things while an
// emulator is running and the emulator picks them up.
package emulator
