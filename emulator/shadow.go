package emulator

import (
	"fmt"
	"log/slog"

	mqtt "github.com/mochi-mqtt/server/v2"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc"
	"github.com/shadowload/shadowload/internal/iotcore"
	"github.com/shadowload/shadowload/internal/latency"
)

// shadowConfig maps the emulator's config to the shadow service's.
func shadowConfig(cfg Config) shadowsvc.Config {
	sc := shadowsvc.Config{DataDir: cfg.DataDir, Latency: cfg.Latency, Stall: cfg.Stall}
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

// brokerPublisher publishes the shadow service's responses through the
// broker's inline client, at QoS 1 so that each subscriber gets the QoS it
// subscribed with; deliveries still pass each subscriber's iot:Receive check.
type brokerPublisher struct {
	srv *mqtt.Server
	log *slog.Logger
}

// Publish publishes one response.
func (p brokerPublisher) Publish(topic string, payload []byte) {
	if err := p.srv.Publish(topic, payload, false, 1); err != nil {
		p.log.Debug("shadow response not published", "topic", topic, "error", err)
	}
}

// serviceRouter adapts a shadowsvc.Service to shadowRouter.
type serviceRouter struct{ svc *shadowsvc.Service }

func (r serviceRouter) newConn() shadowConn { return new(shadowsvc.Conn) }

func (r serviceRouter) handle(c shadowConn, topic string, payload []byte) bool {
	conn, _ := c.(*shadowsvc.Conn)
	return r.svc.Handle(conn, topic, payload)
}

func (r serviceRouter) close() error { return r.svc.Close() }

// newShadowRouter starts the shadow service, publishing through srv.
func newShadowRouter(cfg Config, srv *mqtt.Server) (shadowRouter, error) {
	svc, err := shadowsvc.New(shadowConfig(cfg), brokerPublisher{srv: srv, log: cfg.Logger})
	if err != nil {
		return nil, fmt.Errorf("emulator: shadow service: %w", err)
	}
	return serviceRouter{svc: svc}, nil
}
