package policy

import "testing"

func TestActionStringIsIAMName(t *testing.T) {
	tests := []struct {
		a    Action
		want string
	}{
		{Connect, "iot:Connect"},
		{Publish, "iot:Publish"},
		{Subscribe, "iot:Subscribe"},
		{Receive, "iot:Receive"},
		{RetainPublish, "iot:RetainPublish"},
		{GetThingShadow, "iot:GetThingShadow"},
		{UpdateThingShadow, "iot:UpdateThingShadow"},
		{DeleteThingShadow, "iot:DeleteThingShadow"},
		{0, "Action(0)"},
		{99, "Action(99)"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("Action(%d).String() = %q, want %q", uint8(tt.a), got, tt.want)
		}
	}
}

func TestParseActionIsCaseInsensitive(t *testing.T) {
	tests := []struct {
		in      string
		want    Action
		wantErr bool
	}{
		{"iot:Publish", Publish, false},
		{"IOT:publish", Publish, false},
		{"iot:deletethingshadow", DeleteThingShadow, false},
		{"iot:Pub*", 0, true},
		{"iot:Publsh", 0, true},
		{"", 0, true},
	}
	for _, tt := range tests {
		got, err := ParseAction(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseAction(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestActionGlobbing(t *testing.T) {
	tests := []struct {
		pattern string
		want    []Action
	}{
		{"*", []Action{Connect, Publish, Subscribe, Receive, RetainPublish, GetThingShadow, UpdateThingShadow, DeleteThingShadow}},
		{"iot:*", []Action{Connect, Publish, Subscribe, Receive, RetainPublish, GetThingShadow, UpdateThingShadow, DeleteThingShadow}},
		{"iot:Pub*", []Action{Publish}},
		{"IOT:PUB*", []Action{Publish}},
		{"iot:*Publish", []Action{Publish, RetainPublish}},
		{"iot:*ThingShadow", []Action{GetThingShadow, UpdateThingShadow, DeleteThingShadow}},
		{"iot:?etThingShadow", []Action{GetThingShadow}},
		{"iot:receive", []Action{Receive}},
		{"iot:GetRetainedMessage", nil},
		{"s3:*", nil},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			var want actionMask
			for _, a := range tt.want {
				want |= 1 << a
			}
			got, err := compileAction(tt.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("mask = %b, want %b", got, want)
			}
			s := NewSet(mustParse(t, stmt("Allow", `"`+tt.pattern+`"`, `"*"`)))
			for a := Connect; a <= lastAction; a++ {
				if s.Allowed(a, "x", thing("x")) != want.has(a) {
					t.Errorf("Allowed(%v) = %v, want %v", a, !want.has(a), want.has(a))
				}
			}
		})
	}
}

func TestNotActionCoversTheOtherActions(t *testing.T) {
	d := mustParse(t, `{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":["iot:Connect","iot:*Shadow"],"Resource":"*"}}`)
	s := NewSet(d)
	want := map[Action]bool{Publish: true, Subscribe: true, Receive: true, RetainPublish: true}
	for a := Connect; a <= lastAction; a++ {
		if got := s.Allowed(a, "t", nil); got != want[a] {
			t.Errorf("Allowed(%v) = %v, want %v", a, got, want[a])
		}
	}
}
