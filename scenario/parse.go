package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/latency"
	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/internal/topic"
	"github.com/shadowload/shadowload/metrics"
	"github.com/shadowload/shadowload/shadow"
	"go.yaml.in/yaml/v3"
)

// Load reads and parses the scenario file at path. Relative bundle and root
// CA paths in the file are taken relative to the file's directory.
func Load(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	s, err := Parse(path, data)
	if err != nil {
		return nil, err
	}
	dir := filepath.Dir(path)
	for _, p := range []*string{&s.Target.Bundles, &s.Target.RootCA} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	return s, nil
}

// Parse parses a scenario file's contents; source names the file in errors.
// The error is an Errors holding every problem found, in file order.
func Parse(source string, data []byte) (*Scenario, error) {
	d := &decoder{source: source}
	s := defaults()
	s.Source = source
	root, ok := d.document(data)
	if ok {
		d.scenario(root, s)
	}
	if len(d.errs) > 0 {
		sortErrors(d.errs)
		return nil, d.errs
	}
	return s, nil
}

// defaults gives a Scenario holding every top-level default.
func defaults() *Scenario {
	return &Scenario{
		Target: Target{Endpoint: DefaultEndpoint, HashMatchesDollar: true, Emulator: Emulator{Limits: LimitsDefault}},
		Fleet: Fleet{
			Things:        DefaultThings,
			Name:          DefaultThingName,
			ConnectRate:   DefaultConnectRate,
			KeepAlive:     DefaultKeepAlive,
			SessionExpiry: DefaultSessionExpiry,
			Shadows:       []string{ClassicShadow},
		},
		Payload:  Payload{QoS: DefaultQoS, Fields: []Field{{Name: "seq", Kind: FieldCounter, Step: 1}}},
		Timeout:  DefaultTimeout,
		InFlight: DefaultInFlight,
		Validity: load.DefaultValidity(),
		Verify:   true,
	}
}

var yamlLine = regexp.MustCompile(`^yaml: line (\d+): `)

// document decodes the single YAML document in data to its root mapping.
func (d *decoder) document(data []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			d.errs = append(d.errs, &Error{Source: d.source, Line: 1, Column: 1, Msg: "empty file; want a scenario with at least name and phases"})
			return nil, false
		}
		d.yamlError(err)
		return nil, false
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		d.errorf(&extra, "", "a second YAML document; want one scenario per file")
	} else if !errors.Is(err, io.EOF) {
		d.yamlError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 {
		d.errs = append(d.errs, &Error{Source: d.source, Line: 1, Column: 1, Msg: "want a mapping of scenario keys"})
		return nil, false
	}
	return doc.Content[0], true
}

// yamlError records a syntax error from the YAML library at its line.
func (d *decoder) yamlError(err error) {
	msg := err.Error()
	e := &Error{Source: d.source}
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
	}
	e.Msg = "invalid YAML: " + msg
	d.errs = append(d.errs, e)
}

// maxObserverCount caps the connections of one observer group.
const maxObserverCount = 10000

// find gives the value under the path of mapping keys from n, or n itself
// when some key is missing.
func find(n *yaml.Node, keys ...string) *yaml.Node {
	cur := resolve(n)
	for _, key := range keys {
		var next *yaml.Node
		if cur.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(cur.Content); i += 2 {
				if k := resolve(cur.Content[i]); k.Kind == yaml.ScalarNode && k.Value == key {
					next = resolve(cur.Content[i+1])
				}
			}
		}
		if next == nil {
			return n
		}
		cur = next
	}
	return cur
}

var scenarioName = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// scenario decodes the root mapping into s.
func (d *decoder) scenario(root *yaml.Node, s *Scenario) {
	var phasesNode *yaml.Node
	var nameSeen bool
	keys := []string{"name", "description", "target", "fleet", "observers", "phases", "payload", "timeout", "in_flight", "thresholds", "validity", "verify"}
	if !d.fields(root, "", keys, func(key string, k, v *yaml.Node) {
		switch key {
		case "name":
			nameSeen = true
			if name, ok := d.scalar(v, key, "a name such as quickstart"); ok {
				if !scenarioName.MatchString(name) {
					d.errorf(v, key, "%q: want 1 to 128 characters from [A-Za-z0-9._-]", name)
				}
				s.Name = name
			}
		case "description":
			d.str(v, key, &s.Description)
		case "target":
			d.target(v, key, &s.Target)
		case "fleet":
			d.fleet(v, key, &s.Fleet)
		case "observers":
			d.observers(v, key, s)
		case "phases":
			phasesNode = v
			d.phases(v, key, s)
		case "payload":
			d.payload(v, key, &s.Payload)
		case "timeout":
			d.durationUpTo(v, key, false, MaxTimeout, &s.Timeout)
		case "in_flight":
			d.integerIn(v, key, 1, iotcore.MaxInflight, &s.InFlight)
		case "thresholds":
			d.thresholds(v, key, s)
		case "validity":
			d.validity(v, key, &s.Validity)
		case "verify":
			d.boolean(v, key, &s.Verify)
		}
	}) {
		return
	}
	if !nameSeen {
		d.errorf(root, "name", "missing; want a name such as quickstart")
	}
	if phasesNode == nil {
		d.errorf(root, "phases", "missing; want a list of phases, each with a duration and a rate")
	}
	for _, o := range s.Observers {
		if k, ok := s.Fleet.observerClash(o); ok {
			d.errorf(find(root, "observers"), "observers", "observer %q connection %d would use client ID %q, the name of a thing", o.Name, k, o.Name+"-"+strconv.Itoa(k))
		}
	}
	if !d.hasErrorUnder("phases") && !d.hasErrorUnder("observers") {
		d.knownMetrics(s)
	}
	d.offlineWriters(find(root, "observers"), s)
}

// offlineWriters checks the observer group that writes to things while they
// are away: there is at most one, and its filters receive the answers to
// its writes (update/accepted and update/rejected of the classic shadow,
// where it writes).
func (d *decoder) offlineWriters(n *yaml.Node, s *Scenario) {
	var writers []string
	for i, o := range s.Observers {
		if !o.OfflineWrites {
			continue
		}
		writers = append(writers, o.Name)
		field := join(index("observers", i), "filters")
		for _, kind := range []string{"update/accepted", "update/rejected"} {
			name := shadow.Prefix(s.Fleet.ThingName(0), "") + "/" + kind
			if firstMatchOf(o.Filters, name, s.Target.HashMatchesDollar) < 0 {
				d.errorf(n, field, "observer %q writes offline but no filter receives %s, where its writes are answered; add $aws/things/+/shadow/update/+", o.Name, name)
				break
			}
		}
	}
	if len(writers) > 1 {
		d.errorf(n, "observers", "observers %s all write offline; at most one group is the application", strings.Join(writers, ", "))
	}
}

// firstMatchOf returns the index of the first filter matching name, or -1.
func firstMatchOf(filters []string, name string, dollar bool) int {
	for i, f := range filters {
		if topic.Match(f, name, dollar) {
			return i
		}
	}
	return -1
}

// target decodes the target section.
func (d *decoder) target(n *yaml.Node, path string, t *Target) {
	var emulatorNode, endpointNode *yaml.Node
	keys := []string{"endpoint", "bundles", "root_ca", "alpn", "server_name", "hash_matches_dollar", "emulator"}
	if !d.fields(n, path, keys, func(key string, k, v *yaml.Node) {
		p := join(path, key)
		switch key {
		case "endpoint":
			endpointNode = v
			if ep, ok := d.scalar(v, p, `"embedded" or host:port`); ok {
				if err := checkEndpoint(ep); err != nil {
					d.errorf(v, p, "%v", err)
				}
				t.Endpoint = ep
			}
		case "bundles":
			d.str(v, p, &t.Bundles)
		case "root_ca":
			d.str(v, p, &t.RootCA)
		case "alpn":
			d.str(v, p, &t.ALPN)
		case "server_name":
			d.str(v, p, &t.ServerName)
		case "hash_matches_dollar":
			d.boolean(v, p, &t.HashMatchesDollar)
		case "emulator":
			emulatorNode = k
			d.emulator(v, p, &t.Emulator)
		}
	}) {
		return
	}
	if !t.Embedded() {
		if emulatorNode != nil {
			d.errorf(emulatorNode, join(path, "emulator"), "only for the embedded endpoint; endpoint is %q", t.Endpoint)
		}
		if t.Bundles == "" {
			d.errorf(endpointNode, join(path, "bundles"), "missing; a real endpoint needs the certificate bundles written by shadowload provision")
		}
	}
}

// checkEndpoint reports why ep is neither "embedded" nor host:port.
func checkEndpoint(ep string) error {
	if ep == DefaultEndpoint {
		return nil
	}
	host, port, err := net.SplitHostPort(ep)
	if err != nil || host == "" {
		return fmt.Errorf("%q: want \"embedded\" or host:port such as xxxx-ats.iot.us-east-1.amazonaws.com:8883", ep)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return fmt.Errorf("%q: port %q: want 1 to 65535", ep, port)
	}
	return nil
}

func (d *decoder) emulator(n *yaml.Node, path string, e *Emulator) {
	d.fields(n, path, []string{"limits", "latency"}, func(key string, k, v *yaml.Node) {
		p := join(path, key)
		switch key {
		case "limits":
			if l, ok := d.oneOf(v, p, []string{string(LimitsDefault), string(LimitsAWS), string(LimitsNone)}); ok {
				e.Limits = Limits(l)
			}
		case "latency":
			if s, ok := d.scalar(v, p, "a latency such as fixed:20ms"); ok {
				l, err := latency.Parse(s)
				if err != nil {
					d.errorf(v, p, "%v", err)
				}
				e.Latency = l
			}
		}
	})
}

// fleet decodes the fleet section.
func (d *decoder) fleet(n *yaml.Node, path string, f *Fleet) {
	var nameNode, thingsNode, expiryNode *yaml.Node
	keys := []string{"things", "name", "connect_rate", "keep_alive", "protocol", "session", "session_expiry", "shadows"}
	if !d.fields(n, path, keys, func(key string, k, v *yaml.Node) {
		p := join(path, key)
		switch key {
		case "things":
			thingsNode = v
			d.integerIn(v, p, 1, MaxThings, &f.Things)
		case "name":
			nameNode = v
			d.str(v, p, &f.Name)
		case "connect_rate":
			if d.rate(v, p, false, &f.ConnectRate) && f.ConnectRate < MinConnectRate {
				d.errorf(v, p, "%q: want at least %v", v.Value, MinConnectRate)
			}
		case "keep_alive":
			d.duration(v, p, true, &f.KeepAlive)
			if f.KeepAlive%1e9 != 0 || f.KeepAlive > 65535e9 {
				d.errorf(v, p, "%v: want whole seconds up to 65535s", f.KeepAlive)
			}
		case "protocol":
			d.protocol(v, p, &f.Protocol)
		case "session":
			d.session(v, p, &f.Session)
		case "session_expiry":
			expiryNode = v
			d.durationUpTo(v, p, false, iotcore.MaxSessionExpiry, &f.SessionExpiry)
			if f.SessionExpiry%time.Second != 0 {
				d.errorf(v, p, "%v: want whole seconds", f.SessionExpiry)
			}
		case "shadows":
			d.shadows(v, p, f)
		}
	}) {
		return
	}
	if expiryNode != nil && f.Session != SessionPersistent {
		d.errorf(expiryNode, join(path, "session_expiry"), "only for persistent sessions; fleet.session is %s", f.Session)
	}
	pat, err := f.namePattern()
	if err != nil {
		d.errorf(nameNode, join(path, "name"), "%v", err)
		return
	}
	if err := pat.Check(0, f.Things); err != nil {
		at := nameNode
		if at == nil {
			at = thingsNode
		}
		d.errorf(at, join(path, "name"), "%v", err)
	}
}

func (d *decoder) shadows(n *yaml.Node, path string, f *Fleet) {
	var names []string
	seen := map[string]bool{}
	if !d.list(n, path, "shadow names", func(i int, item *yaml.Node) {
		p := index(path, i)
		s, ok := d.scalar(item, p, `"classic" or a shadow name`)
		if !ok {
			return
		}
		if seen[s] {
			d.errorf(item, p, "%q is listed twice", s)
			return
		}
		seen[s] = true
		if s != ClassicShadow {
			if err := shadow.ValidateShadowName(s); err != nil {
				d.errorf(item, p, "%v", err)
				return
			}
		}
		names = append(names, s)
	}) {
		return
	}
	if len(resolve(n).Content) == 0 {
		d.errorf(n, path, "empty; want at least one shadow, such as [classic]")
		return
	}
	f.Shadows = names
}

// observers decodes the observer groups.
func (d *decoder) observers(n *yaml.Node, path string, s *Scenario) {
	seen := map[string]int{}
	d.list(n, path, "observer groups", func(i int, item *yaml.Node) {
		p := index(path, i)
		o := Observer{Name: "observer-" + strconv.Itoa(i), Count: 1}
		var filtersSeen bool
		if !d.fields(item, p, []string{"name", "count", "filters", "offline_writes"}, func(key string, k, v *yaml.Node) {
			kp := join(p, key)
			switch key {
			case "name":
				if name, ok := d.scalar(v, kp, "a name"); ok {
					if err := shadow.ValidateThingName(name + "-" + strconv.Itoa(maxObserverCount)); err != nil {
						d.errorf(v, kp, "%q: its connections' client IDs %s-0… must be thing names: %v", name, name, err)
					}
					if line, dup := seen[name]; dup {
						d.errorf(v, kp, "%q is already the name of the observer at line %d", name, line)
					}
					seen[name] = v.Line
					o.Name = name
				}
			case "count":
				d.integer(v, kp, 1, &o.Count)
				if o.Count > maxObserverCount {
					d.errorf(v, kp, "%d: want at most %d connections per observer group", o.Count, maxObserverCount)
					o.Count = maxObserverCount
				}
			case "offline_writes":
				d.boolean(v, kp, &o.OfflineWrites)
			case "filters":
				filtersSeen = true
				d.list(v, kp, "topic filters", func(j int, fn *yaml.Node) {
					fp := index(kp, j)
					if f, ok := d.scalar(fn, fp, "a topic filter"); ok {
						if err := iotcore.CheckFilter(f); err != nil {
							d.errorf(fn, fp, "%v", err)
						}
						o.Filters = append(o.Filters, f)
					}
				})
				switch c := len(resolve(v).Content); {
				case resolve(v).Kind != yaml.SequenceNode:
				case c == 0:
					d.errorf(v, kp, "empty; want 1 to %d topic filters", iotcore.MaxFiltersPerSubscribe)
				case c > iotcore.MaxFiltersPerSubscribe:
					d.errorf(v, kp, "%d filters; AWS allows %d per SUBSCRIBE", c, iotcore.MaxFiltersPerSubscribe)
				}
			}
		}) {
			return
		}
		if !filtersSeen {
			d.errorf(item, join(p, "filters"), "missing; want the topic filters to subscribe to")
		}
		s.Observers = append(s.Observers, o)
	})
}

// phases decodes the phase list.
func (d *decoder) phases(n *yaml.Node, path string, s *Scenario) {
	seen := map[string]int{}
	if !d.list(n, path, "phases", func(i int, item *yaml.Node) {
		p := index(path, i)
		ph := Phase{Name: "phase-" + strconv.Itoa(i+1), Mix: Mix{Update: 1}}
		var durationSeen, rateSeen bool
		var rateKey, rampKey *yaml.Node
		keys := []string{"name", "duration", "rate", "ramp", "mix", "write", "respond_to_delta", "churn", "storm"}
		if !d.fields(item, p, keys, func(key string, k, v *yaml.Node) {
			kp := join(p, key)
			switch key {
			case "name":
				if name, ok := d.scalar(v, kp, "a name"); ok {
					if line, dup := seen[name]; dup {
						d.errorf(v, kp, "%q is already the name of the phase at line %d", name, line)
					}
					seen[name] = v.Line
					ph.Name = name
				}
			case "duration":
				durationSeen = true
				d.duration(v, kp, false, &ph.Duration)
			case "rate":
				rateKey = k
				rateSeen = true
				if d.rate(v, kp, true, &ph.From) {
					ph.To = ph.From
				}
			case "ramp":
				rampKey = k
				rateSeen = true
				d.ramp(v, kp, &ph)
			case "mix":
				d.mix(v, kp, &ph.Mix)
			case "write":
				if w, ok := d.oneOf(v, kp, []string{"reported", "desired", "both"}); ok {
					ph.Write = map[string]Section{"reported": SectionReported, "desired": SectionDesired, "both": SectionBoth}[w]
				}
			case "respond_to_delta":
				d.boolean(v, kp, &ph.RespondToDelta)
			case "churn":
				d.churn(v, kp, &ph.Churn)
			case "storm":
				d.storm(v, kp, &ph.Storm)
			}
		}) {
			return
		}
		if !durationSeen {
			d.errorf(item, join(p, "duration"), "missing; want a duration such as 30s")
		}
		switch {
		case !rateSeen:
			d.errorf(item, join(p, "rate"), "missing; want rate: N/s, or ramp: {from: N/s, to: N/s}")
		case rateKey != nil && rampKey != nil:
			d.errorf(rampKey, join(p, "ramp"), "a phase has either a constant rate (line %d) or a ramp, not both", rateKey.Line)
		}
		s.Phases = append(s.Phases, ph)
	}) {
		return
	}
	if len(resolve(n).Content) == 0 {
		d.errorf(n, path, "empty; want at least one phase")
	}
	if total := totalDuration(s.Phases); total > MaxRunDuration {
		d.errorf(n, path, "the phases last %v; want at most %v in all", total, MaxRunDuration)
	}
}

// totalDuration adds up the phases' durations, saturating instead of
// overflowing.
func totalDuration(phases []Phase) time.Duration {
	var total time.Duration
	for _, p := range phases {
		if p.Duration > math.MaxInt64-total {
			return math.MaxInt64
		}
		total += max(p.Duration, 0)
	}
	return total
}

func (d *decoder) ramp(n *yaml.Node, path string, ph *Phase) {
	var from, to bool
	if !d.fields(n, path, []string{"from", "to"}, func(key string, k, v *yaml.Node) {
		switch key {
		case "from":
			from = true
			d.rate(v, join(path, key), true, &ph.From)
		case "to":
			to = true
			d.rate(v, join(path, key), true, &ph.To)
		}
	}) {
		return
	}
	if !from {
		d.errorf(n, join(path, "from"), "missing; want the rate at the start such as 10/s")
	}
	if !to {
		d.errorf(n, join(path, "to"), "missing; want the rate at the end such as 100/s")
	}
}

func (d *decoder) mix(n *yaml.Node, path string, m *Mix) {
	*m = Mix{}
	if d.fields(n, path, []string{"update", "get", "delete"}, func(key string, k, v *yaml.Node) {
		p := join(path, key)
		switch key {
		case "update":
			d.integerIn(v, p, 0, MaxMixWeight, &m.Update)
		case "get":
			d.integerIn(v, p, 0, MaxMixWeight, &m.Get)
		case "delete":
			d.integerIn(v, p, 0, MaxMixWeight, &m.Delete)
		}
	}) && m.Total() == 0 {
		if !d.hasErrorUnder(path) {
			d.errorf(n, path, "all weights are zero; want at least one of update, get, delete above zero")
		}
	}
}

// hasErrorUnder reports whether a problem was already recorded at path or
// below it.
func (d *decoder) hasErrorUnder(path string) bool {
	for _, e := range d.errs {
		if e.Field == path || strings.HasPrefix(e.Field, path+".") {
			return true
		}
	}
	return false
}

// payload decodes the payload section.
func (d *decoder) payload(n *yaml.Node, path string, pl *Payload) {
	d.fields(n, path, []string{"qos", "optimistic", "fields"}, func(key string, k, v *yaml.Node) {
		p := join(path, key)
		switch key {
		case "qos":
			q := -1
			d.integer(v, p, 0, &q)
			switch {
			case q == 2:
				d.errorf(v, p, "2: AWS IoT Core does not support QoS 2; want 0 or 1")
			case q > 2:
				d.errorf(v, p, "%d: want 0 or 1", q)
			case q >= 0:
				pl.QoS = q
			}
		case "optimistic":
			d.boolean(v, p, &pl.Optimistic)
		case "fields":
			pl.Fields = nil
			d.pairs(v, p, "a mapping of field names to generators", func(fk, fv *yaml.Node) {
				if f, ok := d.field(fk.Value, fv, join(p, fk.Value)); ok {
					pl.Fields = append(pl.Fields, f)
				}
			})
			if r := resolve(v); r.Kind == yaml.MappingNode && len(r.Content) == 0 {
				d.errorf(v, p, "empty; want at least one field such as seq: {counter: {}}")
			}
		}
	})
}

// field decodes one generator: a mapping with one key, the generator's name,
// whose value holds its parameters.
func (d *decoder) field(name string, n *yaml.Node, path string) (Field, bool) {
	f := Field{Name: name}
	switch {
	case n.Kind == yaml.MappingNode && len(n.Content) != 2:
		d.errorf(n, path, "%d generators; want exactly one such as {float: {min: 0, max: 1}}", len(n.Content)/2)
		return f, false
	case n.Kind != yaml.MappingNode:
		d.errorf(n, path, "got %s; want one generator such as {float: {min: 0, max: 1}}; generators: %s", kindName(n), strings.Join(fieldKindNames, ", "))
		return f, false
	}
	k, v := resolve(n.Content[0]), resolve(n.Content[1])
	kind := 0
	for i, kn := range fieldKindNames {
		if k.Kind == yaml.ScalarNode && k.Value == kn {
			kind = i + 1
		}
	}
	if kind == 0 {
		d.errorf(k, path, "unknown generator %s%s; want one of %s", kindName(k), suggest(k.Value, fieldKindNames), strings.Join(fieldKindNames, ", "))
		return f, false
	}
	f.Kind = FieldKind(kind)
	p := join(path, k.Value)
	before := len(d.errs)
	switch f.Kind {
	case FieldChoice:
		d.list(v, p, "values", func(i int, item *yaml.Node) {
			if c, ok := d.choice(item, index(p, i)); ok {
				f.Choices = append(f.Choices, c)
			}
		})
		if v.Kind == yaml.SequenceNode && len(v.Content) == 0 {
			d.errorf(v, p, "empty; want at least one value")
		}
	case FieldFloat, FieldInt:
		f.Max = 100
		keys := []string{"min", "max"}
		if f.Kind == FieldFloat {
			keys = append(keys, "decimals")
		}
		d.params(v, p, keys, &f)
		if f.Kind == FieldFloat && !d.seenDecimals {
			f.Decimals = max(1, d.literalDecimals)
		}
		if f.Kind == FieldInt && (f.Min != math.Trunc(f.Min) || f.Max != math.Trunc(f.Max)) {
			d.errorf(v, p, "min %v and max %v: want whole numbers", f.Min, f.Max)
		}
		if f.Min > f.Max {
			d.errorf(v, p, "min %v is above max %v", f.Min, f.Max)
		}
	case FieldCounter:
		f.Step = 1
		d.params(v, p, []string{"start", "step"}, &f)
		if f.Start != math.Trunc(f.Start) || f.Step != math.Trunc(f.Step) || math.Abs(f.Start) > 1<<53 || math.Abs(f.Step) > 1<<53 {
			d.errorf(v, p, "start %v and step %v: want whole numbers", f.Start, f.Step)
		}
	case FieldWalk:
		f.Max, f.Step, f.Start = 100, 1, math.NaN()
		d.params(v, p, []string{"start", "step", "min", "max", "decimals"}, &f)
		if !d.seenDecimals {
			f.Decimals = d.literalDecimals
		}
		if math.IsNaN(f.Start) {
			f.Start = f.Min + math.Round((f.Max-f.Min)/2)
		}
		switch {
		case f.Min > f.Max:
			d.errorf(v, p, "min %v is above max %v", f.Min, f.Max)
		case f.Start < f.Min || f.Start > f.Max:
			d.errorf(v, p, "start %v is outside min %v to max %v", f.Start, f.Min, f.Max)
		case f.Step <= 0:
			d.errorf(v, p, "step %v: want a step above zero", f.Step)
		}
	case FieldString:
		f.Bytes = 16
		d.params(v, p, []string{"bytes"}, &f)
	case FieldBool:
		d.params(v, p, nil, &f)
	}
	return f, len(d.errs) == before
}

// params decodes a generator's parameter mapping; an empty value means all
// defaults. It notes whether decimals was given, and the most digits after
// the point among the numbers written.
func (d *decoder) params(n *yaml.Node, path string, keys []string, f *Field) {
	d.seenDecimals, d.literalDecimals = false, 0
	if isNull(n) {
		return
	}
	d.fields(n, path, keys, func(key string, k, v *yaml.Node) {
		p := join(path, key)
		var x float64
		switch key {
		case "decimals":
			d.seenDecimals = true
			d.integer(v, p, 0, &f.Decimals)
			if f.Decimals > 15 {
				d.errorf(v, p, "%d: want at most 15", f.Decimals)
			}
			return
		case "bytes":
			d.integer(v, p, 0, &f.Bytes)
			if f.Bytes > iotcore.MaxPayload {
				d.errorf(v, p, "%d: want at most %d, the AWS message size limit", f.Bytes, iotcore.MaxPayload)
			}
			return
		}
		if !d.number(v, p, &x) {
			return
		}
		if _, frac, ok := strings.Cut(v.Value, "."); ok && allDigits(frac) {
			d.literalDecimals = max(d.literalDecimals, min(len(frac), 15))
		}
		switch key {
		case "min":
			f.Min = x
		case "max":
			f.Max = x
		case "start":
			f.Start = x
		case "step":
			f.Step = x
		}
	})
}

// choice decodes one choice value to its JSON text.
func (d *decoder) choice(n *yaml.Node, path string) (string, bool) {
	s, ok := d.scalar(n, path, "a string, number or boolean")
	if !ok {
		return "", false
	}
	switch n.ShortTag() {
	case "!!int", "!!float":
		var x float64
		if !d.number(n, path, &x) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case "!!bool":
		var b bool
		d.boolean(n, path, &b)
		return strconv.FormatBool(b), true
	}
	return jsonString(s), true
}

// thresholds decodes the metric → expressions mapping. An expression is a
// string, or a mapping with the string under threshold and k6's abortOnFail
// and delayAbortEval.
func (d *decoder) thresholds(n *yaml.Node, path string, s *Scenario) {
	d.pairs(n, path, "a mapping of metric names to threshold expressions", func(k, v *yaml.Node) {
		p := join(path, k.Value)
		if err := checkMetric(k.Value); err != nil {
			d.errorf(k, p, "%v", err)
			return
		}
		d.metricKeys = append(d.metricKeys, k)
		add := func(e *yaml.Node, ep string) {
			spec := ThresholdSpec{Metric: k.Value}
			exprNode := e
			if e.Kind == yaml.MappingNode {
				exprNode = nil
				d.fields(e, ep, []string{"threshold", "abortOnFail", "delayAbortEval"}, func(key string, _, fv *yaml.Node) {
					switch key {
					case "threshold":
						exprNode = fv
					case "abortOnFail":
						d.boolean(fv, join(ep, key), &spec.AbortOnFail)
					case "delayAbortEval":
						d.durationUpTo(fv, join(ep, key), true, MaxRunDuration, &spec.DelayAbortEval)
					}
				})
				if exprNode == nil {
					d.errorf(e, join(ep, "threshold"), "missing; want an expression such as p(99)<250ms")
					return
				}
				ep = join(ep, "threshold")
			}
			if expr, ok := d.scalar(exprNode, ep, "a threshold expression such as p(99)<250ms, or {threshold: EXPR, abortOnFail: true}"); ok {
				spec.Expr, spec.Line, spec.Column = expr, exprNode.Line, exprNode.Column
				if err := checkThreshold(spec); err != nil {
					d.errorf(exprNode, ep, "%v", err)
				}
				s.Thresholds = append(s.Thresholds, spec)
			}
		}
		if v.Kind == yaml.SequenceNode {
			d.list(v, p, "expressions", func(i int, e *yaml.Node) { add(e, index(p, i)) })
			if len(v.Content) == 0 {
				d.errorf(v, p, "empty; want at least one expression")
			}
			return
		}
		add(v, p)
	})
}

// knownMetrics reports threshold metrics that no run of the scenario
// records, with the closest known name or phase, so a typo such as
// update.acepted fails here rather than after the run.
func (d *decoder) knownMetrics(s *Scenario) {
	known := s.MetricNames()
	whole := make([]string, 0, len(known))
	set := make(map[string]bool, len(known))
	for _, name := range known {
		set[name] = true
		if _, _, scoped := metrics.SplitScope(name); !scoped {
			whole = append(whole, name)
		}
	}
	phases := make([]string, len(s.Phases))
	for i, p := range s.Phases {
		phases[i] = p.Name
	}
	for _, k := range d.metricKeys {
		name := k.Value
		if set[name] {
			continue
		}
		metric, phase, scoped := metrics.SplitScope(name)
		field := join("thresholds", name)
		switch {
		case scoped && !contains(phases, phase):
			d.errorf(k, field, "phase %q is not a phase of this scenario%s; phases: %s", phase, suggest(phase, phases), strings.Join(phases, ", "))
		case scoped:
			d.errorf(k, field, "metric %q is not recorded per phase%s; see docs/metrics.md", metric, suggest(metric, scopedBases(known)))
		default:
			d.errorf(k, field, "unknown metric %q%s; see docs/metrics.md for the metrics a run records", name, suggest(name, whole))
		}
	}
}

// scopedBases lists the metrics that have phase-scoped variants.
func scopedBases(known []string) []string {
	var out []string
	for _, name := range known {
		if m, _, ok := metrics.SplitScope(name); ok && !contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// validity decodes the bounds a run must keep to be judged.
func (d *decoder) validity(n *yaml.Node, path string, v *load.Validity) {
	keys := []string{"timeouts", "lost_connections", "skipped", "late", "fanout_loss", "violations", "lost_writes"}
	d.fields(n, path, keys, func(key string, _, val *yaml.Node) {
		p := join(path, key)
		switch key {
		case "timeouts":
			d.percent(val, p, &v.Timeouts)
		case "lost_connections":
			d.percent(val, p, &v.LostConnections)
		case "skipped":
			d.percent(val, p, &v.Skipped)
		case "late":
			d.percent(val, p, &v.Late)
		case "fanout_loss":
			d.percent(val, p, &v.FanoutLoss)
		case "violations", "lost_writes":
			x := -1
			d.integer(val, p, 0, &x)
			if x >= 0 && key == "violations" {
				v.Violations = int64(x)
			} else if x >= 0 {
				v.LostWrites = int64(x)
			}
		}
	})
}
