package shadowsvc

import (
	"fmt"
	"strings"
	"time"
)

// Stall is a periodic pause of the service: for For out of every Every,
// counted from the service's start, no response is published. The first
// pause begins Every after the start. Responses that fall due during a pause
// are published when it ends. The zero value never pauses.
type Stall struct {
	Every time.Duration
	For   time.Duration
}

// stallSyntax is the grammar quoted by ParseStall's errors.
const stallSyntax = `want "" or EVERY:FOR with 0 < FOR < EVERY (e.g. 10s:1s)`

// ParseStall parses a stall specification EVERY:FOR such as 10s:1s (pause 1 s
// every 10 s); "" means no stall.
func ParseStall(spec string) (Stall, error) {
	if spec == "" {
		return Stall{}, nil
	}
	every, dur, ok := strings.Cut(spec, ":")
	if !ok {
		return Stall{}, fmt.Errorf("stall %q: missing ':' between EVERY and FOR; %s", spec, stallSyntax)
	}
	e, err := time.ParseDuration(every)
	if err != nil {
		return Stall{}, fmt.Errorf("stall %q: EVERY %q is not a duration (want one such as 10s): %w", spec, every, err)
	}
	f, err := time.ParseDuration(dur)
	if err != nil {
		return Stall{}, fmt.Errorf("stall %q: FOR %q is not a duration (want one such as 1s): %w", spec, dur, err)
	}
	if f <= 0 || f >= e {
		return Stall{}, fmt.Errorf("stall %q: EVERY %v and FOR %v; %s", spec, e, f, stallSyntax)
	}
	return Stall{Every: e, For: f}, nil
}

// IsZero reports whether s never pauses.
func (s Stall) IsZero() bool { return s.Every <= 0 || s.For <= 0 }

// Release returns the earliest time, as an offset from the service's start,
// at which something due at offset t may be published: t itself, or the end
// of the pause that t falls in.
func (s Stall) Release(t time.Duration) time.Duration {
	if s.IsZero() || t < s.Every {
		return t
	}
	start := t - t%s.Every
	if t < start+s.For {
		return start + s.For
	}
	return t
}

// String returns the specification s was parsed from, in canonical form.
func (s Stall) String() string {
	if s.IsZero() {
		return ""
	}
	return s.Every.String() + ":" + s.For.String()
}
