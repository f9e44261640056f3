package scenario

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Generator writes the JSON fields of shadow updates. It is built once by
// Payload.Compile and then appends without allocating.
//
// Counter and walk fields keep state per thing, and each thing has its own
// random stream derived from the seed, so a thing's sequence of values does
// not depend on which goroutine generates it. AppendFields may run
// concurrently for distinct things once Reserve has made room for them.
type Generator struct {
	fields []genField
	seed   uint64
	// counters, walks and rands hold per-thing state: nCounters and nWalks
	// slots per thing, one random stream per thing.
	nCounters, nWalks int
	counters          []int64
	walks             []float64
	rands             []Rand
	started           []bool
}

// genField is one compiled field: its key text and generator.
type genField struct {
	Field
	key   []byte // `"name":` with a leading comma for all but the first
	slot  int    // index among counters or walks of the thing
	scale float64
	span  uint64
}

// Compile checks the payload and builds its Generator. The seed fixes every
// random value: the same seed gives the same output for the same calls.
func (p *Payload) Compile(seed int64) (*Generator, error) {
	g := &Generator{seed: uint64(seed)}
	for i, f := range p.Fields {
		gf := genField{Field: f}
		if i > 0 {
			gf.key = append(gf.key, ',')
		}
		gf.key = append(gf.key, jsonString(f.Name)...)
		gf.key = append(gf.key, ':')
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("compile payload field %q: %w", f.Name, err)
		}
		switch f.Kind {
		case FieldCounter:
			gf.slot = g.nCounters
			g.nCounters++
		case FieldWalk:
			gf.slot = g.nWalks
			g.nWalks++
			gf.scale = math.Pow(10, float64(f.Decimals))
		case FieldInt:
			gf.span = uint64(int64(f.Max)-int64(f.Min)) + 1
		}
		g.fields = append(g.fields, gf)
	}
	return g, nil
}

// check reports why the field cannot be generated.
func (f Field) check() error {
	switch f.Kind {
	case FieldFloat, FieldInt, FieldWalk:
		if !(f.Min <= f.Max) {
			return fmt.Errorf("min %v is not at or below max %v", f.Min, f.Max)
		}
		if f.Kind == FieldWalk && (f.Start < f.Min || f.Start > f.Max || !(f.Step > 0)) {
			return fmt.Errorf("walk start %v step %v: want start within min to max and a step above zero", f.Start, f.Step)
		}
		if f.Kind == FieldInt && (f.Min < -(1<<53) || f.Max > 1<<53) {
			return fmt.Errorf("int bounds %v to %v: want within ±2^53", f.Min, f.Max)
		}
	case FieldChoice:
		if len(f.Choices) == 0 {
			return fmt.Errorf("choice has no values")
		}
		for _, c := range f.Choices {
			if !json.Valid([]byte(c)) {
				return fmt.Errorf("choice value %s is not JSON", c)
			}
		}
	case FieldString:
		if f.Bytes < 0 {
			return fmt.Errorf("string bytes %d: want 0 or more", f.Bytes)
		}
	case FieldCounter, FieldBool:
	default:
		return fmt.Errorf("unknown generator %v", f.Kind)
	}
	if f.Decimals < 0 || f.Decimals > 15 {
		return fmt.Errorf("decimals %d: want 0 to 15", f.Decimals)
	}
	return nil
}

// Reserve makes room for per-thing state of things 0 to things-1, so that
// AppendFields for distinct things may run concurrently.
func (g *Generator) Reserve(things int) {
	if things <= len(g.rands) {
		return
	}
	old := len(g.rands)
	g.counters = append(g.counters, make([]int64, (things-old)*g.nCounters)...)
	g.walks = append(g.walks, make([]float64, (things-old)*g.nWalks)...)
	g.started = append(g.started, make([]bool, things-old)...)
	g.rands = append(g.rands, make([]Rand, things-old)...)
	for t := old; t < things; t++ {
		seed := Rand{state: g.seed ^ uint64(t)*0x9e3779b97f4a7c15}
		g.rands[t] = Rand{state: seed.Uint64()}
	}
}

// Generator compiles the scenario's payload with room for its whole fleet.
func (s *Scenario) Generator(seed int64) (*Generator, error) {
	g, err := s.Payload.Compile(seed)
	if err != nil {
		return nil, err
	}
	g.Reserve(s.Fleet.Things)
	return g, nil
}

// AppendFields appends one JSON object of the payload's fields for the given
// thing (≥ 0), such as {"temperature":21.4,"seq":17}, and advances the thing's
// counters and walks. Random values come from rnd, or from the thing's own
// stream when rnd is nil. A thing beyond the reserved range grows the state,
// which must not race with other calls.
func (g *Generator) AppendFields(dst []byte, thing int, rnd *Rand) []byte {
	if thing >= len(g.rands) {
		g.Reserve(thing + 1)
	}
	if rnd == nil {
		rnd = &g.rands[thing]
	}
	counters := g.counters[thing*g.nCounters : (thing+1)*g.nCounters]
	walks := g.walks[thing*g.nWalks : (thing+1)*g.nWalks]
	first := !g.started[thing]
	g.started[thing] = true
	dst = append(dst, '{')
	for i := range g.fields {
		f := &g.fields[i]
		dst = append(dst, f.key...)
		switch f.Kind {
		case FieldFloat:
			dst = strconv.AppendFloat(dst, f.Min+rnd.Float64()*(f.Max-f.Min), 'f', f.Decimals, 64)
		case FieldInt:
			dst = strconv.AppendInt(dst, int64(f.Min)+int64(rnd.Uint64N(f.span)), 10)
		case FieldCounter:
			if first {
				counters[f.slot] = int64(f.Start)
			} else {
				counters[f.slot] += int64(f.Step)
			}
			dst = strconv.AppendInt(dst, counters[f.slot], 10)
		case FieldWalk:
			v := f.Start
			if !first {
				v = walks[f.slot]
				if rnd.Uint64()&1 == 0 {
					v += f.Step
				} else {
					v -= f.Step
				}
				v = math.Round(min(max(v, f.Min), f.Max)*f.scale) / f.scale
			}
			walks[f.slot] = v
			dst = strconv.AppendFloat(dst, v, 'f', f.Decimals, 64)
		case FieldChoice:
			dst = append(dst, f.Choices[rnd.Uint64N(uint64(len(f.Choices)))]...)
		case FieldString:
			dst = appendRandomString(dst, f.Bytes, rnd)
		case FieldBool:
			dst = strconv.AppendBool(dst, rnd.Uint64()&1 == 1)
		}
	}
	return append(dst, '}')
}

const stringAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"

// appendRandomString appends a JSON string of n characters, six random bits
// each.
func appendRandomString(dst []byte, n int, rnd *Rand) []byte {
	dst = append(dst, '"')
	for n > 0 {
		bits := rnd.Uint64()
		for k := 0; k < 10 && n > 0; k++ {
			dst = append(dst, stringAlphabet[bits&63])
			bits >>= 6
			n--
		}
	}
	return append(dst, '"')
}

// jsonString gives s as a JSON string literal; invalid UTF-8 becomes U+FFFD,
// so marshalling a string cannot fail.
func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
