package emulator

import (
	"strings"

	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/internal/policy"
)

// eventsPrefix starts the lifecycle event topics, which only AWS publishes.
const eventsPrefix = "$aws/events/"

// AllowPublish checks iot:Publish on the topic, and iot:RetainPublish for a
// retained publish. Nobody but the broker publishes lifecycle events.
func (h *awsSide) AllowPublish(c *broker.Client, topic string, retain bool) bool {
	cs := stateOf(c)
	if cs == nil || strings.HasPrefix(topic, eventsPrefix) ||
		!cs.allowed(h.reg, policy.Publish, topic) ||
		retain && !cs.allowed(h.reg, policy.RetainPublish, topic) {
		h.deniedPublishes.Add(1)
		return false
	}
	return true
}

// Published hands a client publish to the shadow service.
func (h *awsSide) Published(c *broker.Client, topic string, payload []byte) {
	if h.shadow == nil || !strings.HasPrefix(topic, "$aws/things/") {
		return
	}
	if cs := stateOf(c); cs != nil {
		h.shadow.handle(cs.shadow, topic, payload)
	}
}
