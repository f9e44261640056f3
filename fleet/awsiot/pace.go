package awsiot

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/aws/smithy-go"
	"golang.org/x/time/rate"
)

// maxWorkers bounds the calls in flight at once.
const maxWorkers = 64

// pacer spaces the calls of each operation to a rate: one token bucket per
// operation, holding one call, so that no operation bursts past the
// account's per-operation quota.
type pacer struct {
	every rate.Limit
	mu    sync.Mutex
	ops   map[string]*rate.Limiter
}

func newPacer(perSecond float64) *pacer {
	return &pacer{every: rate.Limit(perSecond), ops: map[string]*rate.Limiter{}}
}

// wait blocks until op may be called, or ctx ends.
func (p *pacer) wait(ctx context.Context, op string) error {
	p.mu.Lock()
	l, ok := p.ops[op]
	if !ok {
		l = rate.NewLimiter(p.every, 1)
		p.ops[op] = l
	}
	p.mu.Unlock()
	return l.Wait(ctx)
}

// workersFor is the default concurrency for a rate: enough calls in flight
// to keep the pace when each takes a few hundred milliseconds.
func workersFor(perSecond float64, things int) int {
	return max(1, min(maxWorkers, things, int(math.Ceil(perSecond))))
}

// checkRate validates a calls-per-second rate.
func checkRate(perSecond float64) error {
	if perSecond <= 0 || math.IsNaN(perSecond) || math.IsInf(perSecond, 0) || perSecond > 10000 {
		return fmt.Errorf("rate %v per second: want more than 0 and at most 10000", perSecond)
	}
	return nil
}

// errorCode returns the AWS error type of err, "" for none.
func errorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// isNotFound reports whether err is AWS's ResourceNotFoundException.
func isNotFound(err error) bool { return errorCode(err) == "ResourceNotFoundException" }

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
