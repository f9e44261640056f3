package scenario

import (
	"bytes"
	"encoding/json"
	"testing"
)

func loadPayload(t testing.TB, path string) *Payload {
	t.Helper()
	s, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	return &s.Payload
}

func TestAppendFieldsWritesValidJSONInFieldOrder(t *testing.T) {
	g, err := loadPayload(t, "testdata/full.yaml").Compile(1)
	if err != nil {
		t.Fatal(err)
	}
	for thing := range 20 {
		out := g.AppendFields(nil, thing, nil)
		if !json.Valid(out) {
			t.Fatalf("invalid JSON %s", out)
		}
		dec := json.NewDecoder(bytes.NewReader(out))
		dec.UseNumber()
		var v map[string]any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		keys := []string{`{"temperature":`, `,"seq":`, `,"level":`, `,"mode":`, `,"blob":`, `,"on":`, `,"count":`}
		at := 0
		for _, k := range keys {
			i := bytes.Index(out[at:], []byte(k))
			if i < 0 {
				t.Fatalf("%s: key %s missing or out of order", out, k)
			}
			at += i + len(k)
		}
		temp, _ := v["temperature"].(json.Number).Float64()
		count, _ := v["count"].(json.Number).Int64()
		blob, _ := v["blob"].(string)
		switch {
		case temp < 18 || temp > 25:
			t.Errorf("temperature %v outside 18 to 25", temp)
		case count < 0 || count > 10:
			t.Errorf("count %v outside 0 to 10", count)
		case len(blob) != 64:
			t.Errorf("blob has %d bytes; want 64", len(blob))
		case v["mode"] != "eco" && v["mode"] != "comfort" && v["mode"] != "boost":
			t.Errorf("mode %v not a choice", v["mode"])
		}
		if len(out) > (&Payload{Fields: g.payloadFields()}).MaxFieldsBytes() {
			t.Errorf("%d bytes above the bound %d", len(out), (&Payload{Fields: g.payloadFields()}).MaxFieldsBytes())
		}
	}
}

func (g *Generator) payloadFields() []Field {
	out := make([]Field, len(g.fields))
	for i, f := range g.fields {
		out[i] = f.Field
	}
	return out
}

func TestAppendFieldsIsDeterministicForASeed(t *testing.T) {
	p := loadPayload(t, "testdata/full.yaml")
	run := func(seed int64, order []int) map[int][]string {
		g, err := p.Compile(seed)
		if err != nil {
			t.Fatal(err)
		}
		out := map[int][]string{}
		for _, thing := range order {
			out[thing] = append(out[thing], string(g.AppendFields(nil, thing, nil)))
		}
		return out
	}
	a := run(7, []int{0, 1, 2, 0, 1, 2, 0})
	b := run(7, []int{2, 2, 1, 0, 0, 1, 0})
	for thing := range 3 {
		if len(a[thing]) != len(b[thing]) {
			t.Fatalf("thing %d: %d and %d calls; the orders must call each thing equally", thing, len(a[thing]), len(b[thing]))
		}
		for i := range a[thing] {
			if a[thing][i] != b[thing][i] {
				t.Errorf("thing %d call %d: %s vs %s; want the same output whatever the call order", thing, i, a[thing][i], b[thing][i])
			}
		}
	}
	c := run(8, []int{0})
	if c[0][0] == a[0][0] {
		t.Errorf("seeds 7 and 8 gave the same %s", c[0][0])
	}
	g1, _ := p.Compile(3)
	g2, _ := p.Compile(3)
	r1, r2 := NewRand(9), NewRand(9)
	for i := range 5 {
		x, y := g1.AppendFields(nil, i, r1), g2.AppendFields(nil, i, r2)
		if !bytes.Equal(x, y) {
			t.Errorf("with a caller's Rand: %s vs %s", x, y)
		}
	}
}

func TestCounterAndWalkProgressPerThing(t *testing.T) {
	p := &Payload{Fields: []Field{
		{Name: "seq", Kind: FieldCounter, Start: 10, Step: 5},
		{Name: "w", Kind: FieldWalk, Start: 1, Step: 1, Min: 0, Max: 2},
	}}
	g, err := p.Compile(1)
	if err != nil {
		t.Fatal(err)
	}
	type doc struct {
		Seq int64
		W   float64
	}
	next := func(thing int) doc {
		var d doc
		if err := json.Unmarshal(g.AppendFields(nil, thing, nil), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	want := map[int]int64{0: 10, 1: 10}
	prevW := map[int]float64{}
	for round := range 50 {
		for _, thing := range []int{0, 1, 1} {
			d := next(thing)
			if d.Seq != want[thing] {
				t.Fatalf("round %d thing %d seq %d; want %d", round, thing, d.Seq, want[thing])
			}
			want[thing] += 5
			if d.W < 0 || d.W > 2 {
				t.Fatalf("walk %v left 0 to 2", d.W)
			}
			pw, ok := prevW[thing]
			if !ok && d.W != 1 {
				t.Fatalf("thing %d walk began at %v; want the start, 1", thing, d.W)
			}
			if ok && d.W != pw && d.W != pw-1 && d.W != pw+1 {
				t.Fatalf("thing %d walk jumped %v → %v; want steps of 1", thing, pw, d.W)
			}
			prevW[thing] = d.W
		}
	}
}

func TestAppendFieldsDoesNotAllocate(t *testing.T) {
	g, err := loadPayload(t, "testdata/full.yaml").Compile(1)
	if err != nil {
		t.Fatal(err)
	}
	g.Reserve(100)
	buf := make([]byte, 0, 1024)
	rnd := NewRand(1)
	thing := 0
	allocs := testing.AllocsPerRun(1000, func() {
		buf = g.AppendFields(buf[:0], thing%100, rnd)
		thing++
	})
	if allocs != 0 {
		t.Errorf("%v allocations per call; want 0", allocs)
	}
}

func TestCompileRejectsBrokenFields(t *testing.T) {
	tests := []struct {
		name string
		f    Field
	}{
		{"min above max", Field{Name: "a", Kind: FieldFloat, Min: 2, Max: 1}},
		{"walk without step", Field{Name: "a", Kind: FieldWalk, Max: 1}},
		{"empty choice", Field{Name: "a", Kind: FieldChoice}},
		{"choice not JSON", Field{Name: "a", Kind: FieldChoice, Choices: []string{"eco"}}},
		{"no kind", Field{Name: "a"}},
		{"negative bytes", Field{Name: "a", Kind: FieldString, Bytes: -1}},
	}
	for _, tt := range tests {
		if _, err := (&Payload{Fields: []Field{tt.f}}).Compile(1); err == nil {
			t.Errorf("%s: compiled; want an error", tt.name)
		}
	}
}

func BenchmarkAppendFields(b *testing.B) {
	g, err := loadPayload(b, "testdata/full.yaml").Compile(1)
	if err != nil {
		b.Fatal(err)
	}
	g.Reserve(1000)
	buf := make([]byte, 0, 1024)
	rnd := NewRand(1)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		buf = g.AppendFields(buf[:0], i%1000, rnd)
		i++
	}
	b.SetBytes(int64(len(buf)))
}

func TestScenarioGeneratorReservesTheFleet(t *testing.T) {
	s, err := Load("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	g, err := s.Generator(1)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.rands) != s.Fleet.Things {
		t.Errorf("state for %d things; want %d", len(g.rands), s.Fleet.Things)
	}
	if allocs := testing.AllocsPerRun(100, func() { g.AppendFields(make([]byte, 0, 512)[:0], 99, nil) }); allocs > 1 {
		t.Errorf("%v allocations for a reserved thing; want only the caller's buffer", allocs)
	}
}
