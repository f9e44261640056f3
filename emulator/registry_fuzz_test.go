package emulator

import (
	"encoding/json"
	"reflect"
	"testing"
)

func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"op":"policy","time":1,"name":"p","document":"{}"}`))
	f.Add([]byte(`{"op":"register","thing":"t","cert":"abc","policies":["p"],"status":"ACTIVE"}`))
	f.Add([]byte(`{"op":"status","cert":"abc","status":"REVOKED"}`))
	f.Add([]byte(`{"op":"status","cert":"abc","status":"ASLEEP"}`))
	f.Add([]byte(`[1,2]`))
	f.Fuzz(func(t *testing.T, line []byte) {
		rec, err := decodeRecord(line)
		if err != nil {
			return
		}
		again, err := json.Marshal(rec)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", rec, err)
		}
		back, err := decodeRecord(again)
		if err != nil {
			t.Fatalf("re-decode %s: %v", again, err)
		}
		if !reflect.DeepEqual(normalize(rec), normalize(back)) {
			t.Fatalf("round trip changed the record: %+v → %+v", rec, back)
		}
	})
}

// normalize makes an empty policy list and a nil one compare equal.
func normalize(r record) record {
	if len(r.Policies) == 0 {
		r.Policies = nil
	}
	return r
}
