package metrics

import (
	"bytes"
	"testing"
)

func FuzzReadReport(f *testing.F) {
	var buf bytes.Buffer
	if err := knownRun(f).WriteJSON(&buf); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte(`{"schema":"shadowload.report/v1"}`))
	f.Add([]byte(`{"schema":"shadowload.report/v1","latencies":{"x":{"count":0,"histogram":"HISTFAAAACR42pNpmSzMwMDAyAABzFCaEUzOmNZg/wEibGAEAUwJBGk="}}}`))
	f.Fuzz(func(t *testing.T, doc []byte) {
		r, err := ReadReport(bytes.NewReader(doc))
		if err != nil {
			return
		}
		var out bytes.Buffer
		if err := r.WriteJSON(&out); err != nil {
			t.Fatalf("a report that reads must write: %v", err)
		}
		if _, err := ReadReport(&out); err != nil {
			t.Fatalf("a written report must read back: %v", err)
		}
		if _, err := Merge(r, r); err != nil {
			t.Logf("merge: %v", err)
		}
		var sum bytes.Buffer
		if err := WriteSummary(&sum, r); err != nil {
			t.Fatalf("summary: %v", err)
		}
	})
}
