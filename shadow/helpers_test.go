package shadow

import (
	"encoding/json"
	"testing"
)

// step is one request against a shadow and the exact documents expected.
type step struct {
	op       Op
	body     string
	now      int64
	code     int
	accepted string
	rejected string
	docs     string
	delta    string
}

// run plays steps against a fresh shadow named name and compares every
// document byte for byte.
func run(t *testing.T, name string, lim Limits, steps []step) *Shadow {
	t.Helper()
	s := &Shadow{Name: name}
	for i, st := range steps {
		var r Result
		switch st.op {
		case OpUpdate:
			r = s.Update([]byte(st.body), st.now, lim)
		case OpGet:
			r = s.Get([]byte(st.body), st.now, lim)
		case OpDelete:
			r = s.Delete([]byte(st.body), st.now, lim)
		}
		check := func(what, got, want string) {
			t.Helper()
			if got != want {
				t.Errorf("step %d %s %s:\n got %s\nwant %s", i, st.op, what, got, want)
			}
			if got != "" && !json.Valid([]byte(got)) {
				t.Errorf("step %d %s %s is not valid JSON: %s", i, st.op, what, got)
			}
		}
		if r.Code != st.code {
			t.Errorf("step %d %s: code %d, want %d (rejected %s)", i, st.op, r.Code, st.code, r.Rejected)
		}
		check("accepted", string(r.Accepted), st.accepted)
		check("rejected", string(r.Rejected), st.rejected)
		if st.docs != "-" {
			check("documents", string(r.Documents), st.docs)
		}
		if st.delta != "-" {
			check("delta", string(r.Delta), st.delta)
		}
	}
	return s
}

// update applies body and fails the test when it is rejected.
func update(t *testing.T, s *Shadow, body string, now int64) Result {
	t.Helper()
	r := s.Update([]byte(body), now, Limits{})
	if r.Code != 0 {
		t.Fatalf("update %s: rejected %s", body, r.Rejected)
	}
	return r
}

// getState returns get/accepted's state for s.
func getState(t *testing.T, s *Shadow) string {
	t.Helper()
	r := s.Get(nil, 1, Limits{})
	if r.Code != 0 {
		t.Fatalf("get: rejected %s", r.Rejected)
	}
	rep, err := ParseReply(r.Accepted)
	if err != nil {
		t.Fatalf("get: %v", err)
	}
	return string(rep.State)
}
