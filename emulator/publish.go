package emulator

import (
	"strings"

	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/internal/policy"
)

// eventsPrefix starts the lifecycle event topics, which only AWS publishes.
const eventsPrefix = "$aws/events/"

// Publish checks iot:Publish on the topic, and iot:RetainPublish for a
// retained publish. Nobody but the broker publishes lifecycle events.
func (h *awsSide) Publish(c *broker.Client, topic string, retain bool) broker.DisconnectReason {
	cs := stateOf(c)
	denial := broker.ReasonAuthError
	if cs != nil && !strings.HasPrefix(topic, eventsPrefix) {
		denial = cs.denial(h.reg, policy.Publish, topic)
		if denial == 0 && retain {
			denial = cs.denial(h.reg, policy.RetainPublish, topic)
		}
	}
	if denial != 0 {
		h.deniedPublishes.Add(1)
	}
	return denial
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
