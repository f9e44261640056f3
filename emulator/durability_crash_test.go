package emulator

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	pahov3 "github.com/eclipse/paho.mqtt.golang"

	"github.com/shadowload/shadowload/fleet"
)

// crashChildEnv names the data directory of an emulator the test binary
// runs as a child process (TestCrashChildEmulator).
const crashChildEnv = "SHADOWLOAD_CRASH_CHILD_DATA"

// crashChildDurabilityEnv sets the child's durability ("" is the default,
// sync), so that the test can be seen to fail with "off".
const crashChildDurabilityEnv = "SHADOWLOAD_CRASH_CHILD_DURABILITY"

// TestCrashChildEmulator is the child process of
// TestAcknowledgedUpdatesSurviveSIGKILL: it serves an emulator on the data
// directory named by crashChildEnv, prints its address and recovery, and
// runs until killed or until its standard input closes.
func TestCrashChildEmulator(t *testing.T) {
	dir := os.Getenv(crashChildEnv)
	if dir == "" {
		t.Skip("runs only as the child of TestAcknowledgedUpdatesSurviveSIGKILL")
	}
	e, err := New(Config{DataDir: dir, Listen: "127.0.0.1:0", Limits: LimitsNone, Logger: slog.New(slog.DiscardHandler),
		Durability: Durability(os.Getenv(crashChildDurabilityEnv))})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	if err := e.Start(); err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	fmt.Printf("ADDR %s\nRECOVERED %s\n", e.Addr(), e.ShadowRecovery())
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	eof := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		close(eof)
	}()
	select {
	case <-term:
		if err := e.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close:", err)
			os.Exit(1)
		}
	case <-eof:
	}
	os.Exit(0)
}

// crashChild is a running child emulator.
type crashChild struct {
	cmd       *exec.Cmd
	addr      string
	recovered string
}

// startCrashChild starts the test binary as an emulator on dir.
func startCrashChild(t *testing.T, dir string) *crashChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChildEmulator$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
	cmd.Stderr = os.Stderr
	if _, err := cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &crashChild{cmd: cmd}
	t.Cleanup(func() { c.kill() })
	lines := bufio.NewScanner(out)
	ready := make(chan error, 1)
	go func() {
		for lines.Scan() {
			l := lines.Text()
			switch {
			case strings.HasPrefix(l, "ADDR "):
				c.addr = strings.TrimPrefix(l, "ADDR ")
			case strings.HasPrefix(l, "RECOVERED "):
				c.recovered = strings.TrimPrefix(l, "RECOVERED ")
				ready <- nil
				_, _ = io.Copy(io.Discard, out)
				return
			case strings.HasPrefix(l, "ERROR "):
				ready <- fmt.Errorf("child: %s", l)
				return
			}
		}
		ready <- fmt.Errorf("child exited before it served: %v", lines.Err())
	}()
	select {
	case err := <-ready:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("child emulator did not start within 30s")
	}
	return c
}

// terminate sends SIGTERM and returns how long the child took to exit and
// its exit error.
func (c *crashChild) terminate(bound time.Duration) (time.Duration, error) {
	start := time.Now()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	exited := make(chan error, 1)
	go func() { exited <- c.cmd.Wait() }()
	select {
	case err := <-exited:
		return time.Since(start), err
	case <-time.After(bound):
		_ = c.cmd.Process.Signal(syscall.SIGKILL)
		<-exited
		return time.Since(start), fmt.Errorf("still running %v after SIGTERM", bound)
	}
}

// kill sends SIGKILL and reaps the child.
func (c *crashChild) kill() {
	if c.cmd.ProcessState != nil {
		return
	}
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

// crashClient is one thing's MQTT 3.1.1 connection (paho.mqtt.golang) that
// sends updates one at a time and waits for each answer.
type crashClient struct {
	id      int
	mc      pahov3.Client
	answers chan crashAnswer
	lost    chan struct{} // closed when the connection is lost
}

// crashAnswer is an update's outcome, matched by client token.
type crashAnswer struct {
	token   string
	version int64
	code    int
}

// crashFleet holds the provisioned identities of the test.
type crashFleet struct {
	roots *x509.CertPool
	certs []tls.Certificate
}

const crashShared = "crash-shared"

// crashPolicy lets every thing of the test do anything, so that all of them
// can update the shared shadows and the checker can read every shadow.
const crashPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

func crashThing(i int) string { return fmt.Sprintf("crash-%02d", i) }

// provisionCrashFleet creates the CA and registers n things allowed to do
// anything.
func provisionCrashFleet(t *testing.T, dir string, n int) crashFleet {
	t.Helper()
	ca, err := fleet.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := OpenRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	ctx := context.Background()
	if err := reg.EnsurePolicy(ctx, "crash-open", crashPolicy); err != nil {
		t.Fatal(err)
	}
	f := crashFleet{roots: ca.Pool()}
	for i := range n + 1 {
		id, err := ca.Issue(crashThing(i), fleet.KeyECDSA)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := reg.RegisterThing(ctx, crashThing(i), id.CertPEM, "crash-open"); err != nil {
			t.Fatal(err)
		}
		cert, err := id.TLSCertificate()
		if err != nil {
			t.Fatal(err)
		}
		f.certs = append(f.certs, cert)
	}
	return f
}

// dialCrash connects identity i to addr and subscribes to the answers for
// its own classic shadow and the shared named shadow.
func dialCrash(t *testing.T, f crashFleet, addr string, i int) *crashClient {
	t.Helper()
	c := &crashClient{id: i, answers: make(chan crashAnswer, 64), lost: make(chan struct{})}
	opts := pahov3.NewClientOptions().
		AddBroker("ssl://" + addr).
		SetClientID(fmt.Sprintf("%s-%d", crashThing(i), rand.Uint32())).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(10 * time.Second).
		SetWriteTimeout(5 * time.Second).
		SetTLSConfig(&tls.Config{Certificates: []tls.Certificate{f.certs[i]}, RootCAs: f.roots, ServerName: "localhost"}).
		SetConnectionLostHandler(func(pahov3.Client, error) { close(c.lost) })
	c.mc = pahov3.NewClient(opts)
	if tok := c.mc.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("client %d: connect: %v", i, tok.Error())
	}
	onAnswer := func(_ pahov3.Client, m pahov3.Message) {
		var d struct {
			Version     int64  `json:"version"`
			Code        int    `json:"code"`
			ClientToken string `json:"clientToken"`
		}
		if json.Unmarshal(m.Payload(), &d) == nil && strings.HasPrefix(d.ClientToken, fmt.Sprintf("c%d-", i)) {
			select {
			case c.answers <- crashAnswer{token: d.ClientToken, version: d.Version, code: d.Code}:
			default:
			}
		}
	}
	filters := map[string]byte{}
	for _, thing := range []string{crashThing(i), crashShared} {
		filters["$aws/things/"+thing+"/shadow/update/accepted"] = 1
		filters["$aws/things/"+thing+"/shadow/update/rejected"] = 1
	}
	filters["$aws/things/"+crashShared+"/shadow/name/all/update/accepted"] = 1
	filters["$aws/things/"+crashShared+"/shadow/name/all/update/rejected"] = 1
	if tok := c.mc.SubscribeMultiple(filters, onAnswer); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("client %d: subscribe: %v", i, tok.Error())
	}
	return c
}

// crashLedger is what the clients were told: per shadow the highest
// version acknowledged and every version acknowledged, and per shadow and
// client the last acknowledged sequence number.
type crashLedger struct {
	mu      sync.Mutex
	version map[string]int64
	floor   map[string]int64 // highest version acknowledged before the last kill
	seen    map[string]map[int64]bool
	seq     map[string]map[int]int64
	errs    []string
	acked   int
}

// ack records an accepted update and checks that its version is above
// every version acknowledged before the emulator last died and was never
// acknowledged before.
func (l *crashLedger) ack(shadow string, client int, seq, version int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if version <= l.floor[shadow] {
		l.errs = append(l.errs, fmt.Sprintf("%s: accepted version %d after a restart, but %d was acknowledged before it", shadow, version, l.floor[shadow]))
	}
	if l.seen[shadow] == nil {
		l.seen[shadow] = map[int64]bool{}
	}
	if l.seen[shadow][version] {
		l.errs = append(l.errs, fmt.Sprintf("%s: version %d acknowledged twice", shadow, version))
	}
	l.seen[shadow][version] = true
	l.version[shadow] = max(l.version[shadow], version)
	if l.seq[shadow] == nil {
		l.seq[shadow] = map[int]int64{}
	}
	l.seq[shadow][client] = seq
	l.acked++
}

// drive sends updates from c until stop closes or an answer does not come:
// alternately its own classic shadow, the shared classic shadow and the
// shared named shadow, each setting reported.c<i> to a rising number.
func (c *crashClient) drive(l *crashLedger, stop <-chan struct{}, seq *int64) {
	shadows := []struct{ name, topic string }{
		{crashThing(c.id), "$aws/things/" + crashThing(c.id) + "/shadow/update"},
		{crashShared, "$aws/things/" + crashShared + "/shadow/update"},
		{crashShared + "/all", "$aws/things/" + crashShared + "/shadow/name/all/update"},
	}
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		*seq++
		sh := shadows[n%len(shadows)]
		token := fmt.Sprintf("c%d-%d", c.id, *seq)
		payload := fmt.Sprintf(`{"state":{"reported":{"c%d":%d}},"clientToken":%q}`, c.id, *seq, token)
		if tok := c.mc.Publish(sh.topic, 1, false, payload); !tok.WaitTimeout(3*time.Second) || tok.Error() != nil {
			return
		}
		for {
			select {
			case a := <-c.answers:
				if a.token != token {
					continue
				}
				if a.code != 0 {
					l.mu.Lock()
					l.errs = append(l.errs, fmt.Sprintf("%s: update %s rejected %d", sh.name, token, a.code))
					l.mu.Unlock()
					return
				}
				l.ack(sh.name, c.id, *seq, a.version)
			case <-c.lost:
				return
			case <-time.After(5 * time.Second):
				return
			}
			break
		}
	}
}

// check gets every shadow from a restarted emulator and verifies that it
// holds every acknowledged update: a version at least the highest
// acknowledged, and each client's field at least its last acknowledged
// number.
func (l *crashLedger) check(t *testing.T, f crashFleet, addr string, clients int) {
	t.Helper()
	got := make(chan []byte, 64)
	opts := pahov3.NewClientOptions().
		AddBroker("ssl://" + addr).
		SetClientID(fmt.Sprintf("checker-%d", rand.Uint32())).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectTimeout(10 * time.Second).
		SetTLSConfig(&tls.Config{Certificates: []tls.Certificate{f.certs[clients]}, RootCAs: f.roots, ServerName: "localhost"})
	mc := pahov3.NewClient(opts)
	if tok := mc.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("checker: connect: %v", tok.Error())
	}
	defer mc.Disconnect(0)
	on := func(_ pahov3.Client, m pahov3.Message) { got <- m.Payload() }
	filters := map[string]byte{"$aws/things/+/shadow/get/+": 1, "$aws/things/+/shadow/name/+/get/+": 1}
	if tok := mc.SubscribeMultiple(filters, on); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("checker: subscribe: %v", tok.Error())
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for shadow, want := range l.version {
		thing, name, _ := strings.Cut(shadow, "/")
		topic := "$aws/things/" + thing + "/shadow/get"
		if name != "" {
			topic = "$aws/things/" + thing + "/shadow/name/" + name + "/get"
		}
		token := "check-" + shadow
		if tok := mc.Publish(topic, 1, false, fmt.Sprintf(`{"clientToken":%q}`, token)); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("checker: get %s: %v", shadow, tok.Error())
		}
		var doc struct {
			Version     int64  `json:"version"`
			Code        int    `json:"code"`
			ClientToken string `json:"clientToken"`
			State       struct {
				Reported map[string]int64 `json:"reported"`
			} `json:"state"`
		}
	wait:
		for {
			select {
			case p := <-got:
				doc.ClientToken = ""
				if json.Unmarshal(p, &doc) == nil && doc.ClientToken == token {
					break wait
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("checker: no answer to get %s", shadow)
			}
		}
		if doc.Code != 0 || doc.Version < want {
			l.errs = append(l.errs, fmt.Sprintf("%s after restart: version %d (code %d), but %d was acknowledged", shadow, doc.Version, doc.Code, want))
		}
		for client, seq := range l.seq[shadow] {
			if have := doc.State.Reported[fmt.Sprintf("c%d", client)]; have < seq {
				l.errs = append(l.errs, fmt.Sprintf("%s after restart: c%d = %d, but update %d was acknowledged", shadow, client, have, seq))
			}
		}
	}
}

func TestAcknowledgedUpdatesSurviveSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("starts emulator child processes")
	}
	const clients, rounds = 12, 4
	dir := t.TempDir()
	f := provisionCrashFleet(t, dir, clients)
	l := &crashLedger{version: map[string]int64{}, floor: map[string]int64{}, seen: map[string]map[int64]bool{}, seq: map[string]map[int]int64{}}
	seqs := make([]int64, clients)
	child := startCrashChild(t, dir)
	for round := range rounds {
		conns := make([]*crashClient, clients)
		for i := range conns {
			conns[i] = dialCrash(t, f, child.addr, i)
		}
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for i, c := range conns {
			wg.Go(func() { c.drive(l, stop, &seqs[i]) })
		}
		// Kill at a random moment under load; in the last round, after
		// the load stopped, with the emulator idle.
		time.Sleep(time.Duration(150+rand.IntN(450)) * time.Millisecond)
		if round == rounds-1 {
			close(stop)
			wg.Wait()
		}
		child.kill()
		if round < rounds-1 {
			close(stop)
		}
		wg.Wait()
		for _, c := range conns {
			c.mc.Disconnect(0)
		}
		l.mu.Lock()
		acked := l.acked
		for sh, v := range l.version {
			l.floor[sh] = v
		}
		l.mu.Unlock()
		child = startCrashChild(t, dir)
		t.Logf("round %d: %d updates acknowledged so far; restart recovered %s", round, acked, child.recovered)
		l.check(t, f, child.addr, clients)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acked < rounds*clients {
		t.Fatalf("only %d updates acknowledged in %d rounds: the load did not run", l.acked, rounds)
	}
	if len(l.errs) > 0 {
		t.Fatalf("%d violations, first: %s", len(l.errs), strings.Join(l.errs[:min(5, len(l.errs))], "\n"))
	}
}

func TestSIGTERMUnderLoadExitsPromptlyWithEverythingDurable(t *testing.T) {
	if testing.Short() {
		t.Skip("starts emulator child processes")
	}
	const clients = 12
	dir := t.TempDir()
	f := provisionCrashFleet(t, dir, clients)
	l := &crashLedger{version: map[string]int64{}, floor: map[string]int64{}, seen: map[string]map[int64]bool{}, seq: map[string]map[int]int64{}}
	seqs := make([]int64, clients)
	child := startCrashChild(t, dir)
	conns := make([]*crashClient, clients)
	for i := range conns {
		conns[i] = dialCrash(t, f, child.addr, i)
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Go(func() { c.drive(l, stop, &seqs[i]) })
	}
	time.Sleep(300 * time.Millisecond)
	took, err := child.terminate(10 * time.Second)
	close(stop)
	wg.Wait()
	for _, c := range conns {
		c.mc.Disconnect(0)
	}
	if err != nil {
		t.Fatalf("SIGTERM with %d clients sending: %v after %v", clients, err, took)
	}
	l.mu.Lock()
	acked := l.acked
	l.mu.Unlock()
	child = startCrashChild(t, dir)
	t.Logf("exited %v after SIGTERM with %d updates acknowledged; restart recovered %s", took.Round(time.Millisecond), acked, child.recovered)
	if !strings.Contains(child.recovered, "from a snapshot") || strings.Contains(child.recovered, "log records replayed") {
		t.Errorf("restart after SIGTERM recovered %q, want a snapshot written at shutdown and no log to replay", child.recovered)
	}
	l.check(t, f, child.addr, clients)
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.acked == 0 {
		t.Fatal("no update acknowledged before SIGTERM: the load did not run")
	}
	if len(l.errs) > 0 {
		t.Fatalf("%d violations, first: %s", len(l.errs), strings.Join(l.errs[:min(5, len(l.errs))], "\n"))
	}
}
