package shadowsvc

import (
	"strings"
	"testing"
	"time"
)

func TestParseStall(t *testing.T) {
	tests := []struct {
		spec string
		want Stall
		err  string
	}{
		{spec: "", want: Stall{}},
		{spec: "10s:1s", want: Stall{Every: 10 * time.Second, For: time.Second}},
		{spec: "1m:30s", want: Stall{Every: time.Minute, For: 30 * time.Second}},
		{spec: "10s", err: "missing ':'"},
		{spec: "x:1s", err: "EVERY"},
		{spec: "10s:y", err: "FOR"},
		{spec: "1s:1s", err: "FOR < EVERY"},
		{spec: "1s:0s", err: "0 < FOR"},
		{spec: "-1s:-2s", err: "0 < FOR"},
	}
	for _, tc := range tests {
		got, err := ParseStall(tc.spec)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("ParseStall(%q) error %v, want one mentioning %q", tc.spec, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseStall(%q) = %+v, %v; want %+v", tc.spec, got, err, tc.want)
		}
		if got.String() != tc.spec && tc.spec != "1m:30s" {
			t.Errorf("ParseStall(%q).String() = %q", tc.spec, got.String())
		}
	}
}

func TestStallReleaseHoldsUntilThePauseEnds(t *testing.T) {
	s := Stall{Every: 10 * time.Second, For: time.Second}
	ms := time.Millisecond
	tests := []struct{ at, want time.Duration }{
		{0, 0},
		{9999 * ms, 9999 * ms},
		{10 * time.Second, 11 * time.Second},
		{10500 * ms, 11 * time.Second},
		{11 * time.Second, 11 * time.Second},
		{15 * time.Second, 15 * time.Second},
		{20999 * ms, 21 * time.Second},
		{-time.Second, -time.Second},
	}
	for _, tc := range tests {
		if got := s.Release(tc.at); got != tc.want {
			t.Errorf("Release(%v) = %v, want %v", tc.at, got, tc.want)
		}
	}
	if got := (Stall{}).Release(10 * time.Second); got != 10*time.Second {
		t.Errorf("zero Stall Release(10s) = %v, want 10s", got)
	}
}

func FuzzParseStall(f *testing.F) {
	for _, s := range []string{"", "10s:1s", "1h:59m", "1ns:0s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		s, err := ParseStall(spec)
		if err != nil {
			return
		}
		back, err := ParseStall(s.String())
		if err != nil || back != s {
			t.Fatalf("ParseStall(%q) = %+v; reparsing %q gives %+v, %v", spec, s, s.String(), back, err)
		}
		for _, at := range []time.Duration{0, s.Every, s.Every + s.For/2, 3*s.Every - 1} {
			r := s.Release(at)
			if r < at || s.Release(r) != r {
				t.Fatalf("%+v: Release(%v) = %v, want a time ≥ it outside any pause", s, at, r)
			}
		}
	})
}
