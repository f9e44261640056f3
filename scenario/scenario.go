package scenario

import (
	"time"

	"github.com/shadowload/shadowload/internal/latency"
	"github.com/shadowload/shadowload/internal/load"
)

// Defaults applied by Parse to keys a scenario file leaves out.
const (
	// DefaultEndpoint selects the in-process emulator.
	DefaultEndpoint = "embedded"
	// DefaultThings is the fleet size.
	DefaultThings = 10
	// DefaultThingName is the thing name pattern; {i:05} is the thing's index
	// padded with zeros to five digits.
	DefaultThingName = "sim-{i:05}"
	// DefaultConnectRate is the pace at which the fleet connects.
	DefaultConnectRate Rate = 100
	// DefaultKeepAlive is the MQTT keep-alive of every connection.
	DefaultKeepAlive = 60 * time.Second
	// DefaultQoS is the QoS of shadow requests.
	DefaultQoS = 1
	// DefaultTimeout is how long a request may wait for its reply.
	DefaultTimeout = 10 * time.Second
	// DefaultInFlight is the cap on unanswered requests per connection, the
	// AWS in-flight shadow request limit.
	DefaultInFlight = 10
	// ClassicShadow names the classic (unnamed) shadow in Fleet.Shadows.
	ClassicShadow = "classic"
)

// Bounds on what a scenario may ask for. Past them a run could not happen
// (no process sends a billion requests a second) and the schedule's
// arithmetic would overflow, so files and overrides beyond them are refused
// before anything starts.
const (
	// MaxRate bounds every rate: phase rates and ramps, connect_rate and
	// --rate.
	MaxRate Rate = 1_000_000
	// MinConnectRate is the slowest connect pace: below it the connect stage
	// of even a small fleet would outlast any run.
	MinConnectRate Rate = 1.0 / 3600
	// MaxRunDuration bounds the phases' total duration.
	MaxRunDuration = 30 * 24 * time.Hour
	// MaxThings bounds the fleet.
	MaxThings = 1_000_000
	// MaxTimeout bounds the request timeout.
	MaxTimeout = time.Hour
	// MaxMixWeight bounds each weight of a phase's mix.
	MaxMixWeight = 1_000_000
)

// Scenario is one parsed scenario file with every default filled in.
type Scenario struct {
	// Name identifies the scenario in reports; it matches [A-Za-z0-9._-]+.
	Name string
	// Description is free text for people.
	Description string
	// Target says where the load goes.
	Target Target
	// Fleet describes the simulated devices.
	Fleet Fleet
	// Observers are application-side wildcard subscribers.
	Observers []Observer
	// Phases run one after the other, in order.
	Phases []Phase
	// Payload describes the shadow update documents.
	Payload Payload
	// Timeout is how long a request may wait for its reply before it counts
	// as timed out.
	Timeout time.Duration
	// InFlight caps the unanswered requests of one connection.
	InFlight int
	// Thresholds are the pass/fail criteria, in file order.
	Thresholds []ThresholdSpec
	// Validity bounds what a run may suffer and still be judged by its
	// thresholds; past any bound it is invalid. Default
	// load.DefaultValidity.
	Validity load.Validity
	// Verify reads every shadow back once the schedule has ended and counts
	// the accepted writes the target no longer has. Default true.
	Verify bool
	// Source is the path of the file the scenario came from.
	Source string
}

// Target is where the load goes: the embedded emulator or a real broker.
type Target struct {
	// Endpoint is "embedded" or the host:port of a real broker.
	Endpoint string
	// Bundles is the directory of per-thing certificate bundles written by
	// "shadowload provision"; required for a real endpoint.
	Bundles string
	// RootCA is a PEM file of trusted roots; empty means the system roots.
	RootCA string
	// ALPN is the TLS application protocol to offer, such as x-amzn-mqtt-ca
	// for port 443; empty offers none.
	ALPN string
	// ServerName overrides the TLS server name (SNI); empty uses the host.
	ServerName string
	// HashMatchesDollar says a network "#" subscription receives $aws
	// topics, as the AWS console showed (the MQTT spec says it must not; the
	// reference marks it unsure). It sets the embedded emulator and how
	// observers' expected deliveries are counted. Default true.
	HashMatchesDollar bool
	// Emulator configures the embedded emulator.
	Emulator Emulator
}

// Embedded reports whether the target is the in-process emulator.
func (t Target) Embedded() bool {
	return t.Endpoint == "" || t.Endpoint == DefaultEndpoint
}

// Limits names a set of quotas the embedded emulator enforces.
type Limits string

// The limit profiles of the embedded emulator.
const (
	// LimitsDefault is the emulator's standard profile; it is the default.
	LimitsDefault Limits = "default"
	// LimitsAWS enforces the AWS IoT Core quotas, throttling included.
	LimitsAWS Limits = "aws"
	// LimitsNone enforces no quotas.
	LimitsNone Limits = "none"
)

// Emulator configures the embedded emulator.
type Emulator struct {
	// Limits is the quota profile; the zero value means LimitsDefault.
	Limits Limits
	// Latency is the delay the emulator adds before each shadow response;
	// the zero value adds none.
	Latency latency.Dist
}

// Fleet describes the simulated devices: one MQTT connection per thing.
type Fleet struct {
	// Things is the number of devices.
	Things int
	// Name is the thing name pattern with one {i} or {i:0N} placeholder for
	// the thing's index, counted from 0. The client ID is the thing name.
	Name string
	// ConnectRate is the pace at which the fleet connects before the first
	// phase starts.
	ConnectRate Rate
	// KeepAlive is the MQTT keep-alive, in whole seconds.
	KeepAlive time.Duration
	// Protocol weighs the MQTT versions the things speak; the zero value
	// is all MQTT 5.
	Protocol load.ProtocolMix
	// Session says whether things start clean or resume the session the
	// broker kept.
	Session Session
	// SessionExpiry is how long the broker keeps a persistent session
	// after its connection ends: the MQTT 5 Session Expiry Interval. An
	// MQTT 3.1.1 session lasts as long as the account's setting says.
	SessionExpiry time.Duration
	// Shadows lists the shadows of each thing that receive requests:
	// ClassicShadow for the classic shadow, other entries name named shadows.
	Shadows []string
}

// Observer is a group of application-side connections that each subscribe to
// the same topic filters, typically wildcards over the fleet.
type Observer struct {
	// Name identifies the group; its connections use client IDs
	// "{name}-{k}" for k from 0.
	Name string
	// Count is the number of connections in the group.
	Count int
	// Filters are the MQTT topic filters each connection subscribes to.
	Filters []string
	// OfflineWrites makes the group the application that writes desired
	// state to a thing while churn or a storm keeps it away: one desired
	// update per absence, whose delta the thing's persistent session
	// holds until it reconnects.
	OfflineWrites bool
}

// Phase is a stretch of time with one request schedule.
type Phase struct {
	// Name identifies the phase in reports.
	Name string
	// Duration is how long the phase lasts.
	Duration time.Duration
	// From and To are the whole-fleet request rates at the start and the end
	// of the phase; the rate moves linearly between them, and From == To for
	// a constant rate.
	From, To Rate
	// Mix weighs the kinds of request.
	Mix Mix
	// Write is the section of the shadow that updates write.
	Write Section
	// RespondToDelta makes each device answer every delta it receives with
	// a reported update of the delta's fields.
	RespondToDelta bool
	// Churn disconnects and reconnects things through the phase.
	Churn load.Churn
	// Storm disconnects a share of the fleet at the phase's start.
	Storm load.Storm
}

// Mix weighs the kinds of shadow request; a request is an update with
// probability Update/Total, and so on.
type Mix struct {
	// Update, Get and Delete are non-negative weights.
	Update, Get, Delete int
}

// Total is the sum of the weights.
func (m Mix) Total() int { return m.Update + m.Get + m.Delete }

// Section is the part of the shadow state an update writes.
type Section int

// The sections an update can write.
const (
	// SectionReported writes state.reported, as a device does.
	SectionReported Section = iota
	// SectionDesired writes state.desired, as an application does.
	SectionDesired
	// SectionBoth writes the same fields to desired and reported.
	SectionBoth
)

// String gives the name of the section as written in scenario files.
func (s Section) String() string {
	switch s {
	case SectionReported:
		return "reported"
	case SectionDesired:
		return "desired"
	case SectionBoth:
		return "both"
	}
	return "Section(" + itoa(int(s)) + ")"
}

// Payload describes the update documents the devices send.
type Payload struct {
	// QoS is the MQTT QoS of requests: 0 or 1.
	QoS int
	// Optimistic sends the last version seen by the device with each update,
	// so concurrent writers get 409 Version conflict.
	Optimistic bool
	// Fields are generated in this order into each update's section.
	Fields []Field
}

// ThresholdSpec is one pass/fail expression on one metric, with its position
// in the scenario file.
type ThresholdSpec struct {
	// Metric is the metric name, such as update.accepted.
	Metric string
	// Expr is the expression, such as p(99)<250ms.
	Expr string
	// Line and Column locate Expr in the file, from 1.
	Line, Column int
	// AbortOnFail stops the run as soon as the threshold fails on the
	// totals so far, as k6's abortOnFail does; the verdict is then a failed
	// threshold.
	AbortOnFail bool
	// DelayAbortEval is how long into the schedule AbortOnFail waits before
	// judging, so a few early values cannot stop the run.
	DelayAbortEval time.Duration
}
