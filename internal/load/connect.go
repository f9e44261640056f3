package load

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Backoff between the connect attempts of one thing: exponential from
// backoffBase to backoffMax, with jitter.
const (
	backoffBase = 100 * time.Millisecond
	backoffMax  = 5 * time.Second
	// firstAttempts is how often a thing tries while no thing at all has
	// connected: an unreachable or refusing target ends the run in about a
	// second instead of the whole connect window.
	firstAttempts = 3
)

// backoff is how long a thing waits after its attempt-th failed connect
// (from 0): the exponential step backoffBase·2^attempt up to backoffMax,
// jittered to between half and all of it, so a fleet that lost its
// connections together does not redial together. key spreads the jitter
// over things; the same key and attempt always give the same wait.
func backoff(attempt int, key uint64) time.Duration {
	step := backoffMax
	if attempt < 16 {
		step = min(backoffBase<<attempt, backoffMax)
	}
	frac := float64(splitmix(key<<8|uint64(attempt&0xff))>>11) / (1 << 53)
	return step/2 + time.Duration(frac*float64(step/2))
}

// pace waits for the next connect attempt the fleet's connect rate allows.
// Every attempt of the run — first connects, their retries and redials
// after a lost connection — draws from the one limiter, so the target never
// sees more than the connect rate, as AWS's connect quotas require.
func (r *runner) pace(ctx context.Context) bool {
	now := r.cfg.Clock.Now()
	res := r.limiter.ReserveN(now, 1)
	if !res.OK() {
		return false
	}
	if !sleep(ctx, r.cfg.Clock, res.DelayFrom(now)) {
		res.CancelAt(r.cfg.Clock.Now())
		return false
	}
	return true
}

// dial opens one connection through the transport and, when filters are
// given, subscribes to them — unless the server resumed a session, which
// holds the subscriptions already. It counts a failure by its cause, keeps
// the first error of each cause in full, and returns how long the connect
// and the subscribe took (-1 when there was no subscribe).
func (r *runner) dial(ctx context.Context, s Session, filters []string) (c Conn, connectTook, subscribeTook time.Duration, err error) {
	clk := r.cfg.Clock
	cctx, cancel := context.WithTimeout(ctx, r.cfg.ConnectTimeout)
	defer cancel()
	start := clk.Now()
	c, err = r.cfg.Transport.Dial(cctx, s)
	subscribeTook = -1
	if err == nil {
		connectTook = clk.Now().Sub(start)
		if len(filters) > 0 && (s.CleanStart || !c.SessionPresent()) {
			subStart := clk.Now()
			if serr := c.Subscribe(cctx, r.cfg.QoS, filters); serr != nil {
				_ = c.Close()
				c, err = nil, fmt.Errorf("%w: %w", errSubscribe, serr)
			}
			subscribeTook = clk.Now().Sub(subStart)
		}
	}
	if err != nil {
		reason := connectReason(cctx, err)
		if ctx.Err() != nil {
			// The run is stopping: the attempt was cut short, not refused.
			return nil, 0, 0, err
		}
		r.connMu.Lock()
		r.connRec.Add(r.ids.connectFailed[reason], 1)
		r.connMu.Unlock()
		r.noteError("connect.failed."+reason, fmt.Sprintf("%s: %v", s.ClientID, err))
		return nil, 0, 0, err
	}
	return c, connectTook, subscribeTook, nil
}

// connectFleet connects every thing at the connect rate, retrying failures
// with backoff until the connect window closes.
func (r *runner) connectFleet(ctx context.Context) {
	n := len(r.things)
	dialers := min(n, 64)
	var next atomic.Int64
	deadline := r.cfg.Clock.Now().Add(r.cfg.ConnectWindow)
	var wg sync.WaitGroup
	for d := 0; d < dialers; d++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.recoverPanic("a connect goroutine")
			for {
				k := next.Add(1) - 1
				if k >= int64(n) || ctx.Err() != nil {
					return
				}
				t := r.things[k]
				if r.connectWithRetry(ctx, t, r.workers[int(k)%len(r.workers)], deadline, -1) {
					r.connected.Add(1)
				}
			}
		}()
	}
	wg.Wait()
}

// connectWithRetry connects t, each attempt paced by the connect rate and
// each failure followed by a jittered exponential backoff, until it succeeds
// or the deadline passes. While no thing at all has connected, a thing gives
// up after firstAttempts tries. since is when a reconnect's attempts began
// (ns since the run's start), -1 for a first connect.
func (r *runner) connectWithRetry(ctx context.Context, t *thing, w *worker, deadline time.Time, since int64) bool {
	for attempt := 0; ; attempt++ {
		if !r.pace(ctx) {
			return false
		}
		if t.connect(ctx, w, since) == nil {
			r.everConnected.Store(true)
			return true
		}
		if attempt+1 >= firstAttempts && !r.everConnected.Load() {
			return false
		}
		wait := backoff(attempt, uint64(t.index))
		if ctx.Err() != nil || r.cfg.Clock.Now().Add(wait).After(deadline) {
			return false
		}
		if !sleep(ctx, r.cfg.Clock, wait) {
			return false
		}
	}
}

// redial brings a lost connection back for as long as the run lasts, paced
// and backed off as the first connects were.
func (r *runner) redial(t *thing, w *worker) {
	r.comeBack(t, w, 0, nil)
}

// comeBack brings a thing's connection back after away has passed, paced
// and backed off as the first connects were, for as long as the run lasts.
// halfway, when set, runs halfway through the absence.
func (r *runner) comeBack(t *thing, w *worker, away time.Duration, halfway func()) {
	r.redials.Add(1)
	go func() {
		defer r.redials.Done()
		defer r.recoverPanic("the reconnect of " + t.bundle.Thing)
		if halfway != nil {
			if !sleep(r.redialCtx, r.cfg.Clock, away/2) {
				return
			}
			halfway()
			away -= away / 2
		}
		if !sleep(r.redialCtx, r.cfg.Clock, away) {
			return
		}
		since := int64(r.cfg.Clock.Now().Sub(r.start))
		r.connectWithRetry(r.redialCtx, t, w, r.cfg.Clock.Now().Add(24*time.Hour), since)
	}()
}
