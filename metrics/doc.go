// Package metrics records what a load run measured and turns it into a
// report, a summary and a verdict.
//
// A run declares its metrics once in a [Set]: latencies, kept in HDR
// histograms of nanoseconds from [LowestLatency] to [HighestLatency] with
// [SignificantDigits] significant digits, and counters. Each worker goroutine
// records through its own [Recorder], whose Record and Add neither allocate
// (once warm) nor wait on other workers. A single [Collector] swaps out every
// recorder's data once a second ([Collector.Interval]) and at the end
// ([Collector.Final]), merging it exactly: the counts of all intervals add up
// to the final counts.
//
// The final [Report] is a versioned JSON document (schema [Schema]) that
// carries each latency histogram in the standard HdrHistogram V2 compressed
// base64 encoding, so reports of the shards of one fleet [Merge] exactly.
// Thresholds in the k6 style ([ParseThreshold]) are evaluated over a report,
// and reporters ([WriteSummary], [WriteHgrm], [FormatProgress]) show it.
//
// All latency values, in histograms, summaries and thresholds, are
// nanoseconds.
package metrics
