package shadow

import (
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestUpdateRejections checks each §4 rejection, its exact document and
// AWS's order of checks.
func TestUpdateRejections(t *testing.T) {
	long := strings.Repeat("x", 65)
	cases := []struct {
		name, body, want string
		code             int
	}{
		{"invalid JSON", `{"state":`, `{"code":400,"message":"Invalid JSON"}`, 400},
		{"empty payload", ``, `{"code":400,"message":"Invalid JSON"}`, 400},
		{"not an object", `[1]`, `{"code":400,"message":"Invalid JSON"}`, 400},
		{"trailing data", `{"state":{}} {}`, `{"code":400,"message":"Invalid JSON"}`, 400},
		{"invalid JSON before invalid UTF-8", "{\"state\":{\"reported\":{\"a\":\"\xff\"}}", `{"code":400,"message":"Invalid JSON"}`, 400},
		{"invalid UTF-8", "{\"state\":{\"reported\":{\"a\":\"\xff\"}},\"clientToken\":\"c\"}",
			`{"code":415,"message":"Unsupported documented encoding; supported encoding is UTF-8","clientToken":"c"}`, 415},
		{"missing state", `{"clientToken":"c"}`, `{"code":400,"message":"Missing required node: state","clientToken":"c"}`, 400},
		{"state not object", `{"state":[]}`, `{"code":400,"message":"State node must be an object"}`, 400},
		{"state string", `{"state":"x"}`, `{"code":400,"message":"State node must be an object"}`, 400},
		{"desired not object", `{"state":{"desired":1}}`, `{"code":400,"message":"Desired node must be an object"}`, 400},
		{"reported not object", `{"state":{"reported":[1]}}`, `{"code":400,"message":"Reported node must be an object"}`, 400},
		{"section type before unknown key", `{"state":{"foo":1,"reported":"x"}}`, `{"code":400,"message":"Reported node must be an object"}`, 400},
		{"unknown key in state", `{"state":{"delta":{"a":1}}}`, `{"code":400,"message":"State contains an invalid node"}`, 400},
		{"unknown key before version", `{"state":{"x":1},"version":-1}`, `{"code":400,"message":"State contains an invalid node"}`, 400},
		{"negative version", `{"state":{},"version":-1}`, `{"code":400,"message":"Invalid version"}`, 400},
		{"fractional version", `{"state":{},"version":1.5}`, `{"code":400,"message":"Invalid version"}`, 400},
		{"exponent version", `{"state":{},"version":1e2}`, `{"code":400,"message":"Invalid version"}`, 400},
		{"string version", `{"state":{},"version":"1"}`, `{"code":400,"message":"Invalid version"}`, 400},
		{"null version", `{"state":{},"version":null}`, `{"code":400,"message":"Invalid version"}`, 400},
		{"overflowing version", `{"state":{},"version":9223372036854775808}`, `{"code":400,"message":"Invalid version"}`, 400},
		{"version before token", `{"state":{},"version":"x","clientToken":5}`, `{"code":400,"message":"Invalid version"}`, 400},
		{"token too long", `{"state":{},"clientToken":"` + long + `"}`, `{"code":400,"message":"Invalid clientToken"}`, 400},
		{"token not string", `{"state":{},"clientToken":5}`, `{"code":400,"message":"Invalid clientToken"}`, 400},
		{"token null", `{"state":{},"clientToken":null}`, `{"code":400,"message":"Invalid clientToken"}`, 400},
		{"array holding null", `{"state":{"reported":{"a":[1,null]}},"clientToken":"c"}`, `{"code":400,"message":"Invalid JSON","clientToken":"c"}`, 400},
		{"nested array holding null", `{"state":{"desired":{"a":[[null]]}}}`, `{"code":400,"message":"Invalid JSON"}`, 400},
		{"object in array holding null", `{"state":{"desired":{"a":[{"b":null}]}}}`, `{"code":400,"message":"Invalid JSON"}`, 400},
		{"array null before nesting", `{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":[null]}}}}}}}}}`, `{"code":400,"message":"Invalid JSON"}`, 400},
		{"too deep", `{"state":{"desired":{"a":{"b":{"c":{"d":{"e":{"f":{"g":1}}}}}}}}}`, `{"code":400,"message":"JSON contains too many levels of nesting; maximum is 6"}`, 400},
		{"too deep through arrays", `{"state":{"reported":{"a":[[[[[[1]]]]]]}}}`, `{"code":400,"message":"JSON contains too many levels of nesting; maximum is 6"}`, 400},
		{"escaped token echoed", `{"state":1,"clientToken":"a\"b"}`, `{"code":400,"message":"State node must be an object","clientToken":"a\"b"}`, 400},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{Name: "t"}
			r := s.Update([]byte(c.body), 7, Limits{})
			if r.Code != c.code || string(r.Rejected) != c.want {
				t.Errorf("got %d %s\nwant %d %s", r.Code, r.Rejected, c.code, c.want)
			}
			if r.Accepted != nil || r.Documents != nil || r.Delta != nil || r.Version != 0 {
				t.Errorf("rejection carries accepted documents or a version: %+v", r)
			}
			if s.Exists() || s.Version() != 0 {
				t.Errorf("rejected update changed the shadow: exists %v version %d", s.Exists(), s.Version())
			}
		})
	}
}

// TestUpdateRejectsArrayWithNull is the 400 for arrays holding null, and
// arrays without null are fine at the same place.
func TestUpdateRejectsArrayWithNull(t *testing.T) {
	s := &Shadow{Name: "t"}
	if r := s.Update([]byte(`{"state":{"reported":{"a":[null]}}}`), 1, Limits{}); r.Code != 400 {
		t.Fatalf("array holding null: code %d, want 400", r.Code)
	}
	update(t, s, `{"state":{"reported":{"a":[1,"x",{"b":2}]}}}`, 1)
}

// TestNestingLimitIsConfigurable checks the configured depth in the check
// and in the message.
func TestNestingLimitIsConfigurable(t *testing.T) {
	cases := []struct {
		maxDepth int
		body     string
		want     int
	}{
		{0, `{"state":{"desired":{"1":{"2":{"3":{"4":{"5":{"6":1}}}}}}}}`, 0},
		{0, `{"state":{"desired":{"1":{"2":{"3":{"4":{"5":{"6":{"7":1}}}}}}}}}`, 400},
		{8, `{"state":{"desired":{"1":{"2":{"3":{"4":{"5":{"6":{"7":{"8":1}}}}}}}}}}`, 0},
		{2, `{"state":{"desired":{"1":{"2":{"3":1}}}}}`, 400},
		{2, `{"state":{"desired":{"1":{"2":1}}}}`, 0},
	}
	for _, c := range cases {
		s := &Shadow{}
		r := s.Update([]byte(c.body), 1, Limits{MaxDepth: c.maxDepth})
		if r.Code != c.want {
			t.Errorf("MaxDepth %d %s: code %d, want %d", c.maxDepth, c.body, r.Code, c.want)
		}
		if c.want != 0 {
			want := NestingMessage(max(c.maxDepth, DefaultMaxDepth))
			if c.maxDepth != 0 {
				want = NestingMessage(c.maxDepth)
			}
			if !strings.Contains(string(r.Rejected), want) {
				t.Errorf("MaxDepth %d: rejection %s lacks %q", c.maxDepth, r.Rejected, want)
			}
		}
	}
	deep := `{"state":{"desired":` + strings.Repeat(`{"a":`, maxParseDepth+5) + `1` + strings.Repeat(`}`, maxParseDepth+5) + `}}`
	if r := (&Shadow{}).Update([]byte(deep), 1, Limits{}); string(r.Rejected) != `{"code":400,"message":"JSON contains too many levels of nesting; maximum is 6"}` {
		t.Errorf("very deep document: %s", r.Rejected)
	}
}

// TestClientTokenLimit checks the configurable token limit and that a
// token of exactly the limit passes.
func TestClientTokenLimit(t *testing.T) {
	cases := []struct {
		limit, size, want int
	}{
		{0, 64, 0}, {0, 65, 400}, {8, 8, 0}, {8, 9, 400},
	}
	for _, c := range cases {
		body := `{"state":{},"clientToken":"` + strings.Repeat("k", c.size) + `"}`
		r := (&Shadow{}).Update([]byte(body), 1, Limits{MaxClientTokenBytes: c.limit})
		if r.Code != c.want {
			t.Errorf("limit %d token %d bytes: code %d, want %d", c.limit, c.size, r.Code, c.want)
		}
		if c.want == 0 && len(r.ClientToken) != c.size {
			t.Errorf("limit %d: ClientToken %q", c.limit, r.ClientToken)
		}
	}
}

// TestVersionRules covers creation at 1, +1 per accepted update (null-only
// and empty updates too) and optimistic locking.
func TestVersionRules(t *testing.T) {
	s := &Shadow{Name: "t"}
	steps := []struct {
		body        string
		wantCode    int
		wantVersion int64
	}{
		{`{"state":{"reported":{"a":1}}}`, 0, 1},
		{`{"state":{}}`, 0, 2},
		{`{"state":{"reported":{"zz":null}}}`, 0, 3},
		{`{"state":{"reported":{"a":2}},"version":2}`, 409, 3},
		{`{"state":{"reported":{"a":2}},"version":3}`, 0, 4},
		{`{"state":null}`, 0, 5},
		{`{"state":{"desired":null}}`, 0, 6},
	}
	for i, st := range steps {
		r := s.Update([]byte(st.body), int64(i), Limits{})
		if r.Code != st.wantCode || s.Version() != st.wantVersion {
			t.Errorf("step %d %s: code %d version %d, want %d %d", i, st.body, r.Code, s.Version(), st.wantCode, st.wantVersion)
		}
		if r.Code == 0 && r.Version != st.wantVersion {
			t.Errorf("step %d: Result.Version %d, want %d", i, r.Version, st.wantVersion)
		}
		if r.Code == 409 && string(r.Rejected) != `{"code":409,"message":"Version conflict"}` {
			t.Errorf("step %d: %s", i, r.Rejected)
		}
	}
}

// TestOptimisticLockingAtTen is the reference's example: stored 10, request
// 10 → accepted as 11.
func TestOptimisticLockingAtTen(t *testing.T) {
	s := &Shadow{}
	for i := range 10 {
		update(t, s, `{"state":{"reported":{"n":`+string(rune('0'+i))+`}}}`, 1)
	}
	if r := s.Update([]byte(`{"state":{"reported":{"n":10}},"version":9,"clientToken":"c"}`), 2, Limits{}); string(r.Rejected) != `{"code":409,"message":"Version conflict","clientToken":"c"}` {
		t.Errorf("stale version: %s", r.Rejected)
	}
	if r := update(t, s, `{"state":{"reported":{"n":10}},"version":10}`, 2); r.Version != 11 {
		t.Errorf("version %d, want 11", r.Version)
	}
}

// TestDeleteKeepsVersion checks delete/accepted, that a deleted shadow
// answers 404 and that re-creation continues from the kept version.
func TestDeleteKeepsVersion(t *testing.T) {
	run(t, "named-1", Limits{}, []step{
		{op: OpUpdate, body: `{"state":{"reported":{"a":1}}}`, now: 1, docs: "-", delta: "-",
			accepted: `{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":1}}},"version":1,"timestamp":1}`},
		{op: OpUpdate, body: `{"state":{"reported":{"a":2}}}`, now: 2, docs: "-", delta: "-",
			accepted: `{"state":{"reported":{"a":2}},"metadata":{"reported":{"a":{"timestamp":2}}},"version":2,"timestamp":2}`},
		{op: OpDelete, body: `{"version":1}`, now: 3, code: 409, rejected: `{"code":409,"message":"Version conflict"}`},
		{op: OpDelete, body: `{"version":2,"clientToken":"x"}`, now: 3, accepted: `{"version":2,"timestamp":3,"clientToken":"x"}`},
		{op: OpGet, now: 4, code: 404, rejected: `{"code":404,"message":"No shadow exists with name: 'named-1'"}`},
		{op: OpDelete, body: `{"clientToken":"y"}`, now: 4, code: 404, rejected: `{"code":404,"message":"No shadow exists with name: 'named-1'","clientToken":"y"}`},
		{op: OpUpdate, body: `{"state":{"reported":{"b":1}},"version":2}`, now: 5, delta: "",
			accepted: `{"state":{"reported":{"b":1}},"metadata":{"reported":{"b":{"timestamp":5}}},"version":3,"timestamp":5}`,
			docs:     `{"current":{"state":{"reported":{"b":1}},"metadata":{"reported":{"b":{"timestamp":5}}},"version":3},"timestamp":5}`},
		{op: OpGet, now: 6, accepted: `{"state":{"reported":{"b":1}},"metadata":{"reported":{"b":{"timestamp":5}}},"version":3,"timestamp":6}`},
	})
}

// TestGetAndDeleteBodies checks the optional get/delete body fields.
func TestGetAndDeleteBodies(t *testing.T) {
	s := &Shadow{Name: "t"}
	update(t, s, `{"state":{"reported":{"a":1}}}`, 1)
	cases := []struct {
		name, body, want string
	}{
		{"empty", ``, `{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":1}}},"version":1,"timestamp":9}`},
		{"whitespace", " \n", `{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":1}}},"version":1,"timestamp":9}`},
		{"token", `{"clientToken":"c"}`, `{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":1}}},"version":1,"timestamp":9,"clientToken":"c"}`},
		{"matching version", `{"version":1,"other":[null]}`, `{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":1}}},"version":1,"timestamp":9}`},
		{"version conflict", `{"version":2,"clientToken":"c"}`, `{"code":409,"message":"Version conflict","clientToken":"c"}`},
		{"invalid JSON", `{"clientToken":`, `{"code":400,"message":"Invalid JSON"}`},
		{"invalid version", `{"version":"1"}`, `{"code":400,"message":"Invalid version"}`},
		{"invalid token", `{"clientToken":1}`, `{"code":400,"message":"Invalid clientToken"}`},
		{"invalid UTF-8", "{\"x\":\"\xc3\"}", `{"code":415,"message":"Unsupported documented encoding; supported encoding is UTF-8"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.Get([]byte(c.body), 9, Limits{})
			got := string(r.Accepted) + string(r.Rejected)
			if got != c.want {
				t.Errorf("get\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestSizeLimit checks 413 on the merged stored state, even for a tiny
// request, leaving the shadow unchanged.
func TestSizeLimit(t *testing.T) {
	lim := Limits{MaxStateBytes: 64}
	// {"desired":{"a":""}} is 20 bytes.
	fill := func(n int) string { return `{"state":{"desired":{"a":"` + strings.Repeat("x", n) + `"}}}` }
	if r := (&Shadow{}).Update([]byte(fill(45)), 1, lim); r.Code != 413 {
		t.Errorf("state one byte over the limit: code %d", r.Code)
	}
	s := &Shadow{Name: "t"}
	if r := s.Update([]byte(fill(44)), 1, lim); r.Code != 0 {
		t.Fatalf("state of exactly the limit: %s", r.Rejected)
	}
	want := getState(t, s)
	r := s.Update([]byte(`{"state":{"reported":{"b":1},"desired":{"zz":null}},"clientToken":"c"}`), 2, lim)
	if string(r.Rejected) != `{"code":413,"message":"The payload exceeds the maximum size allowed","clientToken":"c"}` {
		t.Fatalf("tiny request over the limit: %s", r.Rejected)
	}
	if got := getState(t, s); s.Version() != 1 || got != want {
		t.Errorf("shadow changed by a 413: version %d state %s", s.Version(), got)
	}
	// Replacing the value by a shorter one fits; removing a field makes room.
	update(t, s, `{"state":{"desired":{"a":"short"}}}`, 3)
	update(t, s, `{"state":{"desired":{"a":null}}}`, 3)
	if r := s.Update([]byte(`{"state":{"reported":{"b":1}}}`), 4, lim); r.Code != 0 {
		t.Errorf("after freeing space: %s", r.Rejected)
	}
	// The default limit is 8192 bytes: {"reported":{"a":""}} is 21.
	big := &Shadow{}
	body := `{"state":{"reported":{"a":"` + strings.Repeat("y", 8192-21) + `"}}}`
	if r := big.Update([]byte(body), 1, Limits{}); r.Code != 0 {
		t.Errorf("8192-byte state: %s", r.Rejected)
	}
	if r := big.Update([]byte(`{"state":{"desired":{}}}`), 1, Limits{}); r.Code != 0 {
		t.Errorf("empty update at the limit: %s", r.Rejected)
	}
	if r := big.Update([]byte(`{"state":{"desired":{"b":1}}}`), 1, Limits{}); r.Code != 413 {
		t.Errorf("over 8192: code %d", r.Code)
	}
}

// TestClientTokenEchoedWhenPresent checks that every reply to a request
// carrying clientToken echoes it, accepted or rejected, even when it is
// the empty string, and that no reply invents one.
func TestClientTokenEchoedWhenPresent(t *testing.T) {
	cases := []struct {
		name string
		op   Op
		body string
		want string // accepted or rejected document
	}{
		{"update accepted, empty token", OpUpdate, `{"state":{"reported":{"a":2}},"clientToken":""}`,
			`{"state":{"reported":{"a":2}},"metadata":{"reported":{"a":{"timestamp":5}}},"version":2,"timestamp":5,"clientToken":""}`},
		{"update rejected, empty token", OpUpdate, `{"state":{"reported":{"a":2}},"version":7,"clientToken":""}`,
			`{"code":409,"message":"Version conflict","clientToken":""}`},
		{"update rejected, token", OpUpdate, `{"state":1,"clientToken":"c"}`,
			`{"code":400,"message":"State node must be an object","clientToken":"c"}`},
		{"update rejected, no token", OpUpdate, `{"state":1}`,
			`{"code":400,"message":"State node must be an object"}`},
		{"get accepted, empty token", OpGet, `{"clientToken":""}`,
			`{"state":{"reported":{"a":1}},"metadata":{"reported":{"a":{"timestamp":1}}},"version":1,"timestamp":5,"clientToken":""}`},
		{"get rejected, empty token", OpGet, `{"version":7,"clientToken":""}`,
			`{"code":409,"message":"Version conflict","clientToken":""}`},
		{"delete accepted, empty token", OpDelete, `{"clientToken":""}`,
			`{"version":1,"timestamp":5,"clientToken":""}`},
		{"delete rejected, empty token", OpDelete, `{"version":"x","clientToken":""}`,
			`{"code":400,"message":"Invalid version","clientToken":""}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{Name: "t"}
			update(t, s, `{"state":{"reported":{"a":1}}}`, 1)
			var r Result
			switch c.op {
			case OpUpdate:
				r = s.Update([]byte(c.body), 5, Limits{})
			case OpGet:
				r = s.Get([]byte(c.body), 5, Limits{})
			case OpDelete:
				r = s.Delete([]byte(c.body), 5, Limits{})
			}
			if got := string(r.Accepted) + string(r.Rejected); got != c.want {
				t.Errorf("\n got %s\nwant %s", got, c.want)
			}
		})
	}
}

// TestUpdateAcceptedMetadataAtAnyTime checks that update/accepted carries
// timestamps, not values, in its metadata whatever the clock says,
// including times before the epoch.
func TestUpdateAcceptedMetadataAtAnyTime(t *testing.T) {
	cases := []struct {
		name string
		now  int64
		want string
	}{
		{"before the epoch", -5, `{"state":{"desired":{"a":1,"o":{"b":"x"}}},"metadata":{"desired":{"a":{"timestamp":-5},"o":{"b":{"timestamp":-5}}}},"version":1,"timestamp":-5}`},
		{"at the epoch", 0, `{"state":{"desired":{"a":1,"o":{"b":"x"}}},"metadata":{"desired":{"a":{"timestamp":0},"o":{"b":{"timestamp":0}}}},"version":1,"timestamp":0}`},
		{"now", 1730481958, `{"state":{"desired":{"a":1,"o":{"b":"x"}}},"metadata":{"desired":{"a":{"timestamp":1730481958},"o":{"b":{"timestamp":1730481958}}}},"version":1,"timestamp":1730481958}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{}
			r := update(t, s, `{"state":{"desired":{"a":1,"o":{"b":"x"}}}}`, c.now)
			if string(r.Accepted) != c.want {
				t.Errorf("accepted\n got %s\nwant %s", r.Accepted, c.want)
			}
			wantDelta := `{"state":{"a":1,"o":{"b":"x"}},"metadata":{"a":{"timestamp":` + strconv.FormatInt(c.now, 10) + `},"o":{"b":{"timestamp":` + strconv.FormatInt(c.now, 10) + `}}},"version":1,"timestamp":` + strconv.FormatInt(c.now, 10) + `}`
			if string(r.Delta) != wantDelta {
				t.Errorf("delta\n got %s\nwant %s", r.Delta, wantDelta)
			}
		})
	}
}

// TestRequestsDoNotRetainPayload checks that once a request returns, the
// Shadow holds no reference to its payload, whether it was accepted or
// rejected halfway through parsing.
func TestRequestsDoNotRetainPayload(t *testing.T) {
	cases := []struct {
		name string
		op   Op
		body string
	}{
		{"accepted update", OpUpdate, `{"state":{"reported":{"a":1,"l":[1,2]}},"clientToken":"c"}`},
		{"update cut inside an object", OpUpdate, `{"state":{"reported":{"a":1,"b":`},
		{"update cut inside an array", OpUpdate, `{"state":{"reported":{"l":[1,{"k":2},`},
		{"rejected update", OpUpdate, `{"state":{"reported":{"a":[null]}}}`},
		{"get cut inside an object", OpGet, `{"clientToken":"x","a":{"b":1,`},
		{"delete cut inside an array", OpDelete, `{"clientToken":"x","a":[1,2`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &Shadow{Name: "t"}
			update(t, s, `{"state":{"reported":{"z":1}}}`, 1)
			freed := make(chan struct{})
			func() {
				payload := []byte(c.body)
				runtime.AddCleanup(&payload[0], func(ch chan struct{}) { close(ch) }, freed)
				switch c.op {
				case OpUpdate:
					s.Update(payload, 2, Limits{})
				case OpGet:
					s.Get(payload, 2, Limits{})
				case OpDelete:
					s.Delete(payload, 2, Limits{})
				}
			}()
			deadline := time.Now().Add(2 * time.Second)
			for {
				runtime.GC()
				select {
				case <-freed:
					runtime.KeepAlive(s)
					return
				case <-time.After(time.Millisecond):
				}
				if time.Now().After(deadline) {
					t.Fatal("the payload is still reachable from the Shadow")
				}
			}
		})
	}
}

// TestRepliesAllocateOnce checks that every reply document is built in one
// allocation (plus the token string when the request had a token).
func TestRepliesAllocateOnce(t *testing.T) {
	s := &Shadow{Name: "t"}
	update(t, s, `{"state":{"reported":{"a":1}},"clientToken":"c"}`, 1730481958)
	stale := []byte(`{"state":{},"version":99}`)
	staleTok := []byte(`{"state":{},"version":99,"clientToken":"tok-000001"}`)
	staleLongTok := []byte(`{"state":{},"version":99,"clientToken":"` + strings.Repeat("k", 64) + `"}`)
	tooBig := []byte(`{"state":{"reported":{"b":"` + strings.Repeat("x", 64) + `"}},"clientToken":"tok-000001"}`)
	tok := []byte(`{"clientToken":"tok-000001"}`)
	cases := []struct {
		name string
		do   func()
		want float64
	}{
		{"rejection", func() { s.Update(stale, 1730481958, Limits{}) }, 1},
		{"rejection with token", func() { s.Update(staleTok, 1730481958, Limits{}) }, 2},
		{"rejection with 64-byte token", func() { s.Update(staleLongTok, 1730481958, Limits{}) }, 2},
		{"rejection with a long message", func() { s.Update(tooBig, 1730481958, Limits{MaxStateBytes: 64}) }, 2},
		{"delete with token", func() {
			s.exists, s.version = true, 1<<62
			s.Delete(tok, 1730481958, Limits{})
		}, 2},
		{"delete", func() {
			s.exists = true
			s.Delete(nil, 1730481958, Limits{})
		}, 1},
	}
	for _, c := range cases {
		c.do()
		if got := testing.AllocsPerRun(50, c.do); got != c.want {
			t.Errorf("%s: %v allocations, want %v", c.name, got, c.want)
		}
	}
}
