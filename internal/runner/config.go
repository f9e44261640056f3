package runner

import (
	"encoding/json"

	"github.com/shadowload/shadowload/internal/load"
	"github.com/shadowload/shadowload/scenario"
)

// engineConfig maps the scenario onto the load engine's configuration, for
// the target's connections and identities.
func engineConfig(s *scenario.Scenario, gen *scenario.Generator, t *target) load.Config {
	cfg := load.Config{
		Transport:         t.transport,
		Things:            t.things,
		Observers:         t.observers,
		ConnectRate:       float64(s.Fleet.ConnectRate),
		KeepAlive:         s.Fleet.KeepAlive,
		Protocols:         s.Fleet.Protocol,
		Persistent:        s.Fleet.Session == scenario.SessionPersistent,
		SessionExpiry:     s.Fleet.SessionExpiry,
		QoS:               byte(s.Payload.QoS),
		Optimistic:        s.Payload.Optimistic,
		Timeout:           s.Timeout,
		InFlight:          s.InFlight,
		Verify:            s.Verify,
		HashMatchesDollar: s.Target.HashMatchesDollar,
		Fields: func(int) load.FieldsFunc {
			return func(dst []byte, thing int) []byte { return gen.AppendFields(dst, thing, nil) }
		},
	}
	for _, sh := range s.Fleet.Shadows {
		if sh == scenario.ClassicShadow {
			sh = ""
		}
		cfg.Shadows = append(cfg.Shadows, sh)
	}
	for _, p := range s.Phases {
		spec := load.PhaseSpec{
			Phase:          load.Phase{Name: p.Name, Duration: p.Duration, From: float64(p.From), To: float64(p.To)},
			Mix:            load.Mix{load.OpUpdate: float64(p.Mix.Update), load.OpGet: float64(p.Mix.Get), load.OpDelete: float64(p.Mix.Delete)},
			RespondToDelta: p.RespondToDelta,
			Churn:          p.Churn,
			Storm:          p.Storm,
		}
		switch p.Write {
		case scenario.SectionDesired:
			spec.Write = load.WriteDesired
		case scenario.SectionBoth:
			spec.Write = load.WriteBoth
		}
		cfg.Phases = append(cfg.Phases, spec)
	}
	return cfg
}

// record is what a report keeps of the scenario it ran.
func record(s *scenario.Scenario) json.RawMessage {
	phases := make([]map[string]any, len(s.Phases))
	for i, p := range s.Phases {
		phases[i] = map[string]any{
			"name": p.Name, "duration": p.Duration.String(), "from": p.From.String(), "to": p.To.String(),
			"mix":   map[string]int{"update": p.Mix.Update, "get": p.Mix.Get, "delete": p.Mix.Delete},
			"write": p.Write.String(), "respond_to_delta": p.RespondToDelta,
		}
		if p.Churn.PerMinute > 0 {
			phases[i]["churn"] = map[string]any{"per_minute": p.Churn.PerMinute, "graceful": p.Churn.Graceful, "offline": p.Churn.Offline.String()}
		}
		if p.Storm.Share > 0 {
			phases[i]["storm"] = map[string]any{"share": p.Storm.Share, "graceful": p.Storm.Graceful, "offline": p.Storm.Offline.String()}
		}
	}
	observers := make([]map[string]any, len(s.Observers))
	for i, o := range s.Observers {
		observers[i] = map[string]any{"name": o.Name, "count": o.Count, "filters": o.Filters, "offline_writes": o.OfflineWrites}
	}
	b, _ := json.Marshal(map[string]any{
		"name": s.Name, "source": s.Source, "endpoint": s.Target.Endpoint,
		"limits": string(s.Target.Emulator.Limits), "latency": s.Target.Emulator.Latency.String(),
		"things": s.Fleet.Things, "shadows": s.Fleet.Shadows, "connect_rate": s.Fleet.ConnectRate.String(),
		"protocol": s.Fleet.Protocol.String(), "session": s.Fleet.Session.String(), "keep_alive": s.Fleet.KeepAlive.String(),
		"observers": observers, "phases": phases, "qos": s.Payload.QoS, "optimistic": s.Payload.Optimistic,
		"timeout": s.Timeout.String(), "in_flight": s.InFlight, "verify": s.Verify,
		"validity": s.Validity,
	})
	return b
}
