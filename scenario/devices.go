package scenario

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/load"
	"go.yaml.in/yaml/v3"
)

// The protocols a fleet's things may speak, as scenario files name them.
const (
	ProtocolMQTT5   = "mqtt5"
	ProtocolMQTT311 = "mqtt311"
)

// ParseProtocolMix reads a protocol mix written as one protocol ("mqtt5",
// "mqtt311") or weighted protocols ("mqtt5:70,mqtt311:30"), as --protocol
// takes it.
func ParseProtocolMix(s string) (load.ProtocolMix, error) {
	var m load.ProtocolMix
	seen := map[string]bool{}
	for _, part := range strings.Split(s, ",") {
		name, weight, weighted := strings.Cut(strings.TrimSpace(part), ":")
		w := 1
		if weighted {
			n, err := strconv.Atoi(weight)
			if err != nil || n < 0 || n > MaxMixWeight {
				return m, fmt.Errorf("protocol %q: weight %q: want a whole number from 0 to %d", s, weight, MaxMixWeight)
			}
			w = n
		}
		if seen[name] {
			return m, fmt.Errorf("protocol %q: %s given twice", s, name)
		}
		seen[name] = true
		switch name {
		case ProtocolMQTT5:
			m[load.MQTT5] = float64(w)
		case ProtocolMQTT311:
			m[load.MQTT311] = float64(w)
		default:
			return m, fmt.Errorf("protocol %q: %q: want mqtt5 or mqtt311, or weights such as mqtt5:70,mqtt311:30%s", s, name, suggest(name, []string{ProtocolMQTT5, ProtocolMQTT311}))
		}
	}
	if m[load.MQTT5]+m[load.MQTT311] == 0 {
		return m, fmt.Errorf("protocol %q: every weight is zero", s)
	}
	return m, nil
}

// Session says how things keep their MQTT sessions.
type Session int

// The session kinds.
const (
	// SessionClean starts a new session at every connect and keeps
	// nothing after a disconnect (Clean Start 1, cleanSession 1).
	SessionClean Session = iota
	// SessionPersistent resumes the session the broker kept, with its
	// subscriptions and the QoS 1 messages that came while the thing was
	// away (Clean Start 0 with a Session Expiry Interval, cleanSession 0).
	SessionPersistent
)

// String names the session kind as scenario files do.
func (s Session) String() string {
	if s == SessionPersistent {
		return "persistent"
	}
	return "clean"
}

// DefaultSessionExpiry is how long a persistent session outlives its
// connection: AWS's account default, which also bounds what an MQTT 5
// client may ask.
const DefaultSessionExpiry = iotcore.DefaultSessionExpiry

// DefaultOffline is how long a thing that churn or a storm disconnected
// stays away before it reconnects.
const DefaultOffline = 5 * time.Second

// ParseChurnRate reads a share of the fleet per unit of time, such as
// "5%/min", "1%/s" or "30%/h", as a share per minute.
func ParseChurnRate(s string) (float64, error) {
	pct, unit, ok := strings.Cut(strings.TrimSpace(s), "%/")
	if ok {
		per := map[string]float64{"s": 60, "m": 1, "min": 1, "h": 1.0 / 60}[unit]
		v, err := strconv.ParseFloat(pct, 64)
		if err == nil && per > 0 && v >= 0 && v <= 100 {
			return v / 100 * per, nil
		}
	}
	return 0, fmt.Errorf("%q: want a share of the fleet per time such as 5%%/min, 1%%/s or 30%%/h, at most 100%%", s)
}

// protocol decodes fleet.protocol: a protocol name, or a mapping of
// protocol names to weights.
func (d *decoder) protocol(n *yaml.Node, path string, m *load.ProtocolMix) {
	names := []string{ProtocolMQTT5, ProtocolMQTT311}
	if n.Kind == yaml.ScalarNode {
		if name, ok := d.oneOf(n, path, names); ok {
			*m = load.ProtocolMix{}
			if name == ProtocolMQTT5 {
				m[load.MQTT5] = 1
			} else {
				m[load.MQTT311] = 1
			}
		}
		return
	}
	var mix load.ProtocolMix
	if !d.fields(n, path, names, func(key string, _, v *yaml.Node) {
		p := join(path, key)
		w := 0
		d.integerIn(v, p, 0, MaxMixWeight, &w)
		if key == ProtocolMQTT5 {
			mix[load.MQTT5] = float64(w)
		} else {
			mix[load.MQTT311] = float64(w)
		}
	}) {
		return
	}
	if mix[load.MQTT5]+mix[load.MQTT311] == 0 && !d.hasErrorUnder(path) {
		d.errorf(n, path, "all weights are zero; want mqtt5, mqtt311 or weights such as {mqtt5: 70, mqtt311: 30}")
		return
	}
	*m = mix
}

// churn decodes a phase's churn: a rate such as 5%/min, or a mapping with
// rate, mode and offline.
func (d *decoder) churn(n *yaml.Node, path string, c *load.Churn) {
	*c = load.Churn{Offline: DefaultOffline}
	rate := func(v *yaml.Node, p string) {
		if s, ok := d.scalar(v, p, "a share of the fleet per minute such as 5%/min"); ok {
			r, err := ParseChurnRate(s)
			if err != nil {
				d.errorf(v, p, "%v", err)
			}
			c.PerMinute = r
		}
	}
	if n.Kind == yaml.ScalarNode {
		rate(n, path)
		return
	}
	var rateSeen bool
	if d.fields(n, path, []string{"rate", "mode", "offline"}, func(key string, _, v *yaml.Node) {
		p := join(path, key)
		switch key {
		case "rate":
			rateSeen = true
			rate(v, p)
		case "mode":
			d.mode(v, p, &c.Graceful)
		case "offline":
			d.duration(v, p, true, &c.Offline)
		}
	}) && !rateSeen {
		d.errorf(n, join(path, "rate"), "missing; want a share of the fleet per minute such as 5%%/min")
	}
}

// storm decodes a phase's storm: a share such as 100%, or a mapping with
// share, mode and offline.
func (d *decoder) storm(n *yaml.Node, path string, s *load.Storm) {
	*s = load.Storm{Offline: DefaultOffline}
	if n.Kind == yaml.ScalarNode {
		d.percent(n, path, &s.Share)
		return
	}
	var shareSeen bool
	if d.fields(n, path, []string{"share", "mode", "offline"}, func(key string, _, v *yaml.Node) {
		p := join(path, key)
		switch key {
		case "share":
			shareSeen = true
			d.percent(v, p, &s.Share)
		case "mode":
			d.mode(v, p, &s.Graceful)
		case "offline":
			d.duration(v, p, true, &s.Offline)
		}
	}) && !shareSeen {
		d.errorf(n, join(path, "share"), "missing; want the share of the fleet to disconnect such as 100%%")
	}
}

// mode decodes graceful or ungraceful.
func (d *decoder) mode(n *yaml.Node, path string, graceful *bool) {
	if m, ok := d.oneOf(n, path, []string{"graceful", "ungraceful"}); ok {
		*graceful = m == "graceful"
	}
}

// session decodes fleet.session.
func (d *decoder) session(n *yaml.Node, path string, s *Session) {
	if v, ok := d.oneOf(n, path, []string{"clean", "persistent"}); ok {
		*s = SessionClean
		if v == "persistent" {
			*s = SessionPersistent
		}
	}
}
