package emulator

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/load"
	loadmqtt "github.com/shadowload/shadowload/internal/load/mqtt"
)

// TestFanoutOverloadDoesNotStallShadows reproduces the fan-out overload that
// deadlocked the broker the emulator had before: wildcard observers on
// $aws/things/+/shadow/... receive every thing's documents while the fleet
// updates at a high rate, and one observer has stopped reading altogether.
// No request may time out, every shadow must answer afterwards, the stuck
// observer must cost only its own queue (drops are counted), and Close must
// return within a bound.
func TestFanoutOverloadDoesNotStallShadows(t *testing.T) {
	const (
		things   = 100
		rate     = 500 // updates per second
		duration = 3 * time.Second
	)
	dir := t.TempDir()
	cfg := Config{DataDir: filepath.Join(dir, "data"), Listen: "127.0.0.1:0", HashMatchesDollar: true, Logger: quietLogger()}
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			_ = e.Close()
		}
	})
	ctx := context.Background()
	out := filepath.Join(dir, "bundles")
	if _, err := fleet.Provision(ctx, e.CA(), e.Registry(), fleet.ProvisionOptions{Things: things, OutDir: out}); err != nil {
		t.Fatal(err)
	}
	if _, err := fleet.Provision(ctx, e.CA(), e.Registry(), fleet.ProvisionOptions{Things: 3, OutDir: out, Observer: true}); err != nil {
		t.Fatal(err)
	}
	roots, bundles, err := fleet.LoadBundles(out)
	if err != nil {
		t.Fatal(err)
	}
	lc := load.Config{Transport: &loadmqtt.Transport{Endpoint: e.Addr(), Roots: roots}, HashMatchesDollar: true, ConnectRate: 500, QoS: 1,
		Timeout: 5 * time.Second}
	var obs []fleet.Bundle
	for _, b := range bundles {
		if b.Observer {
			obs = append(obs, b)
		} else {
			lc.Things = append(lc.Things, b)
		}
	}
	stuck := obs[0]
	lc.Observers = []load.ObserverGroup{{Name: "documents", Bundles: obs[1:],
		Filters: []string{"$aws/things/+/shadow/update/documents", "$aws/things/+/shadow/update/accepted"}}}
	// Big documents make the stuck observer's socket buffers fill quickly.
	blob := strings.Repeat("x", 1500)
	lc.Fields = func(int) load.FieldsFunc {
		return func(dst []byte, thing int) []byte {
			return append(append(append(dst, `{"blob":"`...), blob...), `"}`...)
		}
	}
	stopStuck := dialStuckObserver(t, e, stuck, "$aws/things/+/shadow/#")
	defer stopStuck()

	lc.Phases = []load.PhaseSpec{{Phase: load.Phase{Name: "fan-out", Duration: duration, From: rate, To: rate}, Mix: load.Mix{load.OpUpdate: 1}}}
	res, err := load.Run(ctx, lc)
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Report
	sent, timedOut := rep.Counters["update.sent"], rep.Counters["update.timeout"]
	t.Logf("updates sent %d, accepted %d, rejected %d, timed out %d; broker %+v",
		sent, rep.Latencies["update.accepted"].Count, rep.Latencies["update.rejected"].Count, timedOut, e.srv.Stats())
	if sent < int64(float64(rate)*duration.Seconds()/2) {
		t.Fatalf("only %d updates sent", sent)
	}
	if timedOut != 0 {
		t.Fatalf("%d of %d updates timed out", timedOut, sent)
	}
	if e.srv.Stats().Dropped == 0 {
		t.Fatal("the stuck observer's queue never overflowed: the test did not overload it")
	}

	// Every shadow answers afterwards.
	lc.Observers = nil
	lc.Phases = []load.PhaseSpec{{Phase: load.Phase{Name: "get", Duration: 2 * time.Second, From: things, To: things}, Mix: load.Mix{load.OpGet: 1}}}
	res, err = load.Run(ctx, lc)
	if err != nil {
		t.Fatal(err)
	}
	rep = res.Report
	if got, sent := rep.Latencies["get.accepted"].Count, rep.Counters["get.sent"]; got != sent || sent < things {
		t.Fatalf("after the overload: %d gets sent, %d accepted, %d timed out", sent, got, rep.Counters["get.timeout"])
	}

	start := time.Now()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	closed = true
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Close took %v with a stuck client", d)
	}
}

// dialStuckObserver connects an MQTT 5 client over mutual TLS that
// subscribes to filter and then never reads again; it returns a function
// that closes it.
func dialStuckObserver(t *testing.T, e *Emulator, b fleet.Bundle, filter string) func() {
	t.Helper()
	raw, err := net.Dial("tcp", e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = raw.(*net.TCPConn).SetReadBuffer(4096)
	conn := tls.Client(raw, &tls.Config{Certificates: []tls.Certificate{b.Certificate}, RootCAs: e.CA().Pool(), ServerName: "localhost"})
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := &rawClient{conn: conn, raw: raw, r: bufio.NewReader(conn)}
	c.connect(t, 5, "stuck-observer")
	c.send(t, packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, ProtocolVersion: 5, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: filter, Qos: 1}}})
	if pk := c.read(t); pk.FixedHeader.Type != packets.Suback {
		t.Fatalf("got %s, want SUBACK", packets.PacketNames[pk.FixedHeader.Type])
	}
	_ = conn.SetDeadline(time.Time{})
	return func() { _ = raw.Close() }
}
