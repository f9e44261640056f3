package scenario

import (
	"fmt"
	"math"
	"time"

	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/shadow"
)

// AWS IoT Core quotas the plan checks against (reference §5).
const (
	awsRequestsPerThing     = iotcore.ShadowRequestsPerSecond
	awsPublishesPerConn     = iotcore.PublishesPerSecond
	awsConnectsPerAccount   = iotcore.ConnectsPerSecondPerAccount
	awsInFlight             = iotcore.ShadowInFlightPerConnection
	awsStateBytes           = shadow.DefaultMaxStateBytes
	awsMinKeepAlive         = iotcore.MinKeepAlive * time.Second
	awsMaxKeepAlive         = iotcore.MaxKeepAlive * time.Second
	stateNearFraction       = 0.75
	fleetConnectionsPerHost = 9000
)

// Plan is what a scenario asks of the target and of each connection, worked
// out before any connection is made. Rates are at each phase's peak.
//
// The model: the fleet connects at the connect rate before the first phase,
// one connection per thing, plus Count connections per observer group. Each
// phase spreads its whole-fleet request rate evenly over the things, and each
// thing spreads its requests evenly over its shadows. Every request is
// answered on the device's connection: one accepted or rejected reply. An
// accepted update also publishes update/documents, and update/delta when the
// update leaves desired and reported different: always for desired writes
// (reported never catches up unless the device responds), never for reported
// or both (both writes the same values to the two sections). A device that
// responds to deltas receives each delta and sends one reported update in
// answer, which is accepted and published to update/documents but leaves no
// delta. An observer connection receives one copy of each event on a topic
// any of its filters matches, for every thing it matches. Rejections are not
// planned for.
type Plan struct {
	// Scenario and Source name the scenario.
	Scenario, Source string
	// Target describes the endpoint.
	Target string
	// Things is the fleet size; Shadows the shadows of each thing.
	Things  int
	Shadows []string
	// MQTT5 and MQTT311 split the things by protocol, as the run does.
	MQTT5, MQTT311 int
	// Session is how things keep their sessions: "clean sessions", or
	// "persistent sessions" with their expiry.
	Session string
	// Connect is the connect stage before the first phase.
	Connect ConnectPlan
	// DeviceSubscriptions is the number of topic filters each device
	// connection subscribes to.
	DeviceSubscriptions int
	// Observers describe the observer groups, in file order.
	Observers []ObserverPlan
	// UpdateBytes bounds the JSON fields of one update; StateBytes bounds the
	// stored desired and reported state of one shadow, without metadata.
	UpdateBytes, StateBytes int
	// Phases are the phases in order.
	Phases []PhasePlan
	// Warnings say where the scenario meets an AWS quota or wastes effort.
	Warnings []string
	// Notes say what the fleet's protocols and comings and goings change
	// in what a run measures.
	Notes []string
}

// ConnectPlan is the connect stage: every connection opened at a paced rate.
type ConnectPlan struct {
	// Connections counts device and observer connections.
	Connections int
	// Rate is the connect pace; Duration how long the stage takes at it.
	Rate     Rate
	Duration time.Duration
}

// ObserverPlan is one observer group.
type ObserverPlan struct {
	// Name and Count are the group's; Subscriptions is the number of filters
	// each of its connections subscribes to.
	Name                 string
	Count, Subscriptions int
}

// PhasePlan is what one phase asks for at its peak rate.
type PhasePlan struct {
	// Name, Duration, From and To are the phase's.
	Name     string
	Duration time.Duration
	From, To Rate
	// Requests is the number of requests the schedule sends.
	Requests int64
	// Departures is the number of disconnects churn and a storm make;
	// Reconnects the peak rate of the connects that bring them back.
	Departures int
	Reconnects Rate
	// Fleet is the whole-fleet scheduled request rate at the peak.
	Fleet Rate
	// PerThing and PerShadow are shadow requests per second of one thing
	// and of one shadow, delta responses included.
	PerThing, PerShadow Rate
	// DeviceOut and DeviceIn are publishes per second sent and received by
	// one device connection.
	DeviceOut, DeviceIn Rate
	// Documents and Deltas are the whole-fleet rates of update/documents and
	// update/delta publishes by the service.
	Documents, Deltas Rate
	// ObserverIn is the publishes per second one connection of each observer
	// group receives, indexed as Plan.Observers.
	ObserverIn []Rate
}

// events is the per-thing rate of each service publish, by topic suffix.
type events map[string]float64

// Plan works out the scenario's rates and checks them against AWS quotas.
func (s *Scenario) Plan() *Plan {
	p := &Plan{
		Scenario: s.Name,
		Source:   s.Source,
		Target:   "embedded emulator (limits " + string(s.Target.Emulator.Limits) + ")",
		Things:   s.Fleet.Things,
		Shadows:  s.Fleet.Shadows,
	}
	if !s.Target.Embedded() {
		p.Target = s.Target.Endpoint
	}
	counts := s.Fleet.Protocol.Things(s.Fleet.Things)
	p.MQTT5, p.MQTT311 = counts[load.MQTT5], counts[load.MQTT311]
	p.Session = s.Fleet.Session.String() + " sessions"
	if s.Fleet.Session == SessionPersistent {
		p.Session += fmt.Sprintf(" (expiry %v)", s.Fleet.SessionExpiry)
	}
	p.Connect = ConnectPlan{Connections: s.Fleet.Things, Rate: s.Fleet.ConnectRate}
	for _, o := range s.Observers {
		p.Connect.Connections += o.Count
		p.Observers = append(p.Observers, ObserverPlan{Name: o.Name, Count: o.Count, Subscriptions: len(o.Filters)})
	}
	if s.Fleet.ConnectRate > 0 {
		p.Connect.Duration = seconds(float64(p.Connect.Connections) / float64(s.Fleet.ConnectRate))
	}
	p.DeviceSubscriptions = len(s.DeviceFilters(s.Fleet.ThingName(0)))
	p.UpdateBytes = s.Payload.MaxFieldsBytes()
	p.StateBytes = s.stateBytes(p.UpdateBytes)
	s.globalWarnings(p)
	for _, ph := range s.Phases {
		p.Phases = append(p.Phases, s.planPhase(ph, p))
	}
	return p
}

// stateBytes bounds the stored state: the fields once per section written,
// as {"desired":{…},"reported":{…}}.
func (s *Scenario) stateBytes(fields int) int {
	var desired, reported bool
	for _, ph := range s.Phases {
		desired = desired || ph.Write != SectionReported
		reported = reported || ph.Write != SectionDesired || ph.RespondToDelta
	}
	n := 2
	if desired {
		n += len(`"desired":`) + fields
	}
	if reported {
		n += len(`"reported":`) + fields
	}
	if desired && reported {
		n++
	}
	return n
}

func (s *Scenario) globalWarnings(p *Plan) {
	warn := func(format string, args ...any) { p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...)) }
	if s.Fleet.ConnectRate > awsConnectsPerAccount {
		warn("connect_rate %v is above the AWS account limit of %d connects/s; expect refused connections", s.Fleet.ConnectRate, awsConnectsPerAccount)
	}
	if p.DeviceSubscriptions > iotcore.MaxSubscriptionsPerConnection {
		warn("each device subscribes to %d topics; AWS allows %d subscriptions per connection", p.DeviceSubscriptions, iotcore.MaxSubscriptionsPerConnection)
	}
	for _, o := range s.Observers {
		if len(o.Filters) > iotcore.MaxFiltersPerSubscribe {
			warn("observer %q subscribes to %d filters; AWS allows %d per SUBSCRIBE", o.Name, len(o.Filters), iotcore.MaxFiltersPerSubscribe)
		}
	}
	switch {
	case p.StateBytes > awsStateBytes:
		warn("the stored state may reach %d bytes; AWS rejects an update that takes it above %d with 413", p.StateBytes, awsStateBytes)
	case float64(p.StateBytes) >= stateNearFraction*awsStateBytes:
		warn("the stored state may reach %d bytes, near the AWS limit of %d", p.StateBytes, awsStateBytes)
	}
	if s.InFlight > awsInFlight {
		warn("in_flight %d is above the AWS limit of %d shadow requests in flight per connection; expect 429", s.InFlight, awsInFlight)
	}
	if ka := s.Fleet.KeepAlive; ka < awsMinKeepAlive || ka > awsMaxKeepAlive {
		warn("keep_alive %v is outside the AWS range %v to %v; AWS will use %v", ka, awsMinKeepAlive, awsMaxKeepAlive, awsKeepAlive(ka))
	}
	if p.Connect.Connections > fleetConnectionsPerHost && s.Target.Embedded() {
		warn("%d connections with the embedded emulator need two descriptors each; one process holds about %d", p.Connect.Connections, fleetConnectionsPerHost)
	}
	s.deviceWarnings(p)
}

// offlineWriter reports whether an observer group writes to things while
// they are away.
func (s *Scenario) offlineWriter() bool {
	for _, o := range s.Observers {
		if o.OfflineWrites {
			return true
		}
	}
	return false
}

// deviceWarnings says what the fleet's protocols, sessions and comings and
// goings change in what a run measures.
func (s *Scenario) deviceWarnings(p *Plan) {
	warn := func(format string, args ...any) { p.Warnings = append(p.Warnings, fmt.Sprintf(format, args...)) }
	note := func(format string, args ...any) { p.Notes = append(p.Notes, fmt.Sprintf(format, args...)) }
	if p.MQTT311 > 0 {
		note("%d of the %d things speak MQTT 3.1.1, which has no reason codes: a publish or subscribe their policy denies closes the connection (counted in reconnects, not as a rejection), and a throttled publish just gets no PUBACK", p.MQTT311, p.Things)
		if s.Fleet.Session == SessionPersistent {
			note("MQTT 3.1.1 sessions last the account's persistent-session expiry (%v by default on AWS), whatever session_expiry says", iotcore.DefaultSessionExpiry)
		}
	}
	if s.Fleet.Session == SessionPersistent && p.MQTT5 > 0 && s.Fleet.SessionExpiry > iotcore.DefaultSessionExpiry {
		warn("session_expiry %v is above AWS's default account maximum of %v: AWS lowers it (and says so in CONNACK) unless the account's setting was raised, up to %v", s.Fleet.SessionExpiry, iotcore.DefaultSessionExpiry, iotcore.MaxSessionExpiry)
	}
	away, ungraceful := false, false
	for _, ph := range s.Phases {
		away = away || ph.Churn.PerMinute > 0 || ph.Storm.Share > 0
		ungraceful = ungraceful || ph.Churn.PerMinute > 0 && !ph.Churn.Graceful || ph.Storm.Share > 0 && !ph.Storm.Graceful
	}
	for _, o := range s.Observers {
		switch {
		case !o.OfflineWrites:
		case !away:
			warn("observer %q writes to things while they are away, but no phase has churn or a storm: it writes nothing", o.Name)
		case s.Fleet.Session != SessionPersistent:
			warn("observer %q writes to things while they are away, but fleet.session is clean: the deltas go with the sessions (delta.received stays below delta.expected)", o.Name)
		}
	}
	if ungraceful {
		note("ungraceful departures drop the socket with requests in flight: those end as abandoned. A device whose network vanishes without a FIN is noticed by the broker only after 1.5 × keep_alive (%v)", time.Duration(1.5*float64(awsKeepAlive(s.Fleet.KeepAlive))))
	}
}

// seconds converts a number of seconds to a duration, saturating at the
// largest duration instead of overflowing.
func seconds(x float64) time.Duration {
	if !(x < float64(math.MaxInt64)/float64(time.Second)) {
		return math.MaxInt64
	}
	return time.Duration(max(x, 0) * float64(time.Second))
}

// awsKeepAlive is the keep-alive AWS applies for a requested one.
func awsKeepAlive(ka time.Duration) time.Duration {
	secs := uint16(min(math.Ceil(max(ka, 0).Seconds()), math.MaxUint16))
	return time.Duration(iotcore.ClampKeepAlive(secs)) * time.Second
}

// planPhase works out one phase at its peak.
func (s *Scenario) planPhase(ph Phase, p *Plan) PhasePlan {
	warn := func(format string, args ...any) {
		p.Warnings = append(p.Warnings, fmt.Sprintf("phase %q: ", ph.Name)+fmt.Sprintf(format, args...))
	}
	pp := PhasePlan{Name: ph.Name, Duration: ph.Duration, From: ph.From, To: ph.To, Requests: ph.Requests(), Fleet: ph.Peak()}
	things, shadows := float64(max(s.Fleet.Things, 1)), float64(max(len(s.Fleet.Shadows), 1))
	total := float64(max(ph.Mix.Total(), 1))
	r := float64(ph.Peak()) / things
	updates := r * float64(ph.Mix.Update) / total
	var deltas, responses float64
	if ph.Write == SectionDesired {
		deltas = updates
	}
	if ph.RespondToDelta {
		responses = deltas
	}
	ev := events{
		"update/accepted":  updates + responses,
		"update/documents": updates + responses,
		"update/delta":     deltas,
		"get/accepted":     r * float64(ph.Mix.Get) / total,
		"delete/accepted":  r * float64(ph.Mix.Delete) / total,
	}
	pp.PerThing = Rate(r + responses)
	pp.PerShadow = Rate((r + responses) / shadows)
	pp.DeviceOut = Rate(r + responses)
	pp.DeviceIn = Rate(r + responses + responses)
	pp.Documents = Rate(ev["update/documents"] * things)
	pp.Deltas = Rate(deltas * things)
	for _, o := range s.Observers {
		in := s.observerRate(o, ev)
		pp.ObserverIn = append(pp.ObserverIn, Rate(in))
		if in > awsPublishesPerConn {
			warn("each %q observer connection receives %.0f publishes/s; AWS allows %d per connection", o.Name, in, awsPublishesPerConn)
		}
	}
	if pp.PerThing > awsRequestsPerThing {
		warn("%.1f shadow requests/s per thing; AWS allows %d per thing; expect 429", float64(pp.PerThing), awsRequestsPerThing)
	}
	if io := float64(pp.DeviceOut + pp.DeviceIn); io > awsPublishesPerConn {
		warn("%.1f publishes/s in and out per device connection; AWS allows %d", io, awsPublishesPerConn)
	}
	if ph.RespondToDelta && ph.Write != SectionDesired && !s.offlineWriter() {
		warn("respond_to_delta with %s writes: the phase's own updates make no deltas", ph.Write)
	}
	if c := ph.Churn.PerMinute; c > 0 {
		pp.Departures += int(c*float64(s.Fleet.Things)*ph.Duration.Minutes() + 0.5)
		pp.Reconnects = Rate(c * float64(s.Fleet.Things) / 60)
	}
	if k := int(ph.Storm.Share*float64(s.Fleet.Things) + 0.5); k > 0 {
		pp.Departures += k
		pp.Reconnects = max(pp.Reconnects, s.Fleet.ConnectRate)
		if back := seconds(float64(k)/float64(s.Fleet.ConnectRate)) + ph.Storm.Offline; back > ph.Duration {
			warn("the storm's %d things need %v to come back at connect_rate %v, longer than the phase's %v", k, back.Round(time.Millisecond), s.Fleet.ConnectRate, ph.Duration)
		}
	}
	return pp
}

// observerRate is the publishes per second one connection of the observer
// group receives, given the per-thing event rates.
func (s *Scenario) observerRate(o Observer, ev events) float64 {
	shadows := float64(max(len(s.Fleet.Shadows), 1))
	var total float64
	for _, sh := range s.Fleet.Shadows {
		for suffix, rate := range ev {
			if rate == 0 {
				continue
			}
			total += rate / shadows * float64(s.Fleet.observedThings(o.Filters, sh, suffix))
		}
	}
	return total
}

// observedThings counts the things whose topic for the shadow and suffix at
// least one of the filters matches.
func (f Fleet) observedThings(filters []string, shadow, suffix string) int {
	single := map[string]bool{}
	for _, flt := range filters {
		switch f.matchingThings(flt, shadow, suffix) {
		case 0:
		case 1:
			if f.Things == 1 {
				return 1
			}
			single[thingLevel(flt)] = true
		default:
			return f.Things
		}
	}
	return len(single)
}
