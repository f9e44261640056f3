package mqttc

import (
	"context"
	"fmt"
	"strings"

	"github.com/eclipse/paho.golang/paho"
)

// SubscribeAll sends one SUBSCRIBE of filters at qos and fails, naming
// each refused filter with its reason, when the SUBACK refuses any.
func (c *Client) SubscribeAll(ctx context.Context, qos byte, filters ...string) error {
	sub := &paho.Subscribe{}
	for _, f := range filters {
		sub.Subscriptions = append(sub.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: qos})
	}
	sa, err := c.Subscribe(ctx, sub)
	if sa == nil {
		return fmt.Errorf("subscribe: %w", err)
	}
	var refused []string
	for i, rc := range sa.Reasons {
		if rc >= 0x80 && i < len(filters) {
			refused = append(refused, fmt.Sprintf("%q: %s", filters[i], ReasonString(rc)))
		}
	}
	if len(refused) > 0 {
		return fmt.Errorf("subscribe refused %s", strings.Join(refused, ", "))
	}
	return nil
}
