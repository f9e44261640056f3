package scenario

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input panics, that every failure is an Errors
// with positions inside the input, and that every accepted scenario plans
// and generates valid JSON.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"testdata", "../scenarios"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.yaml"))
		for _, file := range files {
			if data, err := os.ReadFile(file); err == nil {
				f.Add(data)
			}
		}
	}
	f.Add([]byte(base))
	f.Add([]byte("name: x\nphases: [&p {duration: 1s, rate: 1/s}, *p]\n"))
	f.Add([]byte("{a: [b, {c: d}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse("f.yaml", data)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %T %v; want a non-empty Errors", err, err)
			}
			return
		}
		var b discard
		if err := s.Plan().WriteText(&b); err != nil {
			t.Fatal(err)
		}
		g, err := s.Payload.Compile(1)
		if err != nil {
			t.Fatalf("a parsed payload does not compile: %v", err)
		}
		if out := g.AppendFields(nil, 0, nil); !json.Valid(out) {
			t.Fatalf("invalid JSON %s", out)
		}
	})
}

// FuzzRate checks that ParseRate never panics, accepts only non-negative
// finite rates, and that String parses back to the same rate.
func FuzzRate(f *testing.F) {
	for _, s := range []string{"500/s", "0.5/s", "30/m", "100/h", "1/x", "", "9999999999999999999999/h", "0.0000001/h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := ParseRate(s)
		if err != nil {
			return
		}
		if !(r >= 0) || r != r {
			t.Fatalf("ParseRate(%q) = %v; want a finite rate ≥ 0", s, float64(r))
		}
		back, err := ParseRate(r.String())
		if err != nil || !closeRate(back, r) {
			t.Fatalf("ParseRate(%q) = %v → %q → %v, %v", s, float64(r), r.String(), float64(back), err)
		}
	})
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }
