package emulator

import (
	"net/http"

	"golang.org/x/time/rate"

	"github.com/shadowload/shadowload/fleet"
)

// apiQuotas are the control-plane rate quotas of an AWS account, one token
// bucket per operation holding one second of requests.
type apiQuotas struct {
	limiters map[string]*rate.Limiter
}

// newAPIQuotas returns the quotas of fleet.ControlPlaneRates.
func newAPIQuotas() *apiQuotas {
	q := &apiQuotas{limiters: map[string]*rate.Limiter{}}
	for op, r := range fleet.ControlPlaneRates {
		q.limiters[op] = rate.NewLimiter(rate.Limit(r), max(1, int(r)))
	}
	return q
}

// allow takes a token for op, or returns AWS's throttling error: 400
// ThrottlingException "Rate exceeded" on the control plane. Operations
// without a quota, and a nil receiver, always pass.
func (q *apiQuotas) allow(op string) *apiError {
	if q == nil {
		return nil
	}
	l, ok := q.limiters[op]
	if !ok || l.Allow() {
		return nil
	}
	return &apiError{status: http.StatusBadRequest, typ: "ThrottlingException", msg: "Rate exceeded"}
}
