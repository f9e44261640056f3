package scenario

import (
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestShippedScenariosValidate loads every file in scenarios/ and checks it
// parses, plans within the AWS quotas and compiles its payload.
func TestShippedScenariosValidate(t *testing.T) {
	files, err := filepath.Glob("../scenarios/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"aws-example", "ci-gate", "conflict-storm", "connections-10k", "desired-delta", "device-fleet", "emulator-capacity", "fanout-observers", "named-shadows", "quickstart", "steady-fleet"}
	var names []string
	for _, file := range files {
		s, err := Load(file)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		names = append(names, s.Name)
		if base := strings.TrimSuffix(filepath.Base(file), ".yaml"); s.Name != base {
			t.Errorf("%s: name %q; want the file's name %q", file, s.Name, base)
		}
		if w := s.Plan().Warnings; len(w) > 0 {
			t.Errorf("%s: plan warnings %q; a shipped scenario stays within AWS quotas", file, w)
		}
		if _, err := s.Payload.Compile(1); err != nil {
			t.Errorf("%s: %v", file, err)
		}
		if s.Description == "" {
			t.Errorf("%s: no description", file)
		}
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("shipped %q; want %q", names, want)
	}
}

func TestQuickstartIsSmallAndShort(t *testing.T) {
	s, err := Load("../scenarios/quickstart.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var total time.Duration
	for _, p := range s.Phases {
		total += p.Duration
	}
	if !s.Target.Embedded() || total+s.Plan().Connect.Duration > 30*time.Second || len(s.Thresholds) == 0 {
		t.Errorf("quickstart: embedded %v, %v long, %d thresholds; want embedded, under 30s, with thresholds",
			s.Target.Embedded(), total, len(s.Thresholds))
	}
}

func TestAWSExampleTargetsARealEndpoint(t *testing.T) {
	s, err := Load("../scenarios/aws-example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if s.Target.Embedded() || !strings.HasSuffix(s.Target.Bundles, filepath.Join("scenarios", "bundles")) {
		t.Errorf("target %+v; want a real endpoint with bundles beside the file", s.Target)
	}
}
