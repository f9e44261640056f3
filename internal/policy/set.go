package policy

// Set is the policies attached to one certificate, evaluated together. It
// is immutable and safe for concurrent use; a nil *Set allows nothing.
type Set struct {
	// deny and allow hold, per action, the statements that name it.
	deny  [lastAction + 1][]*statement
	allow [lastAction + 1][]*statement
}

// NewSet returns the set of the given documents; nil documents are skipped.
func NewSet(docs ...*Document) *Set {
	s := &Set{}
	for _, d := range docs {
		if d == nil {
			continue
		}
		for i := range d.statements {
			st := &d.statements[i]
			for a := Connect; a <= lastAction; a++ {
				if !st.actions.has(a) {
					continue
				}
				if st.effect == deny {
					s.deny[a] = append(s.deny[a], st)
				} else {
					s.allow[a] = append(s.allow[a], st)
				}
			}
		}
	}
	return s
}

// Allowed reports whether action a on the resource called name is allowed
// for the connection described by c (nil resolves no variable): deny by
// default, an Allow grants, any matching Deny wins. name is the part of the
// ARN after the resource type: the client ID for Connect, the topic for
// Publish, Receive and RetainPublish, the topic filter for Subscribe, and the
// thing name for the shadow REST actions. The ARN
// arn:aws:iot:REGION:ACCOUNT:client/NAME (topic/, topicfilter/, thing/) is
// matched without being built, and Allowed does not allocate.
func (s *Set) Allowed(a Action, name string, c *Context) bool {
	return s.decide(a, name, c, false)
}

// DeniedBySourceIP reports whether action a on name is denied for c because
// of the client's address: denied as it is, and allowed were every
// aws:SourceIp condition out of play (AWS's FORBIDDEN_ACCESS rather than
// AUTH_ERROR).
func (s *Set) DeniedBySourceIP(a Action, name string, c *Context) bool {
	return !s.decide(a, name, c, false) && s.decide(a, name, c, true)
}

func (s *Set) decide(a Action, name string, c *Context, ipBlind bool) bool {
	if s == nil || !a.valid() {
		return false
	}
	var sub subject
	sub.arn(a, name, c)
	for _, st := range s.deny[a] {
		if st.applies(&sub, c, ipBlind) {
			return false
		}
	}
	for _, st := range s.allow[a] {
		if st.applies(&sub, c, ipBlind) {
			return true
		}
	}
	return false
}
