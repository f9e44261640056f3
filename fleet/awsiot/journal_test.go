package awsiot

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

func TestJournalCutsATornLastLineAndKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, JournalFileName)
	data := `{"op":"pending","thing":"a","time":100}` + "\n" + `{"op":"done","thing":"a","cert":"c1","time":101}` + "\n" + `{"op":"pending","thing":"b","ti`
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	j, st, err := openJournal(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.done["a"] != "c1" || len(st.pending) != 0 {
		t.Errorf("state %+v, want a done and the torn pending of b ignored", st)
	}
	if err := j.append(journalRecord{Op: jPending, Thing: "b"}); err != nil {
		t.Fatal(err)
	}
	j.close()
	_, st, err = openJournal(dir)
	if err != nil {
		t.Fatalf("reopening after an append behind a torn line: %v", err)
	}
	if _, ok := st.pending["b"]; !ok || st.done["a"] != "c1" {
		t.Errorf("state after the append %+v", st)
	}
}

func TestJournalRefusesDamageBeforeItsEnd(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, JournalFileName), []byte("not json\n"+`{"op":"done","thing":"a","cert":"c","time":1}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := openJournal(dir); err == nil {
		t.Fatal("a damaged journal was accepted")
	}
}

// FuzzJournal checks that reading any journal never panics and that a
// journal it accepts ends on a whole line and reads the same again.
func FuzzJournal(f *testing.F) {
	f.Add([]byte(`{"op":"pending","thing":"a","time":1}` + "\n" + `{"op":"done","thing":"a","cert":"c","time":2}` + "\n"))
	f.Add([]byte(`{"op":"policy","name":"p","created":true,"time":1}` + "\n" + `{"op":"cle`))
	f.Add([]byte("\n\n"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, JournalFileName)
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, st, err := openJournal(dir)
		if err != nil {
			return
		}
		j.close()
		after, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(after) > 0 && !bytes.HasSuffix(after, []byte("\n")) {
			t.Fatalf("journal %q left as %q: not ending on a whole line", data, after)
		}
		j2, st2, err := openJournal(dir)
		if err != nil {
			t.Fatalf("journal %q accepted once, refused on reopening: %v", data, err)
		}
		j2.close()
		if !reflect.DeepEqual(st, st2) {
			t.Fatalf("journal %q read as %+v, then %+v", data, st, st2)
		}
	})
}
