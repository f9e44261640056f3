package shadowsvc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// epoch is the fake clock's start, in Unix seconds.
const epoch = 1730481958

// testClock is a settable clock for Config.Now.
type testClock struct{ ns atomic.Int64 }

func (c *testClock) Now() time.Time      { return time.Unix(epoch, 0).Add(time.Duration(c.ns.Load())) }
func (c *testClock) set(d time.Duration) { c.ns.Store(int64(d)) }

// shadowTopic returns the topic of a classic (name "") or named shadow.
func shadowTopic(thing, name, suffix string) string {
	if name == "" {
		return "$aws/things/" + thing + "/shadow/" + suffix
	}
	return "$aws/things/" + thing + "/shadow/name/" + name + "/" + suffix
}

// doc is a decoded response document.
type doc map[string]any

func decode(t testing.TB, p published) doc {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(p.payload))
	d.UseNumber()
	var m doc
	if err := d.Decode(&m); err != nil {
		t.Fatalf("%s: payload %q is not a JSON object: %v", p.topic, p.payload, err)
	}
	return m
}

func (d doc) int(key string) int64 {
	n, ok := d[key].(json.Number)
	if !ok {
		return -1
	}
	v, err := n.Int64()
	if err != nil {
		return -1
	}
	return v
}

func (d doc) str(key string) string {
	s, _ := d[key].(string)
	return s
}

// newTestService starts a service on a recorder, closed at the test's end.
func newTestService(t testing.TB, cfg Config) (*Service, *recorder) {
	t.Helper()
	rec := newRecorder()
	s, err := New(cfg, rec)
	if err != nil {
		t.Fatalf("New(%+v): %v", cfg, err)
	}
	t.Cleanup(func() { s.Close() })
	return s, rec
}

// handle sends one request, fails the test when Handle ignores it, and
// returns once its responses are published (or handed to the scheduler).
func handle(t testing.TB, s *Service, c *Conn, topic, payload string) {
	t.Helper()
	if !s.Handle(c, topic, []byte(payload)) {
		t.Fatalf("Handle(%s) = false, want a shadow request", topic)
	}
	settle(t, s)
}

// settle waits until no request of s waits for its commit.
func settle(t testing.TB, s *Service) {
	t.Helper()
	eventually(t, "the responses waiting for their commit", func() bool { return s.active.Load() == 0 })
}

// expect checks the topics of msgs and returns their documents.
func expect(t testing.TB, msgs []published, topics ...string) []doc {
	t.Helper()
	var got []string
	for _, m := range msgs {
		got = append(got, m.topic)
	}
	if strings.Join(got, "\n") != strings.Join(topics, "\n") {
		t.Fatalf("published on\n  %s\nwant\n  %s", strings.Join(got, "\n  "), strings.Join(topics, "\n  "))
	}
	docs := make([]doc, len(msgs))
	for i, m := range msgs {
		docs[i] = decode(t, m)
	}
	return docs
}

func TestUpdatePublishesAcceptedDocumentsAndDelta(t *testing.T) {
	var clock testClock
	s, rec := newTestService(t, Config{Now: clock.Now})
	clock.set(3 * time.Second)
	handle(t, s, nil, shadowTopic("lamp", "", "update"), `{"state":{"desired":{"color":"red"}},"clientToken":"t1"}`)
	docs := expect(t, rec.all(),
		shadowTopic("lamp", "", "update/accepted"),
		shadowTopic("lamp", "", "update/documents"),
		shadowTopic("lamp", "", "update/delta"))
	for i, d := range docs {
		if d.int("timestamp") != epoch+3 {
			t.Errorf("message %d timestamp %d, want %d", i, d.int("timestamp"), epoch+3)
		}
	}
	if docs[0].int("version") != 1 || docs[2].int("version") != 1 {
		t.Errorf("accepted version %d, delta version %d; want 1 and 1", docs[0].int("version"), docs[2].int("version"))
	}
	if docs[0].str("clientToken") != "t1" {
		t.Errorf("accepted clientToken %q, want t1", docs[0].str("clientToken"))
	}
}

func TestUpdateWithoutDeltaPublishesNoDelta(t *testing.T) {
	s, rec := newTestService(t, Config{})
	handle(t, s, nil, shadowTopic("lamp", "", "update"), `{"state":{"reported":{"color":"red"}}}`)
	docs := expect(t, rec.all(),
		shadowTopic("lamp", "", "update/accepted"),
		shadowTopic("lamp", "", "update/documents"))
	if _, ok := docs[0]["clientToken"]; ok {
		t.Errorf("accepted carries a clientToken the request did not have: %v", docs[0])
	}
}

func TestGetAndDeleteFollowTheShadowsLife(t *testing.T) {
	s, rec := newTestService(t, Config{})
	var c Conn
	steps := []struct {
		topic, payload string
		reply          string
		code           int64
		version        int64
	}{
		{"get", `{"clientToken":"g1"}`, "get/rejected", 404, -1},
		{"delete", ``, "delete/rejected", 404, -1},
		{"update", `{"state":{"reported":{"on":true}}}`, "update/accepted", 0, 1},
		{"update", `{"state":{"reported":{"on":false}}}`, "update/accepted", 0, 2},
		{"get", ``, "get/accepted", 0, 2},
		{"delete", `{"clientToken":"d1"}`, "delete/accepted", 0, 2},
		{"get", `{"clientToken":"g2"}`, "get/rejected", 404, -1},
		{"update", `{"state":{"reported":{"on":true}}}`, "update/accepted", 0, 3},
	}
	for i, st := range steps {
		before := len(rec.all())
		handle(t, s, &c, shadowTopic("plug", "", st.topic), st.payload)
		msgs := rec.all()[before:]
		if len(msgs) == 0 || msgs[0].topic != shadowTopic("plug", "", st.reply) {
			t.Fatalf("step %d %s %s: published %v, want first on %s", i, st.topic, st.payload, msgs, st.reply)
		}
		d := decode(t, msgs[0])
		if st.code != 0 && d.int("code") != st.code {
			t.Errorf("step %d: code %d, want %d", i, d.int("code"), st.code)
		}
		if st.version >= 0 && d.int("version") != st.version {
			t.Errorf("step %d: version %d, want %d", i, d.int("version"), st.version)
		}
		if tok := extractToken(st.payload); d.str("clientToken") != tok {
			t.Errorf("step %d: clientToken %q, want %q", i, d.str("clientToken"), tok)
		}
		if st.code == 404 && d.str("message") != "No shadow exists with name: 'plug'" {
			t.Errorf("step %d: message %q", i, d.str("message"))
		}
	}
	if c.InFlight() != 0 {
		t.Errorf("in flight after immediate responses = %d, want 0", c.InFlight())
	}
}

// extractToken returns the clientToken a test request carries, or "".
func extractToken(payload string) string {
	var m struct{ ClientToken string }
	json.Unmarshal([]byte(payload), &m)
	return m.ClientToken
}

func TestNamedAndClassicShadowsAreIndependent(t *testing.T) {
	s, rec := newTestService(t, Config{})
	handle(t, s, nil, shadowTopic("car", "engine", "update"), `{"state":{"reported":{"rpm":900}}}`)
	handle(t, s, nil, shadowTopic("car", "engine", "update"), `{"state":{"reported":{"rpm":950}}}`)
	tests := []struct {
		name, op, reply string
		code, version   int64
		message         string
	}{
		{"", "get", "get/rejected", 404, -1, "No shadow exists with name: 'car'"},
		{"doors", "get", "get/rejected", 404, -1, "No shadow exists with name: 'doors'"},
		{"engine", "get", "get/accepted", 0, 2, ""},
		{"", "delete", "delete/rejected", 404, -1, "No shadow exists with name: 'car'"},
		{"engine", "get", "get/accepted", 0, 2, ""},
		{"", "update", "update/accepted", 0, 1, ""},
		{"engine", "delete", "delete/accepted", 0, 2, ""},
		{"", "get", "get/accepted", 0, 1, ""},
	}
	for i, tc := range tests {
		before := len(rec.all())
		payload := ``
		if tc.op == "update" {
			payload = `{"state":{"reported":{"x":1}}}`
		}
		handle(t, s, nil, shadowTopic("car", tc.name, tc.op), payload)
		msgs := rec.all()[before:]
		if len(msgs) == 0 || msgs[0].topic != shadowTopic("car", tc.name, tc.reply) {
			t.Fatalf("step %d: published %v, want first on %s", i, msgs, shadowTopic("car", tc.name, tc.reply))
		}
		d := decode(t, msgs[0])
		if tc.code != 0 && (d.int("code") != tc.code || d.str("message") != tc.message) {
			t.Errorf("step %d: rejection %v, want %d %q", i, d, tc.code, tc.message)
		}
		if tc.version >= 0 && d.int("version") != tc.version {
			t.Errorf("step %d: version %d, want %d", i, d.int("version"), tc.version)
		}
	}
}

func TestRejectionsGoToRejectedWithToken(t *testing.T) {
	big := strings.Repeat("x", 9000)
	tests := []struct {
		name    string
		setup   []string
		payload string
		code    int64
		token   string
	}{
		{"version conflict", []string{`{"state":{"reported":{"a":1}}}`}, `{"state":{"reported":{"a":2}},"version":7,"clientToken":"v7"}`, 409, "v7"},
		{"too large", nil, `{"state":{"reported":{"a":"` + big + `"}},"clientToken":"big"}`, 413, "big"},
		{"missing state", nil, `{"clientToken":"ns"}`, 400, "ns"},
		{"invalid JSON", nil, `{"state":`, 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, rec := newTestService(t, Config{})
			for _, p := range tc.setup {
				handle(t, s, nil, shadowTopic("dev", "", "update"), p)
			}
			before := len(rec.all())
			handle(t, s, nil, shadowTopic("dev", "", "update"), tc.payload)
			docs := expect(t, rec.all()[before:], shadowTopic("dev", "", "update/rejected"))
			if docs[0].int("code") != tc.code || docs[0].str("clientToken") != tc.token {
				t.Errorf("rejection %v, want code %d token %q", docs[0], tc.code, tc.token)
			}
			if st := s.Stats(); st.Rejected[int(tc.code)] != 1 || st.Requests != uint64(len(tc.setup)+1) {
				t.Errorf("stats %+v, want one %d rejection", st, tc.code)
			}
		})
	}
}

func TestHandleIgnoresTopicsThatAreNotRequests(t *testing.T) {
	s, rec := newTestService(t, Config{})
	topics := []string{
		shadowTopic("a", "", "update/accepted"),
		shadowTopic("a", "", "get/rejected"),
		shadowTopic("a", "n", "update/delta"),
		shadowTopic("a", "n", "update/documents"),
		"$aws/things/a/shadow",
		"$aws/things/a/jobs/get",
		"home/kitchen/temp",
		"",
	}
	for _, topic := range topics {
		if s.Handle(nil, topic, []byte(`{"state":{"reported":{"a":1}}}`)) {
			t.Errorf("Handle(%q) = true, want false", topic)
		}
	}
	if msgs := rec.all(); len(msgs) != 0 {
		t.Errorf("published %v for non-request topics", msgs)
	}
	if st := s.Stats(); st.Requests != 0 {
		t.Errorf("stats count %d requests, want 0", st.Requests)
	}
}

func TestRateLimitRejectsOverTwentyPerSecondPerShadow(t *testing.T) {
	var clock testClock
	s, rec := newTestService(t, Config{Now: clock.Now, RequestsPerSecond: 20})
	update := `{"state":{"reported":{"n":1}},"clientToken":"rl"}`
	for range 20 {
		handle(t, s, nil, shadowTopic("hot", "", "update"), update)
	}
	before := len(rec.all())
	handle(t, s, nil, shadowTopic("hot", "", "update"), update)
	docs := expect(t, rec.all()[before:], shadowTopic("hot", "", "update/rejected"))
	if docs[0].int("code") != 429 || docs[0].str("message") != "TOO_MANY_REQUESTS" || docs[0].str("clientToken") != "rl" {
		t.Errorf("21st request answered %v, want 429 TOO_MANY_REQUESTS with token rl", docs[0])
	}
	if _, ok := docs[0]["timestamp"]; ok {
		t.Errorf("429 carries a timestamp: %v", docs[0])
	}

	before = len(rec.all())
	handle(t, s, nil, shadowTopic("hot", "other", "get"), ``)
	handle(t, s, nil, shadowTopic("cold", "", "update"), update)
	expect(t, rec.all()[before:],
		shadowTopic("hot", "other", "get/rejected"),
		shadowTopic("cold", "", "update/accepted"),
		shadowTopic("cold", "", "update/documents"))

	clock.set(time.Second)
	before = len(rec.all())
	handle(t, s, nil, shadowTopic("hot", "", "get"), ``)
	docs = expect(t, rec.all()[before:], shadowTopic("hot", "", "get/accepted"))
	if docs[0].int("version") != 20 {
		t.Errorf("version after 20 accepted updates = %d, want 20", docs[0].int("version"))
	}
	st := s.Stats()
	if st.RateLimited != 1 || st.Throttled != 1 || st.Rejected[429] != 1 || st.Accepted != 22 {
		t.Errorf("stats %+v, want 1 rate-limited, 22 accepted", st)
	}
}

func TestInFlightCapRejectsWhileResponsesAreHeld(t *testing.T) {
	var clock testClock
	s, rec := newTestService(t, Config{Now: clock.Now, InFlightPerConn: 10, Latency: "fixed:20ms"})
	var c, other Conn
	for i := range 10 {
		handle(t, s, &c, shadowTopic(fmt.Sprintf("t%d", i), "", "update"), `{"state":{"reported":{"a":1}}}`)
	}
	handle(t, s, &c, shadowTopic("t10", "", "update"), `{"state":{"reported":{"a":1}},"clientToken":"over"}`)
	handle(t, s, &other, shadowTopic("t11", "", "get"), `{"clientToken":"free"}`)
	if c.InFlight() != 10 || other.InFlight() != 1 {
		t.Fatalf("in flight %d and %d, want 10 and 1", c.InFlight(), other.InFlight())
	}
	if n := len(rec.all()); n != 0 {
		t.Fatalf("%d published before the latency passed", n)
	}
	clock.set(20 * time.Millisecond)
	s.sched.poke()
	msgs := rec.wait(t, 10*2+2)
	var overDoc, freeDoc doc
	for _, m := range msgs {
		switch m.topic {
		case shadowTopic("t10", "", "update/rejected"):
			overDoc = decode(t, m)
		case shadowTopic("t11", "", "get/rejected"):
			freeDoc = decode(t, m)
		}
	}
	if overDoc.int("code") != 429 || overDoc.str("clientToken") != "over" {
		t.Errorf("11th request answered %v, want 429 with token over", overDoc)
	}
	if freeDoc.int("code") != 404 || freeDoc.str("clientToken") != "free" {
		t.Errorf("other connection's request answered %v, want 404 with token free", freeDoc)
	}
	eventually(t, "in-flight counts back to 0", func() bool { return c.InFlight() == 0 && other.InFlight() == 0 })
	if st := s.Stats(); st.InFlightLimited != 1 || st.Throttled != 1 {
		t.Errorf("stats %+v, want 1 in-flight rejection", st)
	}
}

func TestFixedLatencyDelaysEachResponseFromArrival(t *testing.T) {
	s, rec := newTestService(t, Config{Latency: "fixed:20ms"})
	const n = 5
	arrivals := make([]time.Time, n)
	for i := range n {
		arrivals[i] = time.Now()
		handle(t, s, nil, shadowTopic("slow", "", "update"), fmt.Sprintf(`{"state":{"reported":{"i":%d}}}`, i))
		time.Sleep(3 * time.Millisecond)
	}
	msgs := rec.wait(t, 2*n)
	for i := range n {
		acc, docs := msgs[2*i], msgs[2*i+1]
		if acc.topic != shadowTopic("slow", "", "update/accepted") || docs.topic != shadowTopic("slow", "", "update/documents") {
			t.Fatalf("messages %d,%d on %s and %s", 2*i, 2*i+1, acc.topic, docs.topic)
		}
		if v := decode(t, acc).int("version"); v != int64(i+1) {
			t.Errorf("accepted %d has version %d, want %d (arrival order)", i, v, i+1)
		}
		if d := acc.at.Sub(arrivals[i]); d < 20*time.Millisecond {
			t.Errorf("accepted %d published %v after its request, want ≥ 20ms", i, d)
		}
	}
}

func TestUniformLatencyKeepsPerShadowOrder(t *testing.T) {
	s, rec := newTestService(t, Config{Latency: "uniform:0s-20ms"})
	const n = 40
	for i := range n {
		handle(t, s, nil, shadowTopic("jit", "", "update"), fmt.Sprintf(`{"state":{"reported":{"i":%d}}}`, i))
	}
	msgs := rec.wait(t, 2*n)
	for i := range n {
		if v := decode(t, msgs[2*i]).int("version"); v != int64(i+1) {
			t.Fatalf("accepted %d has version %d, want %d", i, v, i+1)
		}
	}
}

func TestStallHoldsResponsesUntilItEnds(t *testing.T) {
	var clock testClock
	s, rec := newTestService(t, Config{Now: clock.Now, Stall: "10s:1s"})
	clock.set(5 * time.Second)
	handle(t, s, nil, shadowTopic("st", "", "update"), `{"state":{"reported":{"a":1}}}`)
	rec.wait(t, 2)

	clock.set(10*time.Second + 200*time.Millisecond)
	handle(t, s, nil, shadowTopic("st", "", "update"), `{"state":{"reported":{"a":2}},"clientToken":"s1"}`)
	clock.set(10*time.Second + 500*time.Millisecond)
	handle(t, s, nil, shadowTopic("st", "", "get"), `{"clientToken":"s2"}`)
	s.sched.poke()
	time.Sleep(20 * time.Millisecond)
	if n := len(rec.all()); n != 2 {
		t.Fatalf("%d messages published during the stall, want only the 2 from before it", n)
	}
	if st := s.Stats(); st.Pending != 2 {
		t.Fatalf("pending %d during the stall, want 2", st.Pending)
	}
	clock.set(11 * time.Second)
	s.sched.poke()
	docs := expect(t, rec.wait(t, 5)[2:],
		shadowTopic("st", "", "update/accepted"),
		shadowTopic("st", "", "update/documents"),
		shadowTopic("st", "", "get/accepted"))
	if docs[0].str("clientToken") != "s1" || docs[2].str("clientToken") != "s2" || docs[2].int("version") != 2 {
		t.Errorf("after the stall: %v", docs)
	}
	if docs[0].int("timestamp") != epoch+10 {
		t.Errorf("held update's timestamp %d, want its arrival %d", docs[0].int("timestamp"), epoch+10)
	}
}

func TestPersistenceSurvivesCloseAndNew(t *testing.T) {
	for _, d := range []Durability{DurabilitySync, DurabilityAsync, DurabilityOff} {
		t.Run(string(d), func(t *testing.T) { testPersistenceSurvivesCloseAndNew(t, d) })
	}
}

func testPersistenceSurvivesCloseAndNew(t *testing.T, d Durability) {
	dir := t.TempDir()
	s, _ := newTestService(t, Config{DataDir: dir, Durability: d})
	for range 3 {
		handle(t, s, nil, shadowTopic("p1", "", "update"), `{"state":{"desired":{"a":1},"reported":{"a":1}}}`)
	}
	handle(t, s, nil, shadowTopic("p1", "cfg", "update"), `{"state":{"desired":{"mode":"eco"},"reported":{"mode":"off"}}}`)
	handle(t, s, nil, shadowTopic("p2", "", "update"), `{"state":{"desired":{"a":1},"reported":{"a":1}}}`)
	handle(t, s, nil, shadowTopic("p2", "", "update"), `{"state":{"desired":{"a":2},"reported":{"a":2}}}`)
	handle(t, s, nil, shadowTopic("p2", "", "delete"), ``)
	handle(t, s, nil, shadowTopic("p3", "", "update"), `{"state":{"reported":{"only":"reported"}}}`)
	handle(t, s, nil, shadowTopic("p3", "want", "update"), `{"state":{"desired":{"only":"desired"}}}`)
	handle(t, s, nil, shadowTopic("never", "", "get"), ``)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	s2, rec := newTestService(t, Config{DataDir: dir, Durability: d})
	if got := s2.Recovered(); got.Shadows != 5 || got.Deleted != 1 || got.Records != 0 || got.Snapshot == "" {
		t.Errorf("recovered %+v, want 5 shadows (1 deleted) from Close's snapshot with no log to replay", got)
	}
	steps := []struct {
		thing, name, op, reply string
		version                int64
	}{
		{"p1", "", "get", "get/accepted", 3},
		{"p1", "cfg", "get", "get/accepted", 1},
		{"p2", "", "get", "get/rejected", -1},
		{"p2", "", "update", "update/accepted", 3},
		{"p3", "", "get", "get/accepted", 1},
		{"p3", "want", "get", "get/accepted", 1},
		{"never", "", "get", "get/rejected", -1},
	}
	for i, st := range steps {
		before := len(rec.all())
		payload := ``
		if st.op == "update" {
			payload = `{"state":{"reported":{"a":3}}}`
		}
		handle(t, s2, nil, shadowTopic(st.thing, st.name, st.op), payload)
		msgs := rec.all()[before:]
		if len(msgs) == 0 || msgs[0].topic != shadowTopic(st.thing, st.name, st.reply) {
			t.Fatalf("step %d: published %v, want first on %s", i, msgs, st.reply)
		}
		if d := decode(t, msgs[0]); st.version >= 0 && d.int("version") != st.version {
			t.Errorf("step %d: version %d, want %d", i, d.int("version"), st.version)
		}
	}
	states := []struct {
		msg  int
		want string
	}{
		{0, `{"desired":{"a":1},"reported":{"a":1}}`},
		{1, `{"desired":{"mode":"eco"},"reported":{"mode":"off"},"delta":{"mode":"eco"}}`},
		{5, `{"reported":{"only":"reported"}}`},
		{6, `{"desired":{"only":"desired"},"delta":{"only":"desired"}}`},
	}
	msgs := rec.all()
	for _, st := range states {
		var got struct{ State json.RawMessage }
		if err := json.Unmarshal([]byte(msgs[st.msg].payload), &got); err != nil || string(got.State) != st.want {
			t.Errorf("%s after reload: state %s, want %s", msgs[st.msg].topic, got.State, st.want)
		}
	}
}

func TestNewRejectsADamagedSnapshot(t *testing.T) {
	dir := t.TempDir()
	s, _ := newTestService(t, Config{DataDir: dir})
	handle(t, s, nil, shadowTopic("x", "", "update"), `{"state":{"desired":{"a":1},"reported":{"a":1}}}`)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	snaps, _ := filepath.Glob(filepath.Join(dir, "shadows", "snap-*.bin"))
	if len(snaps) != 1 {
		t.Fatalf("snapshots after Close: %v, want one", snaps)
	}
	b, err := os.ReadFile(snaps[0])
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x08
	if err := os.WriteFile(snaps[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = New(Config{DataDir: dir}, newRecorder())
	if err == nil || !strings.Contains(err.Error(), snaps[0]) || !strings.Contains(err.Error(), "offset") || !strings.Contains(err.Error(), "checksum") {
		t.Fatalf("New with a damaged snapshot: %v, want a checksum error naming %s and an offset", err, snaps[0])
	}
}

func TestCloseStopsPublishingAndDropsLaterRequests(t *testing.T) {
	var clock testClock
	dir := t.TempDir()
	s, rec := newTestService(t, Config{Now: clock.Now, Latency: "fixed:1s", DataDir: dir})
	var c Conn
	handle(t, s, &c, shadowTopic("z", "", "update"), `{"state":{"desired":{"a":1},"reported":{"a":1}}}`)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	clock.set(time.Hour)
	handle(t, s, &c, shadowTopic("z", "", "update"), `{"state":{"desired":{"a":2},"reported":{"a":2}}}`)
	time.Sleep(10 * time.Millisecond)
	if msgs := rec.all(); len(msgs) != 0 {
		t.Fatalf("published %v after Close", msgs)
	}
	if c.InFlight() != 0 {
		t.Fatalf("in flight after Close = %d, want 0", c.InFlight())
	}
	s2, rec2 := newTestService(t, Config{DataDir: dir})
	handle(t, s2, nil, shadowTopic("z", "", "get"), ``)
	if d := decode(t, rec2.all()[0]); d.int("version") != 1 {
		t.Fatalf("after reload, get answered %v; want version 1 (the accepted update kept, the later one dropped)", d)
	}
}

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative rate", Config{RequestsPerSecond: -1}, "RequestsPerSecond"},
		{"negative in-flight", Config{InFlightPerConn: -1}, "InFlightPerConn"},
		{"bad latency", Config{Latency: "fixed"}, "Latency"},
		{"bad stall", Config{Stall: "1s"}, "Stall"},
		{"bad durability", Config{Durability: "fsync"}, "Durability"},
		{"negative sync interval", Config{SyncInterval: -1}, "SyncInterval"},
		{"negative compact bytes", Config{CompactBytes: -1}, "CompactBytes"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := New(tc.cfg, newRecorder())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error about %s", err, tc.want)
			}
		})
	}
	if _, err := New(Config{}, nil); err == nil {
		t.Fatal("New with a nil Publisher succeeded")
	}
}

// versionRecorder is a Publisher checking that each shadow's accepted
// versions rise by exactly one, in publish order.
type versionRecorder struct {
	mu   sync.Mutex
	last map[string]int64
	errs []string
}

func (v *versionRecorder) Publish(topic string, payload []byte) {
	if !strings.HasSuffix(topic, "/update/accepted") {
		return
	}
	i := bytes.Index(payload, []byte(`"version":`))
	var ver int64
	if i < 0 {
		ver = -1
	} else {
		fmt.Sscanf(string(payload[i+len(`"version":`):]), "%d", &ver)
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if want := v.last[topic] + 1; ver != want {
		v.errs = append(v.errs, fmt.Sprintf("%s: version %d after %d", topic, ver, v.last[topic]))
	}
	v.last[topic] = ver
}

func TestConcurrentUpdatesRaiseEachVersionByOne(t *testing.T) {
	for _, latency := range []string{"", "uniform:0s-2ms"} {
		t.Run("latency="+latency, func(t *testing.T) {
			vr := &versionRecorder{last: make(map[string]int64)}
			s, err := New(Config{Latency: latency, DataDir: t.TempDir()}, vr)
			if err != nil {
				t.Fatal(err)
			}
			const workers, shadows, perWorker = 8, 16, 300
			var wg sync.WaitGroup
			for w := range workers {
				wg.Go(func() {
					var c Conn
					for i := range perWorker {
						k := (w*7 + i) % shadows
						topic := shadowTopic(fmt.Sprintf("thing%d", k%4), fmt.Sprintf("s%d", k/4), "update")
						if k/4 == 0 {
							topic = shadowTopic(fmt.Sprintf("thing%d", k%4), "", "update")
						}
						s.Handle(&c, topic, []byte(`{"state":{"reported":{"w":1}}}`))
					}
				})
			}
			wg.Wait()
			eventually(t, "all responses published", func() bool { return s.Stats().Pending == 0 })
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			vr.mu.Lock()
			defer vr.mu.Unlock()
			if len(vr.errs) > 0 {
				t.Fatalf("%d version errors, first: %s", len(vr.errs), vr.errs[0])
			}
			var total int64
			for _, v := range vr.last {
				total += v
			}
			if len(vr.last) != shadows || total != workers*perWorker {
				t.Fatalf("%d shadows with versions summing to %d, want %d and %d", len(vr.last), total, shadows, workers*perWorker)
			}
			if st := s.Stats(); st.Accepted != workers*perWorker || st.Requests != workers*perWorker {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}
