package emulator

import (
	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/internal/policy"
)

// AllowSubscribe checks iot:Subscribe on one topic filter. Wildcards in a
// filter are literal characters to the policy.
func (h *awsSide) AllowSubscribe(c *broker.Client, filter string) bool {
	cs := stateOf(c)
	if cs == nil || !cs.allowed(h.reg, policy.Subscribe, filter) {
		h.deniedSubscribes.Add(1)
		return false
	}
	return true
}

// AllowReceive checks iot:Receive on the topic of one delivery: a policy
// revoked meanwhile stops live subscriptions. It does not allocate.
func (h *awsSide) AllowReceive(c *broker.Client, topic string) bool {
	cs := stateOf(c)
	return cs != nil && cs.allowed(h.reg, policy.Receive, topic)
}
