package iotcore

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckTopic(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
	}{
		{"a/b", nil},
		{"$aws/things/x/shadow/update", nil},
		{"", ErrEmptyTopic},
		{"a/+/b", ErrWildcardTopic},
		{"a/#", ErrWildcardTopic},
		{strings.Repeat("a", MaxTopicBytes), nil},
		{strings.Repeat("a", MaxTopicBytes+1), ErrTopicTooLong},
		{"1/2/3/4/5/6/7/8", nil},
		{"1/2/3/4/5/6/7/8/9", ErrTooManySlash},
		{"$aws/rules/r/1/2/3/4/5/6/7/8", nil}, // the Basic Ingest prefix does not count
		{"$aws/rules/r/1/2/3/4/5/6/7/8/9", ErrTooManySlash},
		{"$aws/rules/r/" + strings.Repeat("a", MaxTopicBytes), nil},
		{"a\x00b", ErrNotUTF8},
		{"a\xffb", ErrNotUTF8},
	} {
		if err := CheckTopic(tc.name); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("CheckTopic(%.30q) = %v, want %v", tc.name, err, tc.want)
		}
	}
}

func TestCheckFilter(t *testing.T) {
	for _, tc := range []struct {
		filter string
		want   error
	}{
		{"a/b", nil},
		{"#", nil},
		{"+", nil},
		{"a/+/c/#", nil},
		{"", ErrEmptyTopic},
		{"a/#/c", ErrBadWildcard},
		{"a/b#", ErrBadWildcard},
		{"a+/b", ErrBadWildcard},
		{"1/2/3/4/5/6/7/#", nil},
		{"1/2/3/4/5/6/7/8/#", ErrTooManySlash},
		{"$share/g/1/2/3/4/5/6/7/#", nil}, // the $share/{group}/ slashes do not count
		{"$share/g/1/2/3/4/5/6/7/8/#", ErrTooManySlash},
		{"$share/g/" + strings.Repeat("a", MaxTopicBytes), nil},
		{"$share/g/" + strings.Repeat("a", MaxTopicBytes+1), ErrTopicTooLong},
		{"$share/g", ErrBadShare},
		{"$share//a", ErrBadShare},
		{"$share/g+/a", ErrBadShare},
		{"$share/g/", ErrBadShare},
		{"$share/" + strings.Repeat("g", MaxShareNameChars) + "/a", nil},
		{"$share/" + strings.Repeat("g", MaxShareNameChars+1) + "/a", ErrBadShare},
		{"$share/g/a/#/b", ErrBadWildcard},
	} {
		if err := CheckFilter(tc.filter); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
			t.Errorf("CheckFilter(%.40q) = %v, want %v", tc.filter, err, tc.want)
		}
	}
}

func TestSplitShared(t *testing.T) {
	g, f, shared, err := SplitShared("$share/grp/a/+/c")
	if g != "grp" || f != "a/+/c" || !shared || err != nil {
		t.Errorf("SplitShared = %q, %q, %v, %v; want grp, a/+/c, true, nil", g, f, shared, err)
	}
	if _, f, shared, err := SplitShared("a/b"); f != "a/b" || shared || err != nil {
		t.Errorf("SplitShared(a/b) = %q, %v, %v; want a/b, false, nil", f, shared, err)
	}
}

func TestClampKeepAlive(t *testing.T) {
	for in, want := range map[uint16]uint16{0: 1200, 1: 30, 29: 30, 30: 30, 600: 600, 1200: 1200, 1201: 1200, 65535: 1200} {
		if got := ClampKeepAlive(in); got != want {
			t.Errorf("ClampKeepAlive(%d) = %d, want %d", in, got, want)
		}
	}
}

func TestClampMessageExpiry(t *testing.T) {
	for in, want := range map[uint32]uint32{0: 1, 1: 1, 3600: 3600, 604800: 604800, 604801: 604800} {
		if got := ClampMessageExpiry(in); got != want {
			t.Errorf("ClampMessageExpiry(%d) = %d, want %d", in, got, want)
		}
	}
}

func FuzzCheckFilter(f *testing.F) {
	for _, s := range []string{"a/b", "#", "$share/g/a/#", "$aws/rules/r/a", "a/#/b", "$share//"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := CheckFilter(s)
		if err == nil {
			inner := s
			if _, rest, shared, _ := SplitShared(s); shared {
				inner = rest
			}
			if inner == "" || strings.Count(countedTopic(inner), "/") > MaxTopicSlashes {
				t.Fatalf("CheckFilter(%q) accepted a filter over the limits", s)
			}
		}
		if CheckTopic(s) == nil && strings.ContainsAny(s, "+#") {
			t.Fatalf("CheckTopic(%q) accepted a wildcard", s)
		}
	})
}
