package broker

import (
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/shadowload/shadowload/internal/iotcore"
)

// subscription is one filter a session holds.
type subscription struct {
	s              *session
	filter         string // as subscribed, $share prefix included
	qos            byte
	noLocal        bool
	retainAsPub    bool
	retainHandling byte
}

// shareGroup is the members of one shared subscription $share/{name}/{filter}.
type shareGroup struct {
	key     string
	members []*subscription // copy on write
}

// entry is what the index holds for one filter: its plain subscriptions
// and its shared groups, each slice replaced (never changed in place) on
// every change, so matches can be read after the lock is released.
type entry struct {
	subs   []*subscription
	groups []*shareGroup
}

// node is one level of the wildcard trie; the "+" and "#" children have
// fields of their own, so a walk costs one map lookup per level.
type node struct {
	children   map[string]*node
	plus, hash *node
	entry
}

// child returns the child for level, creating it when create is set.
func (n *node) child(level string, create bool) *node {
	var slot **node
	switch level {
	case "+":
		slot = &n.plus
	case "#":
		slot = &n.hash
	default:
		c := n.children[level]
		if c == nil && create {
			if n.children == nil {
				n.children = map[string]*node{}
			}
			c = &node{}
			n.children[level] = c
		}
		return c
	}
	if *slot == nil && create {
		*slot = &node{}
	}
	return *slot
}

// empty reports whether the node leads to no subscription.
func (n *node) empty() bool {
	return n.plus == nil && n.hash == nil && len(n.children) == 0 && len(n.subs) == 0 && len(n.groups) == 0
}

// index finds the subscriptions matching a topic: filters without
// wildcards in a map, the others in a trie, both under one RWMutex held only
// while the matching slices are collected. It applies AWS's rules: "a/#"
// does not match "a", and a filter starting with a wildcard matches a topic
// starting with "$" only with hashMatchesDollar.
type index struct {
	hashMatchesDollar bool

	mu    sync.RWMutex
	exact map[string]*entry
	root  node
}

func newIndex(hashMatchesDollar bool) *index {
	return &index{hashMatchesDollar: hashMatchesDollar, exact: map[string]*entry{}}
}

// splitFilter returns the share group name (or "") and the topic filter.
func splitFilter(f string) (group, filter string) {
	if g, rest, shared, err := iotcore.SplitShared(f); shared && err == nil {
		return g, rest
	}
	return "", f
}

func hasWildcard(f string) bool { return strings.ContainsAny(f, "+#") }

// entryFor returns the entry of filter, creating it when create is set.
// The caller holds mu for writing.
func (x *index) entryFor(filter string, create bool) *entry {
	if !hasWildcard(filter) {
		e := x.exact[filter]
		if e == nil && create {
			e = &entry{}
			x.exact[filter] = e
		}
		return e
	}
	n := &x.root
	for level := range strings.SplitSeq(filter, "/") {
		if n = n.child(level, create); n == nil {
			return nil
		}
	}
	return &n.entry
}

// add indexes sub, replacing the session's earlier subscription of the same
// filter if any.
func (x *index) add(sub *subscription) {
	group, filter := splitFilter(sub.filter)
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.entryFor(filter, true)
	if group == "" {
		e.subs = replaceSub(e.subs, sub)
		return
	}
	for i, g := range e.groups {
		if g.key == group {
			ng := &shareGroup{key: group, members: replaceSub(g.members, sub)}
			groups := append([]*shareGroup(nil), e.groups...)
			groups[i] = ng
			e.groups = groups
			return
		}
	}
	e.groups = append(append([]*shareGroup(nil), e.groups...), &shareGroup{key: group, members: []*subscription{sub}})
}

// replaceSub returns a copy of list with sub in place of the same session's
// entry, or appended.
func replaceSub(list []*subscription, sub *subscription) []*subscription {
	out := make([]*subscription, 0, len(list)+1)
	for _, o := range list {
		if o.s != sub.s {
			out = append(out, o)
		}
	}
	return append(out, sub)
}

// remove drops sub (matched by session and filter) from the index.
func (x *index) remove(sub *subscription) {
	group, filter := splitFilter(sub.filter)
	x.mu.Lock()
	defer x.mu.Unlock()
	e := x.entryFor(filter, false)
	if e == nil {
		return
	}
	if group == "" {
		e.subs = dropSub(e.subs, sub.s)
	} else {
		for i, g := range e.groups {
			if g.key != group {
				continue
			}
			groups := append([]*shareGroup(nil), e.groups...)
			if m := dropSub(g.members, sub.s); len(m) > 0 {
				groups[i] = &shareGroup{key: group, members: m}
			} else {
				groups = append(groups[:i], groups[i+1:]...)
			}
			e.groups = groups
			break
		}
	}
	if len(e.subs) == 0 && len(e.groups) == 0 && !hasWildcard(filter) {
		delete(x.exact, filter)
	}
}

func dropSub(list []*subscription, s *session) []*subscription {
	out := make([]*subscription, 0, len(list))
	for _, o := range list {
		if o.s != s {
			out = append(out, o)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// matches collects the subscriptions matching topic into m.
func (x *index) match(topic string, m *matches) {
	x.mu.RLock()
	if e := x.exact[topic]; e != nil {
		m.add(e)
	}
	if !x.root.empty() {
		x.walk(&x.root, topic, true, m)
	}
	x.mu.RUnlock()
}

// walk matches the rest of topic below n. The caller holds mu.
func (x *index) walk(n *node, topic string, root bool, m *matches) {
	level, rest, more := strings.Cut(topic, "/")
	wild := !root || x.hashMatchesDollar || topic == "" || topic[0] != '$'
	if wild {
		if n.hash != nil {
			m.add(&n.hash.entry)
		}
		if n.plus != nil {
			x.visit(n.plus, rest, more, m)
		}
	}
	if c := n.children[level]; c != nil {
		x.visit(c, rest, more, m)
	}
}

// visit matches at node c, reached by a topic level, with rest still to match.
func (x *index) visit(c *node, rest string, more bool, m *matches) {
	if !more {
		// The topic ends here: only filters ending here match. AWS: "a/#"
		// does not match "a".
		m.add(&c.entry)
		return
	}
	if c.children != nil || c.plus != nil || c.hash != nil {
		x.walk(c, rest, false, m)
	}
}

// hasMatch reports whether any subscription matches topic.
func (x *index) hasMatch(topic string) bool {
	var m matches
	x.match(topic, &m)
	return m.n > 0 || len(m.groups) > 0
}

// matches is the result of a match: slices read after the lock is released.
type matches struct {
	n      int
	fixed  [4][]*subscription
	more   [][]*subscription
	groups []*shareGroup
}

func (m *matches) add(e *entry) {
	if len(e.subs) > 0 {
		if m.n < len(m.fixed) {
			m.fixed[m.n] = e.subs
		} else {
			m.more = append(m.more, e.subs)
		}
		m.n++
	}
	m.groups = append(m.groups, e.groups...)
}

// list returns the i-th matching list, i < m.n.
func (m *matches) list(i int) []*subscription {
	if i < len(m.fixed) {
		return m.fixed[i]
	}
	return m.more[i-len(m.fixed)]
}

// pick chooses the member of a share group a message goes to: a random
// connected one, else a random one.
func (g *shareGroup) pick() *subscription {
	n := len(g.members)
	if n == 0 {
		return nil
	}
	start := rand.IntN(n)
	for i := range n {
		sub := g.members[(start+i)%n]
		if sub.s.online() {
			return sub
		}
	}
	return g.members[start]
}
