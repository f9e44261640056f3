package shadow

import (
	"strconv"
	"testing"
)

// twentyFields is a 20-field section: numbers, strings, booleans and a
// nested object.
func twentyFields(variant int) string {
	b := []byte{'{'}
	for i := range 20 {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `"field`...)
		b = strconv.AppendInt(b, int64(i), 10)
		b = append(b, `":`...)
		switch i % 5 {
		case 0:
			b = strconv.AppendInt(b, int64(1000*i+variant), 10)
		case 1:
			b = append(b, `"value-`...)
			b = strconv.AppendInt(b, int64(i+variant), 10)
			b = append(b, '"')
		case 2:
			b = strconv.AppendBool(b, (i+variant)%2 == 0)
		case 3:
			b = append(b, `21.5`...)
		case 4:
			b = append(b, `{"mode":"auto","level":`...)
			b = strconv.AppendInt(b, int64(i+variant), 10)
			b = append(b, '}')
		}
	}
	return string(append(b, '}'))
}

func benchShadow(b *testing.B) *Shadow {
	s := &Shadow{Name: "bench"}
	r := s.Update([]byte(`{"state":{"desired":`+twentyFields(0)+`,"reported":`+twentyFields(1)+`}}`), 1, Limits{})
	if r.Code != 0 {
		b.Fatalf("setup: %s", r.Rejected)
	}
	return s
}

// BenchmarkUpdateReported3of20 applies a 3-field reported update to a
// 20-field shadow and produces accepted, documents and delta.
func BenchmarkUpdateReported3of20(b *testing.B) {
	s := benchShadow(b)
	payloads := [2][]byte{
		[]byte(`{"state":{"reported":{"field0":17,"field1":"value-9","field3":22.5}},"clientToken":"tok-000001"}`),
		[]byte(`{"state":{"reported":{"field0":18,"field1":"value-8","field3":21.5}},"clientToken":"tok-000002"}`),
	}
	b.ReportAllocs()
	var n int
	start := cpuTime()
	for i := 0; b.Loop(); i++ {
		r := s.Update(payloads[i&1], int64(i), Limits{})
		if r.Code != 0 || r.Delta == nil {
			b.Fatalf("update: %s", r.Rejected)
		}
		n += len(r.Accepted) + len(r.Documents) + len(r.Delta)
	}
	reportCPU(b, start)
	b.ReportMetric(float64(n)/float64(b.N), "out-bytes/op")
}

// BenchmarkGet answers a get of the same 20-field shadow (with delta).
func BenchmarkGet(b *testing.B) {
	s := benchShadow(b)
	body := []byte(`{"clientToken":"tok-000001"}`)
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if r := s.Get(body, 2, Limits{}); r.Code != 0 {
			b.Fatal(r.Rejected)
		}
	}
	reportCPU(b, start)
}

// BenchmarkParseReply parses a typical update/accepted reply.
func BenchmarkParseReply(b *testing.B) {
	s := benchShadow(b)
	doc := s.Update([]byte(`{"state":{"reported":{"field0":17,"field1":"value-9","field3":22.5}},"clientToken":"tok-000001"}`), 2, Limits{}).Accepted
	b.ReportAllocs()
	b.SetBytes(int64(len(doc)))
	start := cpuTime()
	for b.Loop() {
		if r, err := ParseReply(doc); err != nil || r.Version == 0 {
			b.Fatal(err)
		}
	}
	reportCPU(b, start)
}

// BenchmarkParseTopic parses a named-shadow reply topic.
func BenchmarkParseTopic(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseTopic("$aws/things/thing-000123/shadow/name/config/update/accepted"); err != nil {
			b.Fatal(err)
		}
	}
}
