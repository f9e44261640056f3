// Package shadow reproduces the AWS IoT Device Shadow service: its topic
// grammar, its document semantics (deep merge, versions, metadata, delta)
// and the exact bytes of every response and rejection document.
//
// The package is pure: it does no I/O, starts no goroutines and reads no
// clock; the caller passes the time as Unix epoch seconds. A [Shadow] is not
// safe for concurrent use; the emulator serialises requests per shadow.
//
// Choices where AWS leaves room, each fixed here and relied on by the tests:
//   - Numbers compare by exact decimal value (1, 1.0, 10e-1 and 1E0 are
//     equal), never through float64, so large integers keep their identity.
//     Strings compare by their decoded text ("é" equals "\u00e9").
//   - Nesting depth is the length of the longest key/index path below
//     desired or reported: {"a":{"b":1}} has depth 2. Arrays count as levels.
//   - An array holding null at any depth is rejected with 400 Invalid JSON.
//   - A document nested more than 10000 levels deep anywhere is rejected
//     with the nesting message (the parser stops there); MaxDepth is capped
//     just below that.
//   - A request that is valid JSON but not an object is 400 Invalid JSON.
//   - Duplicate keys: the last value wins, at the position of the first.
//   - clientToken and version set to null are invalid, as any non-string
//     token and any version that is not a non-negative integer. A valid
//     token, even "", is echoed in every reply to its request, accepted
//     or rejected.
//   - The size checked against [Limits.MaxStateBytes] is the length of the
//     compact stored state object {"desired":…,"reported":…}, sections
//     present only when non-empty, without metadata.
//   - Arrays carry one metadata timestamp for the whole array.
//   - A version in an update, get or delete request is compared with the
//     last version, which a deleted shadow keeps; a shadow never created has
//     version 0.
package shadow
