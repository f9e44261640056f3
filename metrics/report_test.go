package metrics

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/HdrHistogram/hdrhistogram-go"
)

func TestReportJSONRoundTrip(t *testing.T) {
	rep := knownRun(t)
	rep.Config = json.RawMessage(`{"things":100,"rate":"1000/s"}`)
	rep.Invalid = []string{"generator fell behind its schedule by 2s"}
	rep.Generator = &Generator{CPUSeconds: 3.5, Cores: 2, Utilization: 0.175, SchedulerLag: Summary{Count: 10, Max: 2e6}}
	th, _ := ParseThreshold("update.accepted", "p(99)<250ms")
	Evaluate(rep, []Threshold{th})

	var first bytes.Buffer
	if err := rep.WriteJSON(&first); err != nil {
		t.Fatal(err)
	}
	back, err := ReadReport(bytes.NewReader(first.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	var second bytes.Buffer
	if err := back.WriteJSON(&second); err != nil {
		t.Fatal(err)
	}
	if first.String() != second.String() {
		t.Errorf("round trip changed the report:\n%s\nvs\n%s", first.String(), second.String())
	}
	if !back.Start.Equal(rep.Start) || back.Duration != rep.Duration || len(back.Intervals) != len(rep.Intervals) {
		t.Errorf("start/duration/intervals changed: %v %v %d", back.Start, back.Duration, len(back.Intervals))
	}
	if !strings.Contains(first.String(), `"schema": "shadowload.report/v1"`) {
		t.Errorf("report lacks its schema:\n%s", first.String())
	}
}

func TestHistogramEncodingRoundTripsExactly(t *testing.T) {
	rep := knownRun(t)
	h, err := rep.Histogram("update.accepted")
	if err != nil {
		t.Fatal(err)
	}
	ref := newHistogram()
	for i := int64(1); i <= 100; i++ {
		_ = ref.RecordValue(i * 1e6)
	}
	if !h.Equals(ref) {
		t.Error("decoded histogram differs from the recorded one")
	}
	enc, err := h.Encode(hdrhistogram.V2CompressedEncodingCookieBase)
	if err != nil {
		t.Fatal(err)
	}
	if string(enc) != rep.Latencies["update.accepted"].Histogram {
		t.Error("re-encoding the decoded histogram gives different bytes")
	}
	if _, err := rep.Histogram("nope"); err == nil || !strings.Contains(err.Error(), `latency "nope": not in the report`) {
		t.Errorf("missing histogram error = %v", err)
	}
}

func TestReadReportRejectsBadDocuments(t *testing.T) {
	good := knownRun(t)
	var buf bytes.Buffer
	_ = good.WriteJSON(&buf)
	tests := []struct {
		name, doc, want string
	}{
		{"not json", "{", "read report: unexpected EOF"},
		{"wrong schema", `{"schema":"shadowload.report/v0"}`, `read report: schema "shadowload.report/v0": want "shadowload.report/v1"`},
		{"bad histogram", `{"schema":"shadowload.report/v1","latencies":{"connect":{"count":1,"histogram":"!!"}}}`,
			`read report: latency "connect": decode histogram (want HdrHistogram V2 compressed base64)`},
		{"count mismatch", strings.Replace(buf.String(), `"count": 100,`, `"count": 101,`, 1),
			`read report: latency "update.accepted": histogram holds 100 values, summary says 101`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadReport(strings.NewReader(tt.doc))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("error %v, want prefix %q", err, tt.want)
			}
		})
	}
}
