package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shadowload/shadowload/internal/mqttc"
)

func runSub(e *env, args []string) error {
	fs := newFlagSet(e, "sub",
		"shadowload sub --bundle DIR [flags] FILTER...",
		`Subscribe to one or more topic filters and print every message as
"TOPIC PAYLOAD", one per line, until Ctrl-C, --count messages or --for has
passed: the AWS console's MQTT test client, on the command line.`,
		`  shadowload sub --bundle bundles/sim-00000 '$aws/things/sim-00000/shadow/update/+'
  shadowload sub --bundle bundles/observer-00 '$aws/things/+/shadow/update/documents' --count 10
  shadowload sub --bundle bundles/observer-00 '#' --for 30s`)
	cf := addClientFlags(fs)
	qos := fs.Int("qos", 1, "subscription QoS: 0 or 1")
	count := fs.Int("count", 0, "exit after this many messages (0: no limit)")
	wait := fs.Duration("for", 0, "exit after this long (0: until Ctrl-C)")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usagef("sub: give at least one topic filter")
	}
	if *qos != 0 && *qos != 1 {
		return usagef("sub: --qos %d: AWS IoT Core supports 0 and 1", *qos)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *wait > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *wait)
		defer cancel()
	}
	msgs := make(chan *paho.Publish, 256)
	disconnected := make(chan *paho.Disconnect, 1)
	c, _, err := cf.dial(ctx, "sub", func(p *paho.Publish) { msgs <- p }, func(d *paho.Disconnect) { disconnected <- d })
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SubscribeAll(ctx, byte(*qos), fs.Args()...); err != nil {
		return err
	}
	n := 0
	for {
		select {
		case p := <-msgs:
			fmt.Fprintf(e.stdout, "%s %s\n", p.Topic, p.Payload)
			n++
			if *count > 0 && n >= *count {
				return nil
			}
		case d := <-disconnected:
			return serverClosed(d)
		case <-c.Done():
			// The client may report the closed connection before the
			// DISCONNECT that explains it.
			select {
			case d := <-disconnected:
				return serverClosed(d)
			case <-time.After(disconnectGrace):
			}
			return fmt.Errorf("sub: the connection closed")
		case <-ctx.Done():
			return nil
		}
	}
}

// disconnectGrace is how long sub waits, once its connection has closed,
// for the server's DISCONNECT naming the reason.
const disconnectGrace = 200 * time.Millisecond

// serverClosed is sub's error for a DISCONNECT from the server.
func serverClosed(d *paho.Disconnect) error {
	return fmt.Errorf("sub: the server closed the connection: DISCONNECT %s", mqttc.ReasonString(d.ReasonCode))
}

func runPub(e *env, args []string) error {
	fs := newFlagSet(e, "pub",
		"shadowload pub --bundle DIR [flags] TOPIC PAYLOAD",
		`Publish one message. With QoS 1 it waits for the PUBACK and fails when the
broker refuses it (for example 0x87 Not authorized under the thing's policy).`,
		`  shadowload pub --bundle bundles/sim-00000 '$aws/things/sim-00000/shadow/update' '{"state":{"reported":{"on":true}}}'
  shadowload pub --bundle bundles/sim-00000 --qos 0 sensors/sim-00000 '{"t":21.5}'`)
	cf := addClientFlags(fs)
	qos := fs.Int("qos", 1, "QoS: 0 or 1")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usagef("pub: want TOPIC and PAYLOAD, got %d arguments", fs.NArg())
	}
	if *qos != 0 && *qos != 1 {
		return usagef("pub: --qos %d: AWS IoT Core supports 0 and 1", *qos)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *cf.timeout)
	defer cancel()
	c, _, err := cf.dial(ctx, "pub", nil, nil)
	if err != nil {
		return err
	}
	defer c.Close()
	resp, err := c.Publish(ctx, &paho.Publish{Topic: fs.Arg(0), QoS: byte(*qos), Payload: []byte(fs.Arg(1))})
	if err != nil {
		if resp != nil {
			return fmt.Errorf("pub: refused: %s", mqttc.ReasonString(resp.ReasonCode))
		}
		return fmt.Errorf("pub: %w", err)
	}
	if *qos == 1 {
		fmt.Fprintf(e.stderr, "published (PUBACK %s)\n", mqttc.ReasonString(resp.ReasonCode))
	}
	// Give a QoS 0 publish time to leave before DISCONNECT.
	time.Sleep(10 * time.Millisecond)
	return nil
}
