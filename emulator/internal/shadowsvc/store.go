package shadowsvc

import (
	"hash/maphash"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc/wal"
	"github.com/shadowload/shadowload/shadow"
)

// shardCount is the number of independently locked parts of the shadow map.
const shardCount = 256

// key identifies a shadow: its thing and its name ("" for the classic shadow).
type key struct {
	thing, name string
}

// reply is a cached response topic of one shadow.
type reply struct {
	op    shadow.Op
	kind  shadow.Kind
	topic string
}

// entry is one shadow with everything the service keeps beside it. Its
// mutex orders the requests on the shadow and guards every field but key
// and counts.
type entry struct {
	mu      sync.Mutex
	key     key
	sh      shadow.Shadow
	bucket  bucket
	counts  *counters
	lastDue int64
	replies []reply
	// logged is the commit of the shadow's last log record: a response
	// reveals the state it read only once that state is durable.
	logged wal.Ticket
	// out holds the responses applied but not yet published, in the
	// order their requests were applied; draining is set while one
	// goroutine publishes from it.
	out      []outgoing
	draining bool
	// removed is set when the entry left the map (a shadow that never
	// existed); a request that finds it removed looks the shadow up again.
	removed bool
}

// topic returns the response topic of kind k for request t, building it only
// on first use.
func (e *entry) topic(t shadow.Topic, k shadow.Kind) string {
	for i := range e.replies {
		if r := &e.replies[i]; r.op == t.Op && r.kind == k {
			return r.topic
		}
	}
	s := t.Reply(k).String()
	e.replies = append(e.replies, reply{op: t.Op, kind: k, topic: s})
	return s
}

// counters are statistics kept per shard so that hot counters are not all
// shared by every core.
type counters struct {
	requests, accepted           atomic.Uint64
	rateLimited, inFlightLimited atomic.Uint64
}

// shard is one part of the shadow map with its own lock and counters.
type shard struct {
	mu     sync.RWMutex
	m      map[key]*entry
	counts counters
	_      [64]byte
}

// store maps shadows to their entries in shardCount shards.
type store struct {
	seed   maphash.Seed
	shards [shardCount]shard
}

// newStore returns an empty store.
func newStore() *store {
	st := &store{seed: maphash.MakeSeed()}
	for i := range st.shards {
		st.shards[i].m = make(map[key]*entry)
	}
	return st
}

// shardOf returns the shard holding k.
func (st *store) shardOf(k key) *shard {
	h := maphash.String(st.seed, k.thing) ^ (maphash.String(st.seed, k.name) * 0x9e3779b97f4a7c15)
	return &st.shards[(h^h>>32)%shardCount]
}

// get returns the entry of k, creating it when the shadow is new to the
// service (a zero shadow.Shadow: never existed). An entry for a shadow that
// never existed leaves the map again once its responses are out.
func (st *store) get(k key) *entry {
	sh := st.shardOf(k)
	sh.mu.RLock()
	e := sh.m[k]
	sh.mu.RUnlock()
	if e != nil {
		return e
	}
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if e = sh.m[k]; e != nil {
		return e
	}
	// The key's strings may point into a larger topic string; keep copies.
	k = key{thing: strings.Clone(k.thing), name: strings.Clone(k.name)}
	e = &entry{key: k, counts: &sh.counts}
	e.sh.Name = displayName(k)
	sh.m[k] = e
	return e
}

// remove takes e out of the map; the caller holds e.mu.
func (st *store) remove(e *entry) {
	sh := st.shardOf(e.key)
	sh.mu.Lock()
	if sh.m[e.key] == e {
		delete(sh.m, e.key)
	}
	sh.mu.Unlock()
	e.removed = true
}

// displayName is the name AWS puts in a shadow's 404 message: the shadow
// name for a named shadow, the thing name for the classic one.
func displayName(k key) string {
	if k.name != "" {
		return k.name
	}
	return k.thing
}

// each calls fn for every entry, shard by shard, without holding a shard
// lock during fn.
func (st *store) each(fn func(*entry)) {
	var batch []*entry
	for i := range st.shards {
		sh := &st.shards[i]
		batch = batch[:0]
		sh.mu.RLock()
		for _, e := range sh.m {
			batch = append(batch, e)
		}
		sh.mu.RUnlock()
		for _, e := range batch {
			fn(e)
		}
	}
}
