package awsdata

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
)

// shadowQuery names a named shadow; the classic shadow has no query.
func shadowQuery(shadowName string) url.Values {
	if shadowName == "" {
		return nil
	}
	return url.Values{"name": {shadowName}}
}

// GetThingShadow returns the shadow document of the thing's classic
// shadow (shadowName "") or of a named one.
func (c *Client) GetThingShadow(ctx context.Context, thing, shadowName string) ([]byte, error) {
	return c.do(ctx, request{op: "GetThingShadow", method: http.MethodGet,
		labels: []string{"things", thing, "shadow"}, query: shadowQuery(shadowName)})
}

// UpdateThingShadow sends an update request document and returns the
// update/accepted document.
func (c *Client) UpdateThingShadow(ctx context.Context, thing, shadowName string, payload []byte) ([]byte, error) {
	return c.do(ctx, request{op: "UpdateThingShadow", method: http.MethodPost,
		labels: []string{"things", thing, "shadow"}, query: shadowQuery(shadowName), body: payload})
}

// DeleteThingShadow deletes the shadow and returns the delete/accepted
// document, {"version":N,"timestamp":T}.
func (c *Client) DeleteThingShadow(ctx context.Context, thing, shadowName string) ([]byte, error) {
	return c.do(ctx, request{op: "DeleteThingShadow", method: http.MethodDelete,
		labels: []string{"things", thing, "shadow"}, query: shadowQuery(shadowName)})
}

// NamedShadowPage is one page of ListNamedShadowsForThing.
type NamedShadowPage struct {
	// Results are shadow names; the classic shadow is never listed.
	Results []string `json:"results"`
	// NextToken asks for the next page; "" on the last.
	NextToken string `json:"nextToken"`
	// Timestamp is the time of the answer, in Unix seconds.
	Timestamp int64 `json:"timestamp"`
}

// ListNamedShadowsForThing returns one page of the thing's named shadows:
// pageSize 1 to 100 (0 leaves it to the service), nextToken "" for the
// first page.
func (c *Client) ListNamedShadowsForThing(ctx context.Context, thing, nextToken string, pageSize int) (NamedShadowPage, error) {
	q := url.Values{}
	if nextToken != "" {
		q.Set("nextToken", nextToken)
	}
	if pageSize > 0 {
		q.Set("pageSize", strconv.Itoa(pageSize))
	}
	body, err := c.do(ctx, request{op: "ListNamedShadowsForThing", method: http.MethodGet,
		labels: []string{"api", "things", "shadow", "ListNamedShadowsForThing", thing}, query: q})
	if err != nil {
		return NamedShadowPage{}, err
	}
	var page NamedShadowPage
	if err := json.Unmarshal(body, &page); err != nil {
		return NamedShadowPage{}, fmt.Errorf("awsdata: ListNamedShadowsForThing: decode %q: %w", body, err)
	}
	return page, nil
}

// AllNamedShadows follows ListNamedShadowsForThing's pages and returns
// every named shadow of the thing.
func (c *Client) AllNamedShadows(ctx context.Context, thing string) ([]string, error) {
	var names []string
	token := ""
	for {
		page, err := c.ListNamedShadowsForThing(ctx, thing, token, 100)
		if err != nil {
			return names, err
		}
		names = append(names, page.Results...)
		if page.NextToken == "" || page.NextToken == token {
			return names, nil
		}
		token = page.NextToken
	}
}

// PublishInput is a message to publish over HTTP.
type PublishInput struct {
	// Topic is the topic name; any characters, escaped on the way.
	Topic string
	// Payload is the message body; may be empty.
	Payload []byte
	// QoS is 0 or 1.
	QoS int
	// Retain asks the broker to keep the message for later subscribers.
	Retain bool
	// UserProperties are MQTT 5 user properties, in order.
	UserProperties []map[string]string
}

// Publish publishes a message through the message broker.
func (c *Client) Publish(ctx context.Context, in PublishInput) error {
	q := url.Values{}
	if in.QoS != 0 {
		q.Set("qos", strconv.Itoa(in.QoS))
	}
	if in.Retain {
		q.Set("retain", "true")
	}
	h := http.Header{}
	if len(in.UserProperties) > 0 {
		props, err := json.Marshal(in.UserProperties)
		if err != nil {
			return fmt.Errorf("awsdata: Publish: user properties: %w", err)
		}
		h.Set("X-Amz-Mqtt5-User-Properties", base64.StdEncoding.EncodeToString(props))
	}
	_, err := c.do(ctx, request{op: "Publish", method: http.MethodPost,
		labels: []string{"topics", in.Topic}, query: q, header: h, body: in.Payload})
	return err
}

// DeleteConnection disconnects the MQTT client with the given client ID:
// cleanSession also ends its persistent session, preventWill keeps its
// Last Will from being published.
func (c *Client) DeleteConnection(ctx context.Context, clientID string, cleanSession, preventWill bool) error {
	q := url.Values{}
	if cleanSession {
		q.Set("cleanSession", "true")
	}
	if preventWill {
		q.Set("preventWillMessage", "true")
	}
	_, err := c.do(ctx, request{op: "DeleteConnection", method: http.MethodDelete,
		labels: []string{"connections", clientID}, query: q})
	return err
}
