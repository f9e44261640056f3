package load

import "testing"

func TestTokenRoundTrip(t *testing.T) {
	for _, tt := range []struct {
		slot int
		gen  uint32
	}{{0, 0}, {0, 1}, {9, 12345}, {255, 1<<32 - 1}} {
		tok := string(appendToken(nil, tt.slot, tt.gen))
		slot, gen, ok := parseToken(tok)
		if !ok || slot != tt.slot || gen != tt.gen {
			t.Errorf("parseToken(%q) = %d, %d, %v; want %d, %d, true", tok, slot, gen, ok, tt.slot, tt.gen)
		}
		if len(tok) > 64 {
			t.Errorf("token %q longer than AWS's 64 bytes", tok)
		}
	}
}

func TestParseTokenRejectsForeignTokens(t *testing.T) {
	for _, tok := range []string{"", "not-ours", "58de6e3a-4c3b-4e2f-9e3c-0a1b2c3d4e5f", "zzzzzzzzzzzzzzzz"} {
		if _, _, ok := parseToken(tok); ok {
			t.Errorf("parseToken(%q) accepted a token the harness did not make", tok)
		}
	}
}

func TestInflightCapsAndRecognisesStaleReplies(t *testing.T) {
	f := newInflight(2)
	a, b := f.acquire(), f.acquire()
	if a < 0 || b < 0 || a == b {
		t.Fatalf("acquire gave %d, %d", a, b)
	}
	if c := f.acquire(); c != -1 {
		t.Fatalf("acquire on a full table gave %d, want -1", c)
	}
	genA := f.slots[a].gen
	if f.lookup(a, genA) == nil {
		t.Fatal("lookup of an outstanding request failed")
	}
	f.release(a)
	if f.lookup(a, genA) != nil {
		t.Fatal("lookup found a released request")
	}
	a2 := f.acquire()
	if a2 != a {
		t.Fatalf("re-acquire gave %d, want the freed slot %d", a2, a)
	}
	if f.lookup(a, genA) != nil {
		t.Fatal("a reply to the slot's previous request matched the new one")
	}
}

func BenchmarkInflightAcquireRelease(b *testing.B) {
	f := newInflight(10)
	buf := make([]byte, 0, 16)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		s := f.acquire()
		buf = appendToken(buf[:0], s, f.slots[s].gen)
		slot, gen, _ := parseToken(string(buf))
		if f.lookup(slot, gen) == nil {
			b.Fatal("lost")
		}
		f.release(s)
	}
}

func TestBacklogKeepsOrderAndBound(t *testing.T) {
	var b backlog
	for i := 0; i < maxBacklog; i++ {
		if !b.push(pending{intended: int64(i)}) {
			t.Fatalf("push %d refused below the bound", i)
		}
	}
	if b.push(pending{intended: -1}) {
		t.Fatal("push beyond the bound accepted")
	}
	for i := 0; i < maxBacklog/2; i++ {
		p, ok := b.pop()
		if !ok || p.intended != int64(i) {
			t.Fatalf("pop %d = %v, %v", i, p.intended, ok)
		}
	}
	for i := 0; i < maxBacklog/2; i++ {
		if !b.push(pending{intended: int64(maxBacklog + i)}) {
			t.Fatalf("push after pops refused")
		}
	}
	for i := maxBacklog / 2; i < maxBacklog+maxBacklog/2; i++ {
		p, ok := b.pop()
		if !ok || p.intended != int64(i) {
			t.Fatalf("pop = %v, %v; want %d", p.intended, ok, i)
		}
	}
	if _, ok := b.pop(); ok || b.len() != 0 {
		t.Fatal("backlog not empty at the end")
	}
}
