package emulator

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/shadowload/shadowload/internal/mqttc"
)

// Environment of the client process BenchmarkIdleConnectionMemory starts.
const (
	envIdleClients = "SHADOWLOAD_IDLE_CLIENTS" // "N ADDR CERT KEY CA"
)

// TestIdleClientsProcess is not a test: when the benchmark re-runs the test
// binary with envIdleClients set, it holds N idle MQTT 5 connections open
// until its standard input closes, so their memory is not in the emulator's
// process. Each is a bare TLS connection past CONNACK, so that 10,000 of
// them fit in one process.
func TestIdleClientsProcess(t *testing.T) {
	spec := os.Getenv(envIdleClients)
	if spec == "" {
		t.Skip("helper process for BenchmarkIdleConnectionMemory")
	}
	var n int
	var addr, certFile, keyFile, caFile string
	if _, err := fmt.Sscan(spec, &n, &addr, &certFile, &keyFile, &caFile); err != nil {
		t.Fatalf("%s=%q: %v", envIdleClients, spec, err)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(caPEM)
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: roots, ServerName: "localhost",
		CurvePreferences: []tls.CurveID{tls.X25519, tls.CurveP256}}
	conns := make([]*tls.Conn, 0, n)
	for i := range n {
		conn, err := tls.Dial("tcp", addr, cfg)
		if err != nil {
			t.Fatal(err)
		}
		c := &rawClient{conn: conn, r: bufio.NewReader(conn), version: 5}
		pk := connectPacket(5, "idle-"+strconv.Itoa(i))
		pk.Connect.Keepalive = 1200
		c.send(t, pk)
		if ack := c.read(t); ack.ReasonCode != 0 {
			t.Fatalf("CONNACK %#x", ack.ReasonCode)
		}
		conns = append(conns, conn)
	}
	fmt.Println("ready")
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
	for _, c := range conns {
		_ = c.Close()
	}
}

// BenchmarkIdleConnectionMemory measures the emulator's heap and stack, and
// its resident memory, per idle MQTT 5 connection over mutual TLS, with
// clients held by another process: 500 of them, or SHADOWLOAD_IDLE_CONNS.
// Run it with -benchtime=1x.
func BenchmarkIdleConnectionMemory(b *testing.B) {
	n := 500
	if v := os.Getenv("SHADOWLOAD_IDLE_CONNS"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n <= 0 {
			b.Fatalf("SHADOWLOAD_IDLE_CONNS=%q: want a positive number", v)
		}
	}
	e := startEmulator(b, nil)
	id := provision(b, e, "idle", "open", openPolicy)
	dir := b.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	if err := os.WriteFile(certFile, id.pem.CertPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(keyFile, id.pem.KeyPEM, 0o600); err != nil {
		b.Fatal(err)
	}
	var total, rss float64
	var goroutines float64
	for b.Loop() {
		before := liveBytes()
		rss0 := residentBytes(b)
		g0 := runtime.NumGoroutine()
		cmd := exec.Command(os.Args[0], "-test.run=^TestIdleClientsProcess$", "-test.v")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d %s %s %s %s", envIdleClients, n, e.Addr(), certFile, keyFile, e.RootCAPath()))
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		sc := bufio.NewScanner(stdout)
		ready := false
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready = true
				break
			}
		}
		if !ready {
			_ = cmd.Wait()
			b.Fatal("client process did not get ready")
		}
		waitConnected(b, e, int64(n))
		total += float64(liveBytes()-before) / float64(n)
		rss += float64(residentBytes(b)-rss0) / float64(n)
		if f := os.Getenv("SHADOWLOAD_IDLE_HEAPPROFILE"); f != "" {
			writeHeapProfile(b, f)
		}

		goroutines += float64(runtime.NumGoroutine()-g0) / float64(n)
		_ = stdin.Close()
		go func() { _, _ = bufio.NewReader(stdout).ReadString(0) }()
		if err := cmd.Wait(); err != nil {
			b.Fatal(err)
		}
		waitConnected(b, e, 0)
	}
	b.ReportMetric(total/float64(b.N), "bytes/conn")
	b.ReportMetric(rss/float64(b.N), "rss-bytes/conn")
	b.ReportMetric(goroutines/float64(b.N), "goroutines/conn")
}

func waitConnected(b testing.TB, e *Emulator, n int64) {
	b.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for e.srv.Stats().Connected != n {
		if time.Now().After(deadline) {
			b.Fatalf("%d clients connected, want %d", e.srv.Stats().Connected, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// liveBytes is heap in use plus goroutine stacks in the steady state of an
// idle process: each collection may halve an oversized goroutine stack, so
// it collects until the figure stops falling (the periodic collections of a
// long-running emulator get there too).
func liveBytes() int64 {
	var m runtime.MemStats
	least := int64(-1)
	for range 8 {
		runtime.GC()
		runtime.ReadMemStats(&m)
		cur := int64(m.HeapInuse + m.StackInuse)
		if least >= 0 && cur >= least {
			break
		}
		least = cur
	}
	return least
}

// BenchmarkConnect measures connection throughput: a full TLS handshake,
// certificate and policy check, CONNECT/CONNACK and DISCONNECT per
// operation, from parallel clients in the same process (their CPU counts
// against the result).
func BenchmarkConnect(b *testing.B) {
	e := startEmulator(b, nil)
	id := provision(b, e, "conn", "open", openPolicy)
	var seq atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			opts := dialOptions(e, id, "conn-"+strconv.FormatInt(seq.Add(1), 10))
			c, err := mqttc.Dial(context.Background(), opts)
			if err != nil {
				b.Error(err)
				return
			}
			_ = c.Close()
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "conns/s")
}

// BenchmarkShadowUpdateRoundTrip measures shadow update → update/accepted
// round trips through the broker and the shadow service, one thing and
// connection per parallel worker, each with one update in flight, QoS 1, with LimitsNone so the 20 req/s
// per-shadow limit does not throttle. Clients run in the same process.
func BenchmarkShadowUpdateRoundTrip(b *testing.B) {
	e := startEmulator(b, func(c *Config) { c.Limits = LimitsNone })
	const things = 16
	ids := make([]identity, things)
	for i := range ids {
		ids[i] = provision(b, e, "bench-"+strconv.Itoa(i), "thing", perThingPolicy)
	}
	var next atomic.Int64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		id := ids[int(next.Add(1)-1)%things]
		c, err := tryDial5(e, id, id.thing)
		if err != nil {
			b.Error(err)
			return
		}
		defer c.Close()
		p := "$aws/things/" + id.thing + "/shadow/update"
		if _, err := c.Subscribe(context.Background(), &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: p + "/accepted", QoS: 1}}}); err != nil {
			b.Error(err)
			return
		}
		n := 0
		for pb.Next() {
			n++
			payload := []byte(`{"state":{"reported":{"n":` + strconv.Itoa(n) + `}},"clientToken":"t` + strconv.Itoa(n) + `"}`)
			if _, err := c.Publish(context.Background(), &paho.Publish{Topic: p, QoS: 1, Payload: payload}); err != nil {
				b.Error(err)
				return
			}
			select {
			case <-c.msgs:
			case <-time.After(10 * time.Second):
				b.Error("no update/accepted")
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "updates/s")
}

// writeHeapProfile writes the heap profile to file.
func writeHeapProfile(b *testing.B, file string) {
	f, err := os.Create(file)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		b.Fatal(err)
	}
}

// residentBytes returns the process's resident set size (VmRSS).
func residentBytes(b *testing.B) int64 {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Skipf("no /proc/self/status: %v", err)
	}
	for line := range strings.Lines(string(status)) {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var kb int64
			if _, err := fmt.Sscan(rest, &kb); err != nil {
				b.Fatal(err)
			}
			return kb << 10
		}
	}
	b.Fatal("no VmRSS in /proc/self/status")
	return 0
}
