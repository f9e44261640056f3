package emulator

import (
	"net/http"
	"testing"
)

// FuzzRoute checks the router on arbitrary paths: it never panics, and a
// matched operation's labels are the template's, each non-empty.
func FuzzRoute(f *testing.F) {
	for _, p := range []string{"/things/t1", "/things/t1/shadow", "/topics/%24aws%2Fthings%2Ft%2Fshadow%2Fupdate",
		"/attached-policies/arn%3Aaws%3Aiot%3Aus-east-1%3A123456789012%3Acert%2Fab", "/api/things/shadow/ListNamedShadowsForThing/t",
		"/", "//", "/things/%zz", "/things//shadow", "/endpoint"} {
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
			f.Add(m, p)
		}
	}
	f.Fuzz(func(t *testing.T, method, path string) {
		rt, labels, aerr := route(method, path)
		if aerr != nil {
			if rt.handler != nil || aerr.status < 400 {
				t.Fatalf("route(%q, %q): error %v with a handler", method, path, aerr)
			}
			return
		}
		want := -1
		for _, p := range apiPaths {
			if r, ok := p.methods[method]; ok && r.op == rt.op {
				want = 0
				for _, s := range p.segs {
					if s == "" {
						want++
					}
				}
			}
		}
		if len(labels) != want {
			t.Fatalf("route(%q, %q) = %s with labels %q, want %d", method, path, rt.op, labels, want)
		}
		for _, l := range labels {
			if l == "" {
				t.Fatalf("route(%q, %q) = %s with an empty label", method, path, rt.op)
			}
		}
	})
}

// FuzzParseAuthorization checks the Authorization parser never panics and
// that what it accepts has every part of a credential scope.
func FuzzParseAuthorization(f *testing.F) {
	f.Add("AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/iot/aws4_request, SignedHeaders=host;x-amz-date, Signature=abc")
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/e, SignedHeaders=, Signature=")
	f.Add("Basic dXNlcjpwYXNz")
	f.Add("AWS4-HMAC-SHA256 ,,,===")
	f.Fuzz(func(t *testing.T, h string) {
		a, bad := parseAuthorization(h)
		if bad != "" {
			return
		}
		if a.signature == "" || len(a.signedHeaders) == 0 {
			t.Fatalf("parseAuthorization(%q) accepted %+v", h, a)
		}
	})
}
