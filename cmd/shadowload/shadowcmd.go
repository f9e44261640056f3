package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shadowload/shadowload/shadow"
)

// shadowReplyError is a rejected shadow request: exit 1, the document printed.
type shadowReplyError struct{ code int }

func (e shadowReplyError) Error() string { return "" }
func (e shadowReplyError) ExitCode() int { return exitFailed }

func runShadow(e *env, args []string) error {
	fs := newFlagSet(e, "shadow",
		"shadowload shadow get|update|delete --bundle DIR [--name SHADOW] [JSON]",
		`Send one Device Shadow request over MQTT and print the reply document: it
subscribes to the operation's accepted and rejected topics, publishes the
request with a fresh clientToken and waits for the matching reply. A
rejection (404, 409, 413, 400…) prints the error document and exits 1.

update takes the request document, e.g. '{"state":{"desired":{"on":true}}}';
get and delete take an optional body such as '{"version":3}'.`,
		`  shadowload shadow update --bundle bundles/sim-00000 '{"state":{"reported":{"on":true}}}'
  shadowload shadow get --bundle bundles/sim-00000
  shadowload shadow get --bundle bundles/sim-00000 --name config
  shadowload shadow delete --bundle bundles/sim-00000`)
	cf := addClientFlags(fs)
	name := fs.String("name", "", "named shadow (default the classic shadow)")
	thing := fs.String("thing", "", "thing whose shadow to use (default the bundle's thing)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() < 1 {
		return usagef("shadow: want an operation: get, update or delete")
	}
	var op shadow.Op
	switch fs.Arg(0) {
	case "get":
		op = shadow.OpGet
	case "update":
		op = shadow.OpUpdate
	case "delete":
		op = shadow.OpDelete
	default:
		return usagef("shadow: operation %q: want get, update or delete", fs.Arg(0))
	}
	body := "{}"
	switch {
	case fs.NArg() == 2:
		body = fs.Arg(1)
	case fs.NArg() > 2:
		return usagef("shadow: want one JSON document, got %d arguments", fs.NArg()-1)
	case op == shadow.OpUpdate:
		return usagef(`shadow update: want the request document, e.g. '{"state":{"reported":{"on":true}}}'`)
	}
	if *name != "" {
		if err := shadow.ValidateShadowName(*name); err != nil {
			return usagef("shadow: --name: %v", err)
		}
	}
	token, payload, err := withClientToken(body)
	if err != nil {
		return usagef("shadow: %v", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), *cf.timeout)
	defer cancel()
	replies := make(chan *paho.Publish, 16)
	c, b, err := cf.dial(ctx, "shadow", func(p *paho.Publish) { replies <- p }, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	th := *thing
	if th == "" {
		th = b.Thing
	}
	req := shadow.Topic{Thing: th, Shadow: *name, Op: op, Kind: shadow.KindRequest}
	if err := c.SubscribeAll(ctx, 1, req.Reply(shadow.KindAccepted).String(), req.Reply(shadow.KindRejected).String()); err != nil {
		return err
	}
	if _, err := c.Publish(ctx, &paho.Publish{Topic: req.String(), QoS: 1, Payload: payload}); err != nil {
		return fmt.Errorf("shadow: publish %s: %w", req, err)
	}
	for {
		select {
		case p := <-replies:
			r, err := shadow.ParseReply(p.Payload)
			if err != nil || r.ClientToken != token {
				continue
			}
			fmt.Fprintf(e.stdout, "%s\n", p.Payload)
			if r.Code != 0 {
				fmt.Fprintf(e.stderr, "shadow: %s rejected: %d %s\n", fs.Arg(0), r.Code, r.Message)
				return shadowReplyError{r.Code}
			}
			return nil
		case <-ctx.Done():
			return fmt.Errorf("shadow: no reply on %s within %v", req.Reply(shadow.KindAccepted), *cf.timeout)
		}
	}
}

// withClientToken returns the request body with a clientToken: the one it
// has, or a fresh random one added.
func withClientToken(body string) (string, []byte, error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		return "", nil, fmt.Errorf("the request body is not a JSON object: %v", err)
	}
	if raw, ok := doc["clientToken"]; ok {
		var tok string
		if err := json.Unmarshal(raw, &tok); err != nil {
			return "", nil, fmt.Errorf("clientToken must be a string")
		}
		return tok, []byte(body), nil
	}
	var b [8]byte
	_, _ = rand.Read(b[:])
	tok := "shadowload-" + hex.EncodeToString(b[:])
	doc["clientToken"], _ = json.Marshal(tok)
	out, err := json.Marshal(doc)
	return tok, out, err
}
