// Package iotcore holds AWS IoT Core's message-broker rules, each written
// once: the protocol limits and quotas that the emulator enforces, the
// planner warns with and the load generator respects, and the grammar of
// topic names and filters they apply to. The values are AWS's defaults as
// the references give them; shadow document limits live in package shadow.
package iotcore
