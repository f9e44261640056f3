// Package shadowsvc is the Device Shadow service of the AWS IoT Core emulator.
//
// A [Service] takes the shadow request publishes that reach the broker
// (`$aws/things/{thing}/shadow[/name/{shadow}]/{get,update,delete}`), applies
// them to per-shadow state kept by package shadow, and publishes the
// accepted, rejected, documents and delta responses through a [Publisher].
//
// Shadows live in a sharded map; each shadow has its own mutex, so requests on
// one shadow apply in arrival order while different shadows proceed in
// parallel. The service enforces AWS's per-shadow request rate and
// per-connection in-flight limits with 429 TOO_MANY_REQUESTS rejections.
//
// For calibration the service can delay responses ([latency.Dist]) and pause
// periodically ([Stall]). A request is always applied at its arrival, in
// arrival order; only the publishing of its responses is held back, by one
// scheduler goroutine, until the drawn delay measured from the arrival has
// passed. Responses of one shadow are published in arrival order even when
// their drawn delays differ: a response is never published before the
// responses to earlier requests on the same shadow.
//
// # Durability
//
// With a data directory DATA, every accepted update and delete appends the
// shadow's new state to a write-ahead log in DATA/shadows (package wal), and
// no response that reveals that state — its accepted reply, or a later get
// — is published before the record is durable: fsynced with
// [DurabilitySync] (one fsync covers every change that arrived while the
// previous one ran), written to the operating system with
// [DurabilityAsync]. Responses wait in their shadow's outbox and leave it
// in the order their requests were applied, published by whichever request
// goroutine finds them durable, without holding any lock of the service.
// When the log has grown past the last snapshot, a snapshot of every shadow
// replaces the older segments, so restart time follows the number of
// shadows, not their history. New recovers the newest snapshot and the
// segments after it, cuts a torn tail and reports it ([Service.Recovered]),
// and refuses to start on any other damage, naming the file and offset.
//
// A deleted shadow keeps its version, in memory and on disk, so that a
// shadow re-created later continues from it; a get or delete of a shadow
// that never existed leaves nothing behind.
//
// [DurabilityOff] logs nothing and writes a snapshot at Close only.
package shadowsvc
