package policy

import (
	"net/netip"
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(perThingPolicy))
	f.Add([]byte(stmt("Deny", `["iot:*"]`, `"arn:aws:iot:*:*:topic/${iot:ClientId}/?/*"`)))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","NotAction":"iot:Pub*","NotResource":"arn:aws:iot:*:*:thing/${iot:Connection.Thing.Attributes[a]}","Condition":{"Bool":{"iot:Connection.Thing.IsAttached":"true"},"StringLike":{"iot:ClientId":["a*","${iot:Connection.Thing.ThingName}"]}}}}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"iot:Publish","Resource":"*","Condition":{"NotIpAddress":{"aws:SourceIp":["10.0.0.0/8","::1"]}}},{"Effect":"Allow","Action":"*","Resource":"*","Condition":{"IpAddress":{"aws:SourceIp":"127.0.0.1"}}}]}`))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":[{"Effect":"Alow"}]}`))
	f.Add([]byte("{\n\"Version\": [}"))
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"*","Resource":"arn:${${*}"}}`))
	contexts := []*Context{
		nil,
		{},
		{ClientID: "t", ThingName: "t", CommonName: "cn", ThingTypeName: "tt", Attributes: map[string]string{"a": "*"}, Region: "r", Account: "1"},
		{ClientID: "t", SourceIP: netip.MustParseAddr("127.0.0.1")},
	}
	names := []string{"", "t", "$aws/things/t/shadow/update", "a/+/#", "*", "é?"}
	f.Fuzz(func(t *testing.T, doc []byte) {
		d, err := Parse(doc)
		if err != nil {
			if d != nil {
				t.Fatalf("Parse returned a document with error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error text")
			}
			return
		}
		s := NewSet(d)
		for a := Action(0); a <= lastAction+1; a++ {
			for _, c := range contexts {
				for _, n := range names {
					if s.DeniedBySourceIP(a, n, c) && s.Allowed(a, n, c) {
						t.Fatalf("%v on %q: allowed and denied by source IP", a, n)
					}
				}
			}
		}
	})
}

// globMatch is the reference matcher: a memoised recursive glob where `*`
// matches any run of characters and `?` one character, a character being a
// UTF-8 rune or one byte of an invalid encoding.
func globMatch(pat, s string) bool {
	memo := map[[2]int]bool{}
	var rec func(p, s string) bool
	rec = func(p, s string) bool {
		key := [2]int{len(p), len(s)}
		if v, ok := memo[key]; ok {
			return v
		}
		var ok bool
		switch {
		case p == "":
			ok = s == ""
		case p[0] == '*':
			_, w := utf8.DecodeRuneInString(s)
			ok = rec(p[1:], s) || (s != "" && rec(p, s[w:]))
		case p[0] == '?':
			_, w := utf8.DecodeRuneInString(s)
			ok = s != "" && rec(p[1:], s[w:])
		default:
			_, w := utf8.DecodeRuneInString(p)
			ok = strings.HasPrefix(s, p[:w]) && rec(p[w:], s[w:])
		}
		memo[key] = ok
		return ok
	}
	return rec(pat, s)
}

func TestGlobMatchReference(t *testing.T) {
	tests := []struct {
		p, s string
		want bool
	}{
		{"", "", true},
		{"*", "", true},
		{"*", "a/b", true},
		{"a*c", "abbc", true},
		{"a*c", "abcd", false},
		{"?", "é", true},
		{"??", "é", false},
		{"*?x", "€x", true},
		{"a?*?b", "a€b", false},
	}
	for _, tt := range tests {
		if got := globMatch(tt.p, tt.s); got != tt.want {
			t.Errorf("globMatch(%q, %q) = %v, want %v", tt.p, tt.s, got, tt.want)
		}
		p, err := compilePattern(tt.p, patternOptions{glob: true})
		if err != nil {
			t.Fatal(err)
		}
		var sub subject
		sub.add(tt.s)
		if got := p.match(&sub, nil); got != tt.want {
			t.Errorf("compiled %q on %q = %v, want %v", tt.p, tt.s, got, tt.want)
		}
	}
}

// FuzzMatch checks compiled patterns without variables against globMatch,
// on the bare text split into pieces at a character boundary and on the
// full ARN through a Set.
func FuzzMatch(f *testing.F) {
	seeds := [][2]string{
		{"a/*", "a/b/c"},
		{"$aws/things/*/shadow/?et", "$aws/things/t1/shadow/get"},
		{"a/+/b", "a/+/b"},
		{"*a*a*a*b", "aaaaaaaaaaaaaaaa"},
		{"?€*", "é€x"},
		{"**?*", "\xff\xfe"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], uint8(1))
	}
	f.Fuzz(func(t *testing.T, pat, name string, split uint8) {
		if strings.Contains(pat, "${") || !utf8.ValidString(pat) || len(pat) > 64 || len(name) > 256 {
			t.Skip()
		}
		want := globMatch(pat, name)
		p, err := compilePattern(pat, patternOptions{glob: true, vars: true})
		if err != nil {
			t.Fatalf("compile %q: %v", pat, err)
		}
		var sub subject
		cut := 0
		for i := 0; i < int(split) && cut < len(name); i++ {
			_, w := utf8.DecodeRuneInString(name[cut:])
			cut += w
		}
		sub.add(name[:cut])
		sub.add(name[cut:])
		if got := p.match(&sub, nil); got != want {
			t.Fatalf("pattern %q on %q (split at %d) = %v, reference says %v", pat, name, cut, got, want)
		}
		resource := "arn:aws:iot:*:*:topic/" + pat
		quoted := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(resource)
		for _, r := range quoted {
			if r < 0x20 {
				return
			}
		}
		d, err := Parse([]byte(stmt("Allow", `"iot:Publish"`, `"`+quoted+`"`)))
		if err != nil {
			t.Fatalf("parse resource %q: %v", resource, err)
		}
		set := NewSet(d)
		for _, c := range []*Context{nil, {Region: "eu-west-1", Account: "111122223333"}} {
			arn := "arn:aws:iot:" + c.region() + ":" + c.account() + ":topic/" + name
			if got, want := set.Allowed(Publish, name, c), globMatch(resource, arn); got != want {
				t.Fatalf("Allowed(Publish, %q, %+v) with resource %q = %v, reference says %v", name, c, resource, got, want)
			}
		}
	})
}
