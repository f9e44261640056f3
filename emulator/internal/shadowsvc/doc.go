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
// With a data directory DATA, Close writes every shadow atomically to one
// file, DATA/shadows/shadows.bin (temporary file, sync, rename), and New
// reads it back, so an accepted update survives a clean shutdown.
package shadowsvc
