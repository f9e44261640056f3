package main

import (
	"strings"
	"testing"
)

func TestProtocolFlagSetsTheFleetsMix(t *testing.T) {
	f := writeFile(t, t.TempDir(), "p.yaml", "name: p\nfleet: {things: 10}\nphases:\n  - {duration: 1s, rate: 20/s}\n")
	code, stdout, stderr := runCLI(t, "plan", "--protocol", "mqtt5:70,mqtt311:30", f)
	if code != exitOK {
		t.Fatalf("plan --protocol: exit %d (%s)", code, stderr)
	}
	for _, want := range []string{"devices  7 MQTT 5, 3 MQTT 3.1.1", "note: 3 of the 10 things speak MQTT 3.1.1"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("plan output lacks %q:\n%s", want, stdout)
		}
	}
	code, _, stderr = runCLI(t, "plan", "--protocol", "mqtt3", f)
	if code != exitUsage || !strings.Contains(stderr, "--protocol") || !strings.Contains(stderr, `did you mean "mqtt5"`) {
		t.Errorf("--protocol mqtt3: exit %d, want %d with the flag named (%s)", code, exitUsage, stderr)
	}
}
