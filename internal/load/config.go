package load

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"time"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/iotcore"
)

// Section says which part of the shadow an update writes.
type Section uint8

// Sections an update can write.
const (
	WriteReported Section = iota // the device reporting its state
	WriteDesired                 // the cloud side asking for a change
	WriteBoth
)

// ProtocolMix is the weight of each protocol in a fleet, indexed by
// Protocol. The zero value is all MQTT 5.
type ProtocolMix [numProtocols]float64

// Things splits a fleet of n things between the protocols exactly as a run
// assigns them.
func (m ProtocolMix) Things(n int) [numProtocols]int {
	var out [numProtocols]int
	for _, p := range m.assign(n) {
		out[p]++
	}
	return out
}

// String writes the mix as "mqtt5", "mqtt311", or weights such as
// "mqtt5:70,mqtt311:30".
func (m ProtocolMix) String() string {
	var used []Protocol
	for _, p := range Protocols() {
		if m[p] > 0 {
			used = append(used, p)
		}
	}
	switch len(used) {
	case 0:
		return MQTT5.String()
	case 1:
		return used[0].String()
	}
	var b []byte
	for i, p := range used {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, p.String()...)
		b = append(b, ':')
		b = strconv.AppendFloat(b, m[p], 'f', -1, 64)
	}
	return string(b)
}

// assign gives each of n things its protocol: the weights' shares, exactly
// to within one thing, spread evenly over the fleet (each thing takes the
// protocol furthest behind its share so far).
func (m ProtocolMix) assign(n int) []Protocol {
	var total float64
	for _, w := range m {
		total += max(w, 0)
	}
	out := make([]Protocol, n)
	if !(total > 0) {
		return out
	}
	var have [numProtocols]float64
	for i := range out {
		best, bestGap := MQTT5, math.Inf(-1)
		for p, w := range m {
			if gap := float64(i+1)*max(w, 0)/total - have[p]; w > 0 && gap > bestGap {
				best, bestGap = Protocol(p), gap
			}
		}
		out[i] = best
		have[best]++
	}
	return out
}

// Mix is the weight of each operation in a phase, indexed by Op.
type Mix [numOps]float64

// PhaseSpec is one phase of a run: its schedule and what its requests do.
type PhaseSpec struct {
	Phase
	Mix            Mix
	Write          Section
	RespondToDelta bool // the device answers each delta with a reported update
	Churn          Churn
	Storm          Storm
}

// FieldsFunc appends the JSON object of generated fields for one update of
// thing, e.g. {"temperature":21.5,"seq":17}.
type FieldsFunc func(dst []byte, thing int) []byte

// ObserverGroup is a set of application-side connections holding the same
// wildcard subscriptions, measuring fan-out.
type ObserverGroup struct {
	Name    string
	Bundles []fleet.Bundle
	Filters []string
	// Count is the group's connections in the whole run; default
	// len(Bundles). A shard that does not host the group gives no bundles
	// and the count: the deliveries the group should get from the shard's
	// things are still counted (fanout.GROUP.expected), so the merged
	// books of every shard close.
	Count int
	// OfflineWrites makes the group's first connection the application
	// that writes desired state to each thing churn or a storm sent away,
	// once per absence, halfway through it. Its filters must receive
	// update/accepted and update/rejected of the fleet's things, where the
	// writes are answered.
	OfflineWrites bool
}

// connections is the group's connections in the whole run.
func (g ObserverGroup) connections() int64 {
	if g.Count > 0 {
		return int64(g.Count)
	}
	return int64(len(g.Bundles))
}

// Config is everything a run needs. Zero values take the documented defaults.
type Config struct {
	// Transport opens the connections; required.
	Transport Transport
	// Clock is the run's time; default SystemClock.
	Clock Clock
	// Things are the identities of the fleet the run drives: the whole
	// fleet, or with a Shard the shard's things only, in fleet order
	// (Shard.Things(FleetSize)).
	Things    []fleet.Bundle
	Observers []ObserverGroup
	Shadows   []string // "" is the classic shadow; default just the classic one

	// Protocols weighs the MQTT versions of the fleet, indexed by Protocol:
	// {MQTT5: 70, MQTT311: 30} makes 70% of the things MQTT 5 and 30% MQTT
	// 3.1.1, spread evenly over the fleet. Default: every thing MQTT 5.
	Protocols ProtocolMix

	ConnectRate    float64       // connect attempts per second, first connects and redials alike; default 100
	ConnectTimeout time.Duration // per attempt; default 10s
	ConnectWindow  time.Duration // how long to keep retrying the initial connects; default 30s + things/rate
	KeepAlive      time.Duration // default 60s
	// Persistent makes things resume the session the broker kept (Clean
	// Start 0, cleanSession 0): their subscriptions, and the QoS 1 messages
	// that came while they were away, come back with it. Otherwise every
	// connect starts a clean session.
	Persistent bool
	// SessionExpiry is the MQTT 5 Session Expiry Interval of a persistent
	// session; default iotcore.DefaultSessionExpiry.
	SessionExpiry time.Duration

	Phases     []PhaseSpec
	QoS        byte // 0 or 1
	Optimistic bool // send the last version seen; 409s expected under contention
	// Fields returns the payload generator of one worker; it is called
	// under that worker's lock only, for the things it owns. Default: no
	// fields besides the stamp.
	Fields func(worker int) FieldsFunc

	Timeout   time.Duration // a request unanswered this long is timed out; default 10s
	InFlight  int           // per connection; default iotcore.ShadowInFlightPerConnection
	Workers   int           // default 4×GOMAXPROCS
	LateBound time.Duration // a send this far behind its slot is late; default 10ms
	// StopGrace is how long a stopped run still waits for the replies to
	// requests in flight before it counts them timed out; default the
	// smaller of Timeout and 2s.
	StopGrace time.Duration

	// Verify reads every shadow back once the schedule has ended and counts
	// the accepted writes it no longer holds (verify.lost).
	Verify bool

	// HashMatchesDollar says whether a "#" filter receives $aws topics on the
	// target, for counting the deliveries an observer should get.
	HashMatchesDollar bool

	// Shard is the slice of the fleet this run drives; the zero value is
	// the whole fleet. FleetSize is the whole fleet's size; default
	// len(Things), which a shard of several must not take.
	Shard     Shard
	FleetSize int
	// StartAt, when set, is when slot 0 is due on the wall clock, and the
	// collection intervals end on whole seconds from it: shards started
	// apart then send on one schedule and their intervals line up. It must
	// be in the future when the run starts; a fleet still connecting then
	// starts late, its early slots counted late.
	StartAt time.Time

	// Tick, when set, is called once a second with the run's progress.
	Tick func(Progress)
}

func (c *Config) withDefaults() (Config, error) {
	cfg := *c
	if cfg.Transport == nil {
		return cfg, fmt.Errorf("no transport to connect with")
	}
	if cfg.Clock == nil {
		cfg.Clock = SystemClock()
	}
	if len(cfg.Things) == 0 {
		return cfg, fmt.Errorf("no things to run")
	}
	if err := cfg.Shard.Validate(); err != nil {
		return cfg, err
	}
	if cfg.FleetSize <= 0 {
		cfg.FleetSize = len(cfg.Things)
	}
	if want := len(cfg.Shard.Things(cfg.FleetSize)); len(cfg.Things) != want {
		return cfg, fmt.Errorf("shard %d/%d of a fleet of %d has %d things; %d given", cfg.Shard.Index, max(cfg.Shard.Count, 1), cfg.FleetSize, want, len(cfg.Things))
	}
	if len(cfg.Shadows) == 0 {
		cfg.Shadows = []string{""}
	}
	if len(cfg.Shadows) > 255 {
		return cfg, fmt.Errorf("%d shadows per thing: at most 255", len(cfg.Shadows))
	}
	if !(cfg.ConnectRate > 0) || math.IsInf(cfg.ConnectRate, 1) {
		cfg.ConnectRate = 100
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	if cfg.ConnectWindow <= 0 {
		secs := 30 + float64(len(cfg.Things))/cfg.ConnectRate
		cfg.ConnectWindow = time.Duration(min(secs, float64(math.MaxInt64/2)/float64(time.Second)) * float64(time.Second))
	}
	if cfg.KeepAlive <= 0 {
		cfg.KeepAlive = 60 * time.Second
	}
	if cfg.SessionExpiry <= 0 {
		cfg.SessionExpiry = iotcore.DefaultSessionExpiry
	}
	writers := 0
	for _, g := range cfg.Observers {
		if g.OfflineWrites {
			writers++
			if len(g.Bundles) == 0 {
				return cfg, fmt.Errorf("observer group %q writes offline but has no connection", g.Name)
			}
		}
	}
	if writers > 1 {
		return cfg, fmt.Errorf("%d observer groups write offline: at most one application writes", writers)
	}
	if cfg.QoS > iotcore.MaxQoS {
		return cfg, fmt.Errorf("QoS %d: AWS IoT Core supports 0 and 1", cfg.QoS)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	if cfg.InFlight <= 0 {
		cfg.InFlight = iotcore.ShadowInFlightPerConnection
	}
	if cfg.InFlight > iotcore.MaxInflight {
		return cfg, fmt.Errorf("in-flight cap %d: at most %d, the unacknowledged QoS 1 messages AWS allows a connection", cfg.InFlight, iotcore.MaxInflight)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	if cfg.Workers > len(cfg.Things) {
		cfg.Workers = len(cfg.Things)
	}
	if cfg.LateBound <= 0 {
		cfg.LateBound = 10 * time.Millisecond
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = min(cfg.Timeout, 2*time.Second)
	}
	if cfg.Fields == nil {
		cfg.Fields = func(int) FieldsFunc {
			return func(dst []byte, _ int) []byte { return append(dst, "{}"...) }
		}
	}
	if len(cfg.Phases) == 0 {
		return cfg, fmt.Errorf("no phases to run")
	}
	cfg.Phases = append([]PhaseSpec(nil), cfg.Phases...)
	for i, p := range cfg.Phases {
		if p.Name == "" {
			cfg.Phases[i].Name = "phase-" + strconv.Itoa(i+1)
		}
		var w float64
		for _, x := range p.Mix {
			w += x
		}
		if !(w > 0) {
			cfg.Phases[i].Mix = Mix{OpUpdate: 1}
		}
	}
	return cfg, nil
}
