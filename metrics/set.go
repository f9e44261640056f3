package metrics

import (
	"fmt"
	"strings"
	"sync"
	"time"
)

// Histogram geometry shared by every latency metric. Values outside
// [LowestLatency, HighestLatency] are clamped to it and counted as clamped.
const (
	LowestLatency     = time.Microsecond
	HighestLatency    = 60 * time.Second
	SignificantDigits = 3
)

// ID names a declared metric on the hot path: an index into its Set.
type ID uint32

// kind tells a latency metric from a counter.
type kind uint8

// The kinds of metric.
const (
	kindLatency kind = iota + 1
	kindCounter
)

// String names the kind for messages.
func (k kind) String() string {
	if k == kindLatency {
		return "latency"
	}
	return "counter"
}

// metricDef is one declared metric.
type metricDef struct {
	name    string
	kind    kind
	base    string
	planned string
}

// Option adjusts a metric as it is declared.
type Option func(*metricDef)

// Base names the metric whose count is the denominator of this metric's
// "rate<0.1%" thresholds: rate = count(this) / count(base). For example
// "update.rejected" with Base("update.sent").
func Base(name string) Option {
	return func(d *metricDef) { d.base = name }
}

// Planned names the counter of what the schedule asked for that this
// metric's count answers: "achieved>=99%" thresholds divide by it, so they
// hold whatever rate a run is scaled to. For example "update.sent" with
// Planned("update.scheduled").
func Planned(name string) Option {
	return func(d *metricDef) { d.planned = name }
}

// Set declares the metrics of a run before recording starts. Declare every
// metric before the first call to NewRecorder or Collector: after that the
// set is frozen and declaring panics. Declaring a name again with the same
// kind returns the same ID; with the other kind it panics. Names are dotted,
// such as "update.accepted" or "update.rejected.409", and must be non-empty
// and free of spaces.
//
// A Set is safe for concurrent use.
type Set struct {
	mu        sync.Mutex
	defs      []metricDef
	byName    map[string]ID
	frozen    bool
	recorders []*Recorder
	collector *Collector
}

// NewSet returns an empty Set.
func NewSet() *Set {
	return &Set{byName: make(map[string]ID)}
}

// Latency declares a latency metric, recorded in nanoseconds into an HDR
// histogram, and returns its ID.
func (s *Set) Latency(name string, opts ...Option) ID {
	return s.declare(name, kindLatency, opts)
}

// Counter declares a counter and returns its ID.
func (s *Set) Counter(name string, opts ...Option) ID {
	return s.declare(name, kindCounter, opts)
}

// Lookup returns the ID of a declared metric.
func (s *Set) Lookup(name string) (ID, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byName[name]
	return id, ok
}

// declare adds or finds a metric; see Set for the rules.
func (s *Set) declare(name string, k kind, opts []Option) ID {
	if name == "" || strings.ContainsFunc(name, isSpace) {
		panic(fmt.Sprintf("metrics: metric name %q: want a non-empty dotted name without spaces such as update.accepted", name))
	}
	d := metricDef{name: name, kind: k}
	for _, o := range opts {
		o(&d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.byName[name]; ok {
		if prev := s.defs[id]; prev.kind != k {
			panic(fmt.Sprintf("metrics: %q declared as a %s, already declared as a %s", name, k, prev.kind))
		}
		if d.base != "" {
			s.defs[id].base = d.base
		}
		if d.planned != "" {
			s.defs[id].planned = d.planned
		}
		return id
	}
	if s.frozen {
		panic(fmt.Sprintf("metrics: %q declared after recording started: declare every metric before NewRecorder or Collector", name))
	}
	id := ID(len(s.defs))
	s.defs = append(s.defs, d)
	s.byName[name] = id
	return id
}

func isSpace(r rune) bool {
	return r == ' ' || r == '\t' || r == '\n' || r == '\r' || r == '\v' || r == '\f'
}

// freeze stops declarations and returns the definitions. Callers hold s.mu.
func (s *Set) freezeLocked() []metricDef {
	s.frozen = true
	return s.defs
}

// bases returns the declared base relations, metric name to base
// name, or nil when there are none.
func (s *Set) bases() map[string]string {
	return s.relation(func(d metricDef) string { return d.base })
}

// planned returns the declared planned relations, metric name to the
// counter of what was planned, or nil when there are none.
func (s *Set) planned() map[string]string {
	return s.relation(func(d metricDef) string { return d.planned })
}

// relation maps each metric to the name rel gives it, skipping empty ones.
func (s *Set) relation(rel func(metricDef) string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var m map[string]string
	for _, d := range s.defs {
		if other := rel(d); other != "" {
			if m == nil {
				m = make(map[string]string)
			}
			m[d.name] = other
		}
	}
	return m
}

// Names returns the declared metric names, in declaration order.
func (s *Set) Names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, len(s.defs))
	for i, d := range s.defs {
		names[i] = d.name
	}
	return names
}
