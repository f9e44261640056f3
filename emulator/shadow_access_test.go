package emulator

import (
	"slices"
	"strings"
	"testing"

	"github.com/shadowload/shadowload/shadow"
)

func TestInProcessShadowRequestsAnswerAsTheService(t *testing.T) {
	e, err := New(Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if res := e.Shadow(shadow.OpGet, "lamp", "", nil); res.Code != 503 {
		t.Fatalf("before Start: %d, want 503", res.Code)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		op        shadow.Op
		shadow    string
		body      string
		wantCode  int
		wantInDoc string
	}{
		{"get of a missing shadow", shadow.OpGet, "", "", 404, ""},
		{"update creates version 1", shadow.OpUpdate, "", `{"state":{"desired":{"on":true}}}`, 200, `"version":1`},
		{"update with a stale version", shadow.OpUpdate, "", `{"state":{"desired":{"on":false}},"version":7}`, 409, ""},
		{"named shadow update", shadow.OpUpdate, "config", `{"state":{"reported":{"mode":"eco"}}}`, 200, `"version":1`},
		{"get returns the document", shadow.OpGet, "", "", 200, `"desired":{"on":true}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := e.Shadow(tc.op, "lamp", tc.shadow, []byte(tc.body))
			if res.Code != tc.wantCode {
				t.Fatalf("code %d (%s), want %d", res.Code, res.Message, tc.wantCode)
			}
			if tc.wantInDoc != "" && !strings.Contains(string(res.Body), tc.wantInDoc) {
				t.Fatalf("document %s lacks %s", res.Body, tc.wantInDoc)
			}
		})
	}
	if got := e.NamedShadows("lamp"); !slices.Equal(got, []string{"config"}) {
		t.Errorf("named shadows %q, want [config]", got)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if res := e.Shadow(shadow.OpGet, "lamp", "", nil); res.Code != 503 {
		t.Fatalf("after Close: %d, want 503", res.Code)
	}
}
