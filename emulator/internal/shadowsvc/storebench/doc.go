// Package storebench compares embedded stores for the shadow service's
// durable writes: the service's own write-ahead log (package wal), pebble
// with synced batches and bbolt with Batch, each taking concurrent shadow
// writes that must be durable before the writer goes on.
//
// It is a module of its own so that the candidates it measures are not
// dependencies of shadowload. Run it from this directory:
//
//	go test -run XXX -bench . -benchtime 5s -count 3
//
// Each benchmark reports ns/op (wall time per durable write with all writers
// running), cpu-µs/op (user and system CPU of the process per write), p50-µs
// and p99-µs (one writer's wait for its write to be durable) and, where the
// store tells, writes/fsync.
package storebench
