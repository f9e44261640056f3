package shadowsvc

import (
	"encoding/json"
	"slices"
	"time"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc/wal"
	"github.com/shadowload/shadowload/shadow"
)

// RESTResult is the HTTP answer to a shadow request made over the REST API.
type RESTResult struct {
	// Code is 200, or the rejection's code (400, 404, 409, 413, 429, 500,
	// 503), which the API maps to AWS's error types.
	Code int
	// Body is the accepted document when Code is 200: the shadow for a
	// get, the update/accepted document for an update, the delete/accepted
	// document for a delete.
	Body []byte
	// Message is the rejection's message, as */rejected would carry it.
	Message string
}

// Serve applies a shadow request that arrived over the REST API
// (GetThingShadow, UpdateThingShadow, DeleteThingShadow) on the classic
// shadow (name "") or a named one. It takes the same per-shadow order,
// rate limit and durability as an MQTT request: the change is applied in
// arrival order, logged, and Serve returns only once the state it reveals
// is durable. An accepted update publishes update/accepted, documents
// and delta on MQTT exactly as an MQTT update does, and a delete
// delete/accepted; a get publishes nothing. Rejections come back in the
// result only, never on */rejected. There is no connection, so no
// in-flight limit applies.
func (s *Service) Serve(op shadow.Op, thing, name string, payload []byte) RESTResult {
	s.active.Add(1)
	defer s.leave()
	if s.closed.Load() {
		return RESTResult{Code: 503, Message: "Service Unavailable"}
	}
	t := shadow.Topic{Thing: thing, Shadow: name, Op: op, Kind: shadow.KindRequest}
	e := s.lockEntry(key{thing: thing, name: name})
	if s.closed.Load() {
		e.mu.Unlock()
		return RESTResult{Code: 503, Message: "Service Unavailable"}
	}
	now := s.now()
	at := int64(now.Sub(s.start))
	e.counts.requests.Add(1)

	var (
		r   response
		res RESTResult
	)
	switch {
	case s.cost > 0 && !e.bucket.allow(at, s.cost):
		e.counts.rateLimited.Add(1)
		s.rejected.add(429)
		res = RESTResult{Code: 429, Message: shadow.MsgTooManyRequests}
	case s.log != nil && s.log.Err() != nil:
		s.rejected.add(500)
		res = RESTResult{Code: 500, Message: shadow.MsgInternalFailure}
	default:
		var changed bool
		res, changed = s.restApply(e, t, &r, payload, now.Unix())
		if changed {
			s.logChange(e)
		}
	}
	commit := wal.Ticket{}
	if res.Code == 200 {
		// The body reveals the shadow's state: it leaves only once that
		// state is durable, like an MQTT reply.
		commit = e.logged
		if r.n > 0 {
			if s.sched != nil {
				due := s.stall.Release(s.stall.Release(time.Duration(at)) + s.latency.Draw(nil))
				r.due = max(int64(due), e.lastDue)
				e.lastDue = r.due
			}
			e.out = append(e.out, outgoing{r: r, commit: commit})
		}
	}
	e.mu.Unlock()

	err := commit.Wait()
	s.drain(e)
	if err != nil {
		return RESTResult{Code: 500, Message: shadow.MsgInternalFailure}
	}
	return res
}

// restApply runs a REST request on the shadow: it fills r with the MQTT
// publishes of an accepted update or delete and reports whether the shadow
// changed. Rejections publish nothing.
func (s *Service) restApply(e *entry, t shadow.Topic, r *response, payload []byte, now int64) (RESTResult, bool) {
	var res shadow.Result
	switch t.Op {
	case shadow.OpGet:
		res = e.sh.Get(payload, now, s.lim)
	case shadow.OpUpdate:
		res = e.sh.Update(payload, now, s.lim)
	case shadow.OpDelete:
		res = e.sh.Delete(payload, now, s.lim)
	}
	if res.Rejected != nil {
		s.rejected.add(res.Code)
		return RESTResult{Code: res.Code, Message: rejectionMessage(res.Rejected)}, false
	}
	e.counts.accepted.Add(1)
	if t.Op == shadow.OpGet {
		return RESTResult{Code: 200, Body: res.Accepted}, false
	}
	// The broker may keep what it is given: the HTTP body gets a copy.
	addReply(e, t, r, shadow.KindAccepted, res.Accepted)
	addReply(e, t, r, shadow.KindDocuments, res.Documents)
	addReply(e, t, r, shadow.KindDelta, res.Delta)
	return RESTResult{Code: 200, Body: slices.Clone(res.Accepted)}, true
}

// NamedShadows returns the names of the thing's named shadows that exist,
// sorted. It looks at every shadow the service holds.
func (s *Service) NamedShadows(thing string) []string {
	var matches []*entry
	for i := range s.store.shards {
		sh := &s.store.shards[i]
		sh.mu.RLock()
		for k, e := range sh.m {
			if k.thing == thing && k.name != "" {
				matches = append(matches, e)
			}
		}
		sh.mu.RUnlock()
	}
	names := make([]string, 0, len(matches))
	for _, e := range matches {
		e.mu.Lock()
		if e.sh.Exists() && !e.removed {
			names = append(names, e.key.name)
		}
		e.mu.Unlock()
	}
	slices.Sort(names)
	return names
}

// rejectionMessage returns the message of a */rejected error document.
func rejectionMessage(doc []byte) string {
	var d struct {
		Message string `json:"message"`
	}
	if json.Unmarshal(doc, &d) != nil {
		return shadow.MsgInternalFailure
	}
	return d.Message
}
