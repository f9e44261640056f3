package emulator

import (
	"fmt"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc"
	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/latency"
)

// shadowConfig maps the emulator's config to the shadow service's.
func shadowConfig(cfg Config) shadowsvc.Config {
	sc := shadowsvc.Config{DataDir: cfg.DataDir, Durability: shadowsvc.Durability(cfg.Durability), Latency: cfg.Latency, Stall: cfg.Stall}
	if cfg.Limits != LimitsNone {
		sc.RequestsPerSecond = iotcore.ShadowRequestsPerSecond
		sc.InFlightPerConn = iotcore.ShadowInFlightPerConnection
	}
	return sc
}

// validateShadowConfig checks the calibration specs before anything starts.
func validateShadowConfig(cfg Config) error {
	if _, err := latency.Parse(cfg.Latency); err != nil {
		return fmt.Errorf("emulator: latency %q: %w", cfg.Latency, err)
	}
	if _, err := shadowsvc.ParseStall(cfg.Stall); err != nil {
		return fmt.Errorf("emulator: stall %q: %w", cfg.Stall, err)
	}
	return nil
}

// serviceRouter adapts a shadowsvc.Service to shadowRouter.
type serviceRouter struct{ svc *shadowsvc.Service }

func (r serviceRouter) newConn() shadowConn { return new(shadowsvc.Conn) }

func (r serviceRouter) handle(c shadowConn, topic string, payload []byte) bool {
	conn, _ := c.(*shadowsvc.Conn)
	return r.svc.Handle(conn, topic, payload)
}

func (r serviceRouter) close() error { return r.svc.Close() }

func (r serviceRouter) recovered() string { return r.svc.Recovered().String() }

// newShadowRouter starts the shadow service, publishing through pub: the
// broker, whose Publish sends at QoS 1 (each subscriber gets the QoS it
// subscribed with), checks each subscriber's iot:Receive and never blocks.
func newShadowRouter(cfg Config, pub shadowsvc.Publisher) (shadowRouter, error) {
	svc, err := shadowsvc.New(shadowConfig(cfg), pub)
	if err != nil {
		return nil, fmt.Errorf("emulator: shadow service: %w", err)
	}
	return serviceRouter{svc: svc}, nil
}
