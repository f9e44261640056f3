//go:build !unix

package shadow

import (
	"testing"
	"time"
)

// cpuTime is not measured where getrusage does not exist.
func cpuTime() time.Duration { return 0 }

// reportCPU reports nothing where CPU time is not measured.
func reportCPU(*testing.B, time.Duration) {}
