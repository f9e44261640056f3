package shadowsvc

import (
	"testing"
	"time"
)

func TestBucketAllowsRatePerSecond(t *testing.T) {
	const rate = 20
	cost := int64(time.Second) / rate
	ms := int64(time.Millisecond)
	steps := []struct {
		at    int64
		n     int
		allow int
	}{
		{at: 0, n: 25, allow: 20},
		{at: 10 * ms, n: 5, allow: 0},
		{at: 50 * ms, n: 5, allow: 1},
		{at: 500 * ms, n: 20, allow: 9},
		{at: 5000 * ms, n: 30, allow: 20},
	}
	var b bucket
	for _, st := range steps {
		got := 0
		for range st.n {
			if b.allow(st.at, cost) {
				got++
			}
		}
		if got != st.allow {
			t.Errorf("at %v: %d of %d requests allowed, want %d", time.Duration(st.at), got, st.n, st.allow)
		}
	}
}

func TestBucketStartsFullAtFirstUse(t *testing.T) {
	var b bucket
	cost := int64(time.Second) / 3
	at := int64(time.Hour)
	for i := range 3 {
		if !b.allow(at, cost) {
			t.Fatalf("request %d at first use refused, want a full bucket", i)
		}
	}
	if b.allow(at, cost) {
		t.Fatal("4th request in the same instant allowed at 3 per second")
	}
}
