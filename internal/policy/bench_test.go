package policy

import "testing"

func BenchmarkAllowedReceive(b *testing.B) {
	s := NewSet(mustParse(b, perThingPolicy))
	c := thing("thing-1")
	const topic = "$aws/things/thing-1/shadow/update/accepted"
	if !s.Allowed(Receive, topic, c) {
		b.Fatal("own shadow topic denied")
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Allowed(Receive, topic, c)
	}
}

func BenchmarkAllowedReceiveDenied(b *testing.B) {
	s := NewSet(mustParse(b, perThingPolicy))
	c := thing("thing-1")
	const topic = "$aws/things/thing-2/shadow/update/accepted"
	if s.Allowed(Receive, topic, c) {
		b.Fatal("other thing's shadow topic allowed")
	}
	b.ReportAllocs()
	for b.Loop() {
		s.Allowed(Receive, topic, c)
	}
}

func BenchmarkAllowedSubscribeWithDeny(b *testing.B) {
	s := NewSet(mustParse(b, perThingPolicy), mustParse(b, stmt("Deny", `"iot:*"`, `["arn:aws:iot:*:*:topicfilter/$aws/things/*/jobs/*","arn:aws:iot:*:*:*/blocked/*"]`)))
	c := thing("thing-1")
	const filter = "$aws/things/thing-1/shadow/update/accepted"
	b.ReportAllocs()
	for b.Loop() {
		s.Allowed(Subscribe, filter, c)
	}
}

func BenchmarkParsePerThingPolicy(b *testing.B) {
	doc := []byte(perThingPolicy)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(doc); err != nil {
			b.Fatal(err)
		}
	}
}
