package policy

import (
	"fmt"
	"net/netip"
	"sync"
	"testing"
)

type check struct {
	a    Action
	name string
	c    *Context
	want bool
}

func runChecks(t *testing.T, s *Set, checks []check) {
	t.Helper()
	for _, ck := range checks {
		if got := s.Allowed(ck.a, ck.name, ck.c); got != ck.want {
			t.Errorf("Allowed(%v, %q, %+v) = %v, want %v", ck.a, ck.name, ck.c, got, ck.want)
		}
	}
}

func TestAllowedDeniesByDefault(t *testing.T) {
	var nilSet *Set
	empty := NewSet()
	onlyConnect := NewSet(mustParse(t, stmt("Allow", `"iot:Connect"`, `"*"`)), nil)
	for a := Connect; a <= lastAction; a++ {
		if nilSet.Allowed(a, "x", nil) || empty.Allowed(a, "x", nil) {
			t.Errorf("%v allowed by an empty set", a)
		}
		if got := onlyConnect.Allowed(a, "x", nil); got != (a == Connect) {
			t.Errorf("%v allowed = %v by a Connect-only policy", a, got)
		}
	}
	if onlyConnect.Allowed(0, "x", nil) || onlyConnect.Allowed(lastAction+1, "x", nil) {
		t.Error("an invalid action was allowed")
	}
}

func TestDenyBeatsAllowAcrossDocuments(t *testing.T) {
	allowAll := mustParse(t, stmt("Allow", `"iot:*"`, `"*"`))
	denyOne := mustParse(t, stmt("Deny", `"iot:Publish"`, `"arn:aws:iot:*:*:topic/secret/*"`))
	for _, s := range []*Set{NewSet(allowAll, denyOne), NewSet(denyOne, allowAll)} {
		runChecks(t, s, []check{
			{Publish, "secret/x", nil, false},
			{Publish, "public/x", nil, true},
			{Receive, "secret/x", nil, true},
		})
	}
	onlyDeny := NewSet(mustParse(t, stmt("Deny", `"iot:Publish"`, `"arn:aws:iot:*:*:topic/secret/*"`)))
	runChecks(t, onlyDeny, []check{{Publish, "public/x", nil, false}})
}

func TestResourceWildcards(t *testing.T) {
	tests := []struct {
		name     string
		action   Action
		resource string
		allowed  []string
		denied   []string
	}{
		{"star crosses slashes", Publish, "arn:aws:iot:*:*:topic/a/*",
			[]string{"a/", "a/b", "a/b/c/d", "a/+/#"}, []string{"a", "b/a", "A/b"}},
		{"star in the middle", Publish, "arn:aws:iot:*:*:topic/a/*/c",
			[]string{"a//c", "a/b/c", "a/b/x/c", "a/c/c"}, []string{"a/c", "a/b/c/d"}},
		{"question is one character", Publish, "arn:aws:iot:*:*:topic/dev?/x",
			[]string{"dev1/x", "devé/x", "dev//x", "dev€/x"}, []string{"dev/x", "dev12/x"}},
		{"plus is literal in a topic filter", Subscribe, "arn:aws:iot:*:*:topicfilter/a/+/b",
			[]string{"a/+/b"}, []string{"a/x/b", "a/#", "a/+"}},
		{"hash is literal in a topic filter", Subscribe, "arn:aws:iot:*:*:topicfilter/a/#",
			[]string{"a/#"}, []string{"a/b", "a/b/c", "a"}},
		{"star grants wildcard filters as text", Subscribe, "arn:aws:iot:*:*:topicfilter/a/*",
			[]string{"a/+/b", "a/#", "a/b"}, []string{"b/#"}},
		{"escaped star is literal", Publish, "arn:aws:iot:*:*:topic/a/${*}",
			[]string{"a/*"}, []string{"a/b"}},
		{"resource star matches every ARN", Connect, "*",
			[]string{"c1", "", "x/y"}, nil},
		{"wrong resource type never matches", Publish, "arn:aws:iot:*:*:topicfilter/*",
			nil, []string{"a", "a/b"}},
		{"literal region and account", Connect, "arn:aws:iot:us-east-1:123456789012:client/c?",
			[]string{"c1"}, []string{"c", "c12"}},
		{"other region does not match", Connect, "arn:aws:iot:eu-west-1:*:client/*",
			nil, []string{"c1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSet(mustParse(t, stmt("Allow", `"`+tt.action.String()+`"`, `"`+tt.resource+`"`)))
			for _, n := range tt.allowed {
				if !s.Allowed(tt.action, n, nil) {
					t.Errorf("%q denied, want allowed", n)
				}
			}
			for _, n := range tt.denied {
				if s.Allowed(tt.action, n, nil) {
					t.Errorf("%q allowed, want denied", n)
				}
			}
		})
	}
}

func TestRegionAndAccountComeFromTheContext(t *testing.T) {
	s := NewSet(mustParse(t, stmt("Allow", `"iot:Connect"`, `"arn:aws:iot:eu-west-1:111122223333:client/*"`)))
	runChecks(t, s, []check{
		{Connect, "c", &Context{Region: "eu-west-1", Account: "111122223333"}, true},
		{Connect, "c", &Context{Region: "eu-west-1"}, false},
		{Connect, "c", &Context{}, false},
	})
}

func TestVariablesResolveFromTheContext(t *testing.T) {
	full := &Context{
		ClientID: "client-1", ThingName: "thing-1", CommonName: "cn-1",
		ThingTypeName: "sensor", Attributes: map[string]string{"room": "r42", "empty": ""},
	}
	tests := []struct {
		variable string
		c        *Context
		want     string // the value the variable must resolve to; "" means unresolved
	}{
		{"iot:ClientId", full, "client-1"},
		{"iot:clientid", full, "client-1"},
		{"iot:Connection.Thing.ThingName", full, "thing-1"},
		{"iot:Connection.Thing.ThingTypeName", full, "sensor"},
		{"iot:Connection.Thing.Attributes[room]", full, "r42"},
		{"iot:Certificate.Subject.CommonName", full, "cn-1"},
		{"iot:ClientId", &Context{}, ""},
		{"iot:ClientId", nil, ""},
		{"iot:Connection.Thing.ThingName", &Context{ClientID: "c"}, ""},
		{"iot:Connection.Thing.ThingTypeName", &Context{ThingName: "t"}, ""},
		{"iot:Connection.Thing.ThingTypeName", &Context{ThingTypeName: "sensor"}, ""},
		{"iot:Connection.Thing.Attributes[missing]", full, ""},
		{"iot:Connection.Thing.Attributes[empty]", full, ""},
		{"iot:Connection.Thing.Attributes[room]", &Context{Attributes: map[string]string{"room": "r42"}}, ""},
		{"iot:Certificate.Subject.CommonName", &Context{ClientID: "c"}, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.variable, tt.want), func(t *testing.T) {
			resource := `"arn:aws:iot:*:*:topic/v/${` + tt.variable + `}/x"`
			allowSet := NewSet(mustParse(t, stmt("Allow", `"iot:Publish"`, resource)))
			denySet := NewSet(mustParse(t, stmt("Allow", `"iot:Publish"`, `"*"`)), mustParse(t, stmt("Deny", `"iot:Publish"`, resource)))
			if tt.want == "" {
				for _, topic := range []string{"v//x", "v/${" + tt.variable + "}/x", "v/*/x"} {
					if allowSet.Allowed(Publish, topic, tt.c) {
						t.Errorf("unresolved variable: Allow granted %q", topic)
					}
					if !denySet.Allowed(Publish, topic, tt.c) {
						t.Errorf("unresolved variable: Deny denied %q", topic)
					}
				}
				return
			}
			topic := "v/" + tt.want + "/x"
			if !allowSet.Allowed(Publish, topic, tt.c) || denySet.Allowed(Publish, topic, tt.c) {
				t.Errorf("%q: want Allow to grant and Deny to deny", topic)
			}
			if allowSet.Allowed(Publish, "v/"+tt.want+"x/x", tt.c) {
				t.Errorf("value followed by more text was granted")
			}
		})
	}
}

func TestVariableValuesMatchLiterally(t *testing.T) {
	s := NewSet(mustParse(t, stmt("Allow", `"iot:Connect"`, `"arn:aws:iot:*:*:client/${iot:ClientId}"`)))
	runChecks(t, s, []check{
		{Connect, "anything", &Context{ClientID: "*"}, false},
		{Connect, "*", &Context{ClientID: "*"}, true},
		{Connect, "ab", &Context{ClientID: "a?"}, false},
		{Connect, "a?", &Context{ClientID: "a?"}, true},
		{Connect, "a+", &Context{ClientID: "a+"}, true},
		{Connect, "a", &Context{ClientID: "a+"}, false},
	})
}

func TestStarBeforeVariable(t *testing.T) {
	s := NewSet(mustParse(t, stmt("Allow", `"iot:Publish"`, `"arn:aws:iot:*:*:topic/*${iot:ClientId}/x"`)))
	runChecks(t, s, []check{
		{Publish, "a/b/c1/x", &Context{ClientID: "c1"}, true},
		{Publish, "c1/x", &Context{ClientID: "c1"}, true},
		{Publish, "c1c1/x/c1/x", &Context{ClientID: "c1"}, true},
		{Publish, "c2/x", &Context{ClientID: "c1"}, false},
		{Publish, "a/\x82/x", &Context{ClientID: "\x82"}, true},
		{Publish, "a/\x82\x82/y", &Context{ClientID: "\x82"}, false},
	})
}

func TestIsAttachedCondition(t *testing.T) {
	doc := func(v string) *Document {
		return mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":`+v+`}}}}`)
	}
	attached := &Context{ClientID: "t", ThingName: "t"}
	detached := &Context{ClientID: "t"}
	runChecks(t, NewSet(doc(`"true"`)), []check{{Connect, "t", attached, true}, {Connect, "t", detached, false}, {Connect, "t", nil, false}})
	runChecks(t, NewSet(doc(`"false"`)), []check{{Connect, "t", attached, false}, {Connect, "t", detached, true}})
	runChecks(t, NewSet(doc(`["true","false"]`)), []check{{Connect, "t", attached, true}, {Connect, "t", detached, true}})
	runChecks(t, NewSet(doc(`false`)), []check{{Connect, "t", attached, false}, {Connect, "t", detached, true}})

	denyDetached := NewSet(
		mustParse(t, stmt("Allow", `"iot:Connect"`, `"*"`)),
		mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:Connect","Resource":"*","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"false"}}}}`),
	)
	runChecks(t, denyDetached, []check{{Connect, "t", attached, true}, {Connect, "t", detached, false}})
}

func TestStringConditions(t *testing.T) {
	doc := func(op, key, v string) *Set {
		return NewSet(mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{"`+op+`":{"`+key+`":`+v+`}}}}`))
	}
	runChecks(t, doc("StringEquals", "iot:ClientId", `["a","b*"]`), []check{
		{Connect, "x", &Context{ClientID: "a"}, true},
		{Connect, "x", &Context{ClientID: "b*"}, true},
		{Connect, "x", &Context{ClientID: "bc"}, false},
		{Connect, "x", &Context{}, false},
	})
	runChecks(t, doc("StringLike", "iot:ClientId", `"dev-*"`), []check{
		{Connect, "x", &Context{ClientID: "dev-1"}, true},
		{Connect, "x", &Context{ClientID: "dev-a/b"}, true},
		{Connect, "x", &Context{ClientID: "prod-1"}, false},
	})
	runChecks(t, doc("StringLike", "iot:Connection.Thing.ThingName", `"thing-?"`), []check{
		{Connect, "x", &Context{ThingName: "thing-1"}, true},
		{Connect, "x", &Context{ThingName: "thing-12"}, false},
		{Connect, "x", &Context{ClientID: "thing-1"}, false},
	})
	runChecks(t, doc("StringEquals", "iot:Connection.Thing.ThingName", `"${iot:ClientId}"`), []check{
		{Connect, "x", &Context{ClientID: "t", ThingName: "t"}, true},
		{Connect, "x", &Context{ClientID: "t", ThingName: "u"}, false},
	})
}

func TestConditionsMustAllHold(t *testing.T) {
	s := NewSet(mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Connect","Resource":"*","Condition":{
		"Bool":{"iot:Connection.Thing.IsAttached":"true"},
		"StringLike":{"iot:ClientId":"dev-*"}}}}`))
	runChecks(t, s, []check{
		{Connect, "x", &Context{ClientID: "dev-1", ThingName: "dev-1"}, true},
		{Connect, "x", &Context{ClientID: "dev-1"}, false},
		{Connect, "x", &Context{ClientID: "prod", ThingName: "prod"}, false},
	})
}

func TestNotResource(t *testing.T) {
	s := NewSet(mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iot:Publish","NotResource":["arn:aws:iot:*:*:topic/admin/*","arn:aws:iot:*:*:topic/$aws/*"]}}`))
	runChecks(t, s, []check{
		{Publish, "data/x", nil, true},
		{Publish, "admin/x", nil, false},
		{Publish, "$aws/things/t/shadow/update", nil, false},
		{Receive, "data/x", nil, false},
	})
	denyOutside := NewSet(
		mustParse(t, stmt("Allow", `"iot:Publish"`, `"*"`)),
		mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:Publish","NotResource":"arn:aws:iot:*:*:topic/${iot:ClientId}/*"}}`),
	)
	runChecks(t, denyOutside, []check{
		{Publish, "c1/x", &Context{ClientID: "c1"}, true},
		{Publish, "c2/x", &Context{ClientID: "c1"}, false},
		// An unresolved variable makes the whole statement not apply.
		{Publish, "c2/x", &Context{}, true},
	})
}

func TestPerThingPolicyMatrix(t *testing.T) {
	s := NewSet(mustParse(t, perThingPolicy))
	own := thing("thing-1")
	checks := []check{
		{Connect, "thing-1", own, true},
		{Connect, "thing-2", own, false},
		{Connect, "thing-10", own, false},
		{Connect, "thing-1", &Context{ClientID: "thing-1"}, false},
		{Connect, "thing-1", nil, false},
	}
	for _, suffix := range []string{"update", "get", "delete", "update/accepted", "update/rejected", "update/delta", "update/documents", "get/accepted", "name/lamp/update"} {
		ownTopic := "$aws/things/thing-1/shadow/" + suffix
		otherTopic := "$aws/things/thing-2/shadow/" + suffix
		checks = append(checks,
			check{Publish, ownTopic, own, true},
			check{Receive, ownTopic, own, true},
			check{Subscribe, ownTopic, own, true},
			check{RetainPublish, ownTopic, own, false},
			check{Publish, otherTopic, own, false},
			check{Receive, otherTopic, own, false},
			check{Subscribe, otherTopic, own, false},
			check{Subscribe, "$aws/things/+/shadow/" + suffix, own, false},
			check{Receive, "$aws/things/thing-10/shadow/" + suffix, own, false},
			check{Receive, ownTopic, &Context{ClientID: "thing-1"}, false},
		)
	}
	checks = append(checks,
		check{Subscribe, "$aws/things/thing-1/shadow/#", own, true},
		check{Subscribe, "$aws/things/thing-1/shadow/+/accepted", own, true},
		check{Subscribe, "$aws/things/#", own, false},
		check{Subscribe, "#", own, false},
		check{Publish, "$aws/things/thing-1/shadow", own, false},
		check{Publish, "$aws/things/thing-1/jobs/get", own, false},
		check{Publish, "other/topic", own, false},
		check{GetThingShadow, "thing-1", own, false},
		check{UpdateThingShadow, "thing-1", own, false},
	)
	runChecks(t, s, checks)
}

func TestAllowedDoesNotAllocate(t *testing.T) {
	s := NewSet(mustParse(t, perThingPolicy), mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"iot:*","Resource":"arn:aws:iot:*:*:*/${iot:Connection.Thing.Attributes[blocked]}","Condition":{"StringLike":{"iot:ClientId":"*"}}}}`))
	c := thing("thing-1")
	c.Attributes = map[string]string{"room": "1"}
	allocs := testing.AllocsPerRun(100, func() {
		s.Allowed(Receive, "$aws/things/thing-1/shadow/update/accepted", c)
		s.Allowed(Subscribe, "$aws/things/thing-2/shadow/update/accepted", c)
		s.Allowed(Connect, "thing-1", c)
	})
	if allocs != 0 {
		t.Errorf("Allowed allocates %v times per run, want 0", allocs)
	}
}

func TestAllowedIsSafeForConcurrentUse(t *testing.T) {
	s := NewSet(mustParse(t, perThingPolicy))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			name := fmt.Sprintf("thing-%d", g)
			c := thing(name)
			for range 200 {
				if !s.Allowed(Receive, "$aws/things/"+name+"/shadow/update/accepted", c) {
					t.Errorf("%s: own topic denied", name)
					return
				}
				if s.Allowed(Receive, "$aws/things/other/shadow/update/accepted", c) {
					t.Errorf("%s: other topic allowed", name)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func TestSourceIPConditions(t *testing.T) {
	at := func(addr string) *Context {
		c := thing("dev")
		if addr != "" {
			c.SourceIP = netip.MustParseAddr(addr)
		}
		return c
	}
	allowFrom := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":"iot:Connect","Resource":"*"},
		{"Effect":"Allow","Action":"iot:Publish","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":["10.1.0.0/16","192.0.2.7","2001:db8::/32","::ffff:198.51.100.0/120"]}}}]}`)
	denyFrom := mustParse(t, `{"Version":"2012-10-17","Statement":[
		{"Effect":"Allow","Action":["iot:Connect","iot:Subscribe"],"Resource":"*"},
		{"Effect":"Deny","Action":"iot:Subscribe","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":"127.0.0.0/8"}}}]}`)
	tests := []struct {
		name       string
		set        *Set
		a          Action
		addr       string
		want       bool
		deniedByIP bool
	}{
		{"in a listed range", NewSet(allowFrom), Publish, "10.1.200.3", true, false},
		{"the listed address", NewSet(allowFrom), Publish, "192.0.2.7", true, false},
		{"an IPv4-mapped IPv6 address", NewSet(allowFrom), Publish, "::ffff:192.0.2.7", true, false},
		{"in the IPv6 range", NewSet(allowFrom), Publish, "2001:db8::1", true, false},
		{"in a range written IPv4-mapped", NewSet(allowFrom), Publish, "198.51.100.9", true, false},
		{"outside every range", NewSet(allowFrom), Publish, "10.2.0.1", false, true},
		{"address unknown", NewSet(allowFrom), Publish, "", false, true},
		{"no IP condition on the action", NewSet(allowFrom), Connect, "10.2.0.1", true, false},
		{"denied for another reason", NewSet(allowFrom), Subscribe, "10.1.0.1", false, false},
		{"NotIpAddress deny from outside", NewSet(denyFrom), Subscribe, "192.0.2.1", false, true},
		{"NotIpAddress deny, loopback", NewSet(denyFrom), Subscribe, "127.0.0.1", true, false},
		{"NotIpAddress holds for an unknown address", NewSet(denyFrom), Subscribe, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := at(tt.addr)
			if got := tt.set.Allowed(tt.a, "t/x", c); got != tt.want {
				t.Errorf("Allowed = %v, want %v", got, tt.want)
			}
			if got := tt.set.DeniedBySourceIP(tt.a, "t/x", c); got != tt.deniedByIP {
				t.Errorf("DeniedBySourceIP = %v, want %v", got, tt.deniedByIP)
			}
		})
	}
}
