package fleet

import (
	"strings"
	"testing"

	"github.com/shadowload/shadowload/shadow"
)

func TestThingNamePatterns(t *testing.T) {
	tests := []struct {
		pattern string
		i       int
		want    string
	}{
		{"sim-{i:05}", 0, "sim-00000"},
		{"sim-{i:05}", 42, "sim-00042"},
		{"sim-{i:05}", 123456, "sim-123456"},
		{"observer-{i:02}", 3, "observer-03"},
		{"dev{i}", 0, "dev0"},
		{"dev{i}", 9876, "dev9876"},
		{"{i}", 7, "7"},
		{"a:{i}_b-03", 5, "a:5_b-03"},
		{"single-thing", 0, "single-thing"},
		{"single-thing", 99, "single-thing"},
		{"x{i:001}", 12, "x12"},
		{strings.Repeat("a", 123) + "{i:05}", 1, strings.Repeat("a", 123) + "00001"},
	}
	for _, tc := range tests {
		got, err := ThingName(tc.pattern, tc.i)
		if err != nil {
			t.Errorf("ThingName(%q, %d): %v", tc.pattern, tc.i, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ThingName(%q, %d) = %q, want %q", tc.pattern, tc.i, got, tc.want)
		}
	}
}

func TestThingNameRejectsBadPatterns(t *testing.T) {
	tests := []struct {
		name, pattern string
		i             int
		wantInErr     string
	}{
		{"empty pattern", "", 0, "empty"},
		{"unclosed brace", "sim-{i", 0, "unclosed"},
		{"unmatched close", "sim-i}", 0, "unmatched"},
		{"two placeholders", "a{i}-{i:03}", 0, "exactly one"},
		{"unknown placeholder", "sim-{j}", 0, "want {i}"},
		{"width without zero", "sim-{i:5}", 0, "want {i}"},
		{"width zero", "sim-{i:00}", 0, "out of range"},
		{"width not a number", "sim-{i:0x}", 0, "not a decimal"},
		{"width too large", "sim-{i:0999999999999999999999}", 0, "out of range"},
		{"empty placeholder", "sim-{}", 0, "want {i}"},
		{"negative index", "sim-{i}", -1, "negative"},
		{"space in name", "sim {i}", 0, "character ' '"},
		{"slash in name", "sim/{i}", 0, "character '/'"},
		{"dot in name", "sim.{i}", 0, "character '.'"},
		{"dollar in name", "$sim{i}", 0, "character '$'"},
		{"non-ASCII in name", "sïm{i}", 0, "character"},
		{"too long", strings.Repeat("a", 124) + "{i:05}", 0, "want 1–128"},
		{"padding makes too long", "{i:0129}", 0, "out of range"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ThingName(tc.pattern, tc.i)
			if err == nil {
				t.Fatalf("ThingName(%q, %d) = %q, want an error", tc.pattern, tc.i, got)
			}
			if !strings.Contains(err.Error(), tc.wantInErr) {
				t.Errorf("error %q does not mention %q", err, tc.wantInErr)
			}
		})
	}
}

func FuzzThingName(f *testing.F) {
	for _, seed := range []string{"sim-{i:05}", "observer-{i:02}", "{i}", "x{i:0", "}{", "{i:0128}", "a{i}{i:03}b", "{{i}}"} {
		f.Add(seed, 7)
	}
	f.Fuzz(func(t *testing.T, pattern string, i int) {
		name, err := ThingName(pattern, i)
		if err != nil {
			return
		}
		if verr := shadow.ValidateThingName(name); verr != nil {
			t.Fatalf("ThingName(%q, %d) = %q, which is not a valid thing name: %v", pattern, i, name, verr)
		}
		if !strings.ContainsAny(pattern, "{}") && name != pattern {
			t.Fatalf("pattern %q without placeholders expanded to %q", pattern, name)
		}
		p, perr := ParseNamePattern(pattern)
		if perr != nil {
			t.Fatalf("ThingName(%q, %d) = %q, but the pattern does not parse: %v", pattern, i, name, perr)
		}
		if back, ok := p.Index(name); p.Indexed() && (!ok || back != i) {
			t.Fatalf("pattern %q: Index(%q) = %d, %v; want %d", pattern, name, back, ok, i)
		}
		if i >= 0 && p.Indexed() {
			other, err := ThingName(pattern, i+1)
			if err == nil && other == name {
				t.Fatalf("pattern %q gives %q for both %d and %d", pattern, name, i, i+1)
			}
		}
	})
}

func TestParseKeyType(t *testing.T) {
	tests := []struct {
		in   string
		want KeyType
		ok   bool
	}{
		{"", KeyECDSA, true},
		{"ecdsa", KeyECDSA, true},
		{" RSA ", KeyRSA, true},
		{"ed25519", "", false},
	}
	for _, tc := range tests {
		got, err := ParseKeyType(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseKeyType(%q) = %q, %v; want %q, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}
