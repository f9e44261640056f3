package shadow

import (
	"errors"
	"strings"
	"testing"
)

func TestParseTopicRoundTrip(t *testing.T) {
	cases := []struct {
		topic string
		want  Topic
	}{
		{"$aws/things/lamp/shadow/get", Topic{"lamp", "", OpGet, KindRequest}},
		{"$aws/things/lamp/shadow/get/accepted", Topic{"lamp", "", OpGet, KindAccepted}},
		{"$aws/things/lamp/shadow/get/rejected", Topic{"lamp", "", OpGet, KindRejected}},
		{"$aws/things/lamp/shadow/update", Topic{"lamp", "", OpUpdate, KindRequest}},
		{"$aws/things/lamp/shadow/update/accepted", Topic{"lamp", "", OpUpdate, KindAccepted}},
		{"$aws/things/lamp/shadow/update/rejected", Topic{"lamp", "", OpUpdate, KindRejected}},
		{"$aws/things/lamp/shadow/update/delta", Topic{"lamp", "", OpUpdate, KindDelta}},
		{"$aws/things/lamp/shadow/update/documents", Topic{"lamp", "", OpUpdate, KindDocuments}},
		{"$aws/things/lamp/shadow/delete", Topic{"lamp", "", OpDelete, KindRequest}},
		{"$aws/things/lamp/shadow/delete/accepted", Topic{"lamp", "", OpDelete, KindAccepted}},
		{"$aws/things/lamp/shadow/delete/rejected", Topic{"lamp", "", OpDelete, KindRejected}},
		{"$aws/things/a:b_c-D9/shadow/name/$cfg:x_y-Z/update/delta", Topic{"a:b_c-D9", "$cfg:x_y-Z", OpUpdate, KindDelta}},
		{"$aws/things/name/shadow/name/name/get", Topic{"name", "name", OpGet, KindRequest}},
		{"$aws/things/t/shadow/name/get/delete/accepted", Topic{"t", "get", OpDelete, KindAccepted}},
	}
	for _, c := range cases {
		got, err := ParseTopic(c.topic)
		if err != nil || got != c.want {
			t.Errorf("ParseTopic(%q) = %+v, %v; want %+v", c.topic, got, err, c.want)
			continue
		}
		if s := got.String(); s != c.topic {
			t.Errorf("String() = %q, want %q", s, c.topic)
		}
		if b := got.AppendTo([]byte("x:")); string(b) != "x:"+c.topic {
			t.Errorf("AppendTo = %q", b)
		}
		p := Prefix(c.want.Thing, c.want.Shadow)
		if !strings.HasPrefix(c.topic, p+"/") {
			t.Errorf("Prefix(%q, %q) = %q is not a prefix of %q", c.want.Thing, c.want.Shadow, p, c.topic)
		}
	}
}

func TestParseTopicRejects(t *testing.T) {
	cases := []struct {
		topic       string
		notShadow   bool
		errContains string
	}{
		{"$aws/things/lamp/jobs/get", true, "not a shadow topic"},
		{"$aws/things/lamp", true, "not a shadow topic"},
		{"$aws/things/lamp/shadowx/get", true, "not a shadow topic"},
		{"aws/things/lamp/shadow/get", true, "not a shadow topic"},
		{"$AWS/things/lamp/shadow/get", true, "not a shadow topic"},
		{"", true, "not a shadow topic"},
		{"$aws/things/lamp/shadow", false, "unknown suffix"},
		{"$aws/things/lamp/shadow/", false, "unknown suffix"},
		{"$aws/things/lamp/shadow/Get", false, "unknown suffix"},
		{"$aws/things/lamp/shadow/get/delta", false, "unknown suffix"},
		{"$aws/things/lamp/shadow/delete/documents", false, "unknown suffix"},
		{"$aws/things/lamp/shadow/update/accepted/x", false, "unknown suffix"},
		{"$aws/things/lamp/shadow/update/", false, "unknown suffix"},
		{"$aws/things/lamp/shadow/name/s", false, "want an operation"},
		{"$aws/things/lamp/shadow/name//get", false, "shadow name"},
		{"$aws/things/lamp/shadow/name/a b/get", false, "shadow name"},
		{"$aws/things//shadow/get", false, "thing name"},
		{"$aws/things/$lamp/shadow/get", false, "thing name"},
		{"$aws/things/" + strings.Repeat("t", 129) + "/shadow/get", false, "thing name"},
	}
	for _, c := range cases {
		_, err := ParseTopic(c.topic)
		if err == nil {
			t.Errorf("ParseTopic(%q) accepted", c.topic)
			continue
		}
		if errors.Is(err, ErrNotShadowTopic) != c.notShadow || !strings.Contains(err.Error(), c.errContains) {
			t.Errorf("ParseTopic(%q) = %v; want ErrNotShadowTopic %v and %q", c.topic, err, c.notShadow, c.errContains)
		}
	}
}

func TestNameValidation(t *testing.T) {
	cases := []struct {
		name          string
		thing, shadow bool
	}{
		{"a", true, true},
		{"Lamp-01:kitchen_2", true, true},
		{"$config", false, true},
		{strings.Repeat("a", 64), true, true},
		{strings.Repeat("a", 65), true, false},
		{strings.Repeat("a", 128), true, false},
		{strings.Repeat("a", 129), false, false},
		{"", false, false},
		{"a/b", false, false},
		{"a+", false, false},
		{"a#", false, false},
		{"é", false, false},
		{"a.b", false, false},
		{"a b", false, false},
	}
	for _, c := range cases {
		if err := ValidateThingName(c.name); (err == nil) != c.thing {
			t.Errorf("ValidateThingName(%q) = %v, want ok %v", c.name, err, c.thing)
		}
		if err := ValidateShadowName(c.name); (err == nil) != c.shadow {
			t.Errorf("ValidateShadowName(%q) = %v, want ok %v", c.name, err, c.shadow)
		}
	}
}

func TestTopicReplyAndNames(t *testing.T) {
	req := Topic{Thing: "t", Shadow: "s", Op: OpUpdate}
	if got := req.Reply(KindDocuments).String(); got != "$aws/things/t/shadow/name/s/update/documents" {
		t.Errorf("Reply = %s", got)
	}
	if req.Reply(KindAccepted).Reply(KindRequest) != req {
		t.Errorf("Reply(KindRequest) does not give the request topic back")
	}
	if OpDelete.String() != "delete" || KindRequest.String() != "request" || KindDelta.String() != "delta" || Op(9).String() != "Op(9)" || Kind(9).String() != "Kind(9)" {
		t.Errorf("Op/Kind names wrong")
	}
	if Prefix("t", "") != "$aws/things/t/shadow" || Prefix("t", "s") != "$aws/things/t/shadow/name/s" {
		t.Errorf("Prefix wrong")
	}
}

func TestTopicAppendToDoesNotAllocate(t *testing.T) {
	tp := Topic{Thing: "thing-0001", Shadow: "cfg", Op: OpUpdate, Kind: KindAccepted}
	buf := make([]byte, 0, 128)
	if n := testing.AllocsPerRun(100, func() { buf = tp.AppendTo(buf[:0]) }); n != 0 {
		t.Errorf("AppendTo allocates %v times", n)
	}
}
