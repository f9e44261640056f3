package emulator

import (
	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/internal/policy"
)

// Subscribe checks iot:Subscribe on one topic filter. Wildcards in a
// filter are literal characters to the policy.
func (h *awsSide) Subscribe(c *broker.Client, filter string) broker.DisconnectReason {
	cs := stateOf(c)
	denial := broker.ReasonAuthError
	if cs != nil {
		denial = cs.denial(h.reg, policy.Subscribe, filter)
	}
	if denial != 0 {
		h.deniedSubscribes.Add(1)
	}
	return denial
}

// AllowReceive checks iot:Receive on the topic of one delivery: a policy
// revoked meanwhile stops live subscriptions. It does not allocate.
func (h *awsSide) AllowReceive(c *broker.Client, topic string) bool {
	cs := stateOf(c)
	return cs != nil && cs.allowed(h.reg, policy.Receive, topic)
}
