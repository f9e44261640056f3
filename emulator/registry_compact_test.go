package emulator

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/shadowload/shadowload/fleet"
)

// logLines counts the records in dir's registry log.
func logLines(t testing.TB, dir string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, RegistryFileName))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// registerFake registers a thing with a made-up certificate ID, which is
// all the registry keys certificates by.
func registerFake(t testing.TB, r *Registry, thing string, pemBytes []byte) string {
	t.Helper()
	id := fleet.CertificateID([]byte(thing))
	if err := r.append(record{Op: opRegister, Thing: thing, Cert: id, PEM: string(pemBytes), Policies: []string{"p"}, Status: StatusActive}); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestRegistryLogCompactsAsHistoryGrows(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, dir)
	r.compactLines = 100
	if err := r.EnsurePolicy(context.Background(), "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	pemOne := selfSignedPEM(t, "seed")
	var ids []string
	for i := range 10 {
		ids = append(ids, registerFake(t, r, "thing-"+strconv.Itoa(i), pemOne))
	}
	statuses := []CertStatus{StatusInactive, StatusActive, StatusRevoked}
	maxLines := 0
	for i := range 1000 {
		if err := r.SetCertificateStatus(ids[i%len(ids)], statuses[i%len(statuses)]); err != nil {
			t.Fatal(err)
		}
		maxLines = max(maxLines, logLines(t, dir))
	}
	if maxLines > 2*r.compactLines {
		t.Fatalf("log reached %d lines with 11 records of state and compaction from %d", maxLines, r.compactLines)
	}
	again := openTestRegistry(t, dir)
	for _, id := range ids {
		a, _ := r.Certificate(id)
		b, ok := again.Certificate(id)
		if !ok || a.Status != b.Status || a.Thing != b.Thing || fmt.Sprint(a.Policies) != fmt.Sprint(b.Policies) {
			t.Fatalf("certificate %s after compaction and reopen: %+v, want %+v", id, b, a)
		}
	}
	if got := len(again.Things()); got != 10 {
		t.Fatalf("reopened registry has %d things, want 10", got)
	}
}

func TestRegistryCompactionLosesNoConcurrentAppend(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	// Two registries on one directory hold separate lock-file descriptions,
	// as two processes do.
	flipper := openTestRegistry(t, dir)
	flipper.compactLines = 50
	provisioner := openTestRegistry(t, dir)
	if err := flipper.EnsurePolicy(ctx, "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	pemOne := selfSignedPEM(t, "seed")
	id := registerFake(t, flipper, "flipping", pemOne)
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 600 {
			s := StatusActive
			if i%2 == 0 {
				s = StatusInactive
			}
			if err := flipper.SetCertificateStatus(id, s); err != nil {
				t.Error(err)
				return
			}
		}
	})
	const things = 300
	wg.Go(func() {
		for i := range things {
			if err := provisioner.append(record{Op: opRegister, Thing: "new-" + strconv.Itoa(i), Cert: fleet.CertificateID([]byte("new" + strconv.Itoa(i))),
				PEM: string(pemOne), Policies: []string{"p"}, Status: StatusActive}); err != nil {
				t.Error(err)
				return
			}
		}
	})
	wg.Wait()
	if logLines(t, dir) >= 600+things {
		t.Fatalf("log holds %d lines: it never compacted", logLines(t, dir))
	}
	for _, r := range []*Registry{flipper, provisioner, openTestRegistry(t, dir)} {
		if _, err := r.Refresh(); err != nil {
			t.Fatal(err)
		}
		if got := len(r.Things()); got != things+1 {
			t.Fatalf("a registry sees %d things, want %d: an append went to a replaced log", got, things+1)
		}
		if c, _ := r.Certificate(id); c.Status != StatusActive {
			t.Fatalf("flipping certificate is %s, want its last status ACTIVE", c.Status)
		}
	}
}

func TestRegistryReaderRebuildsAfterCompactionWithoutSpuriousChanges(t *testing.T) {
	dir := t.TempDir()
	writer := openTestRegistry(t, dir)
	writer.compactLines = 20
	reader := openTestRegistry(t, dir)
	if err := writer.EnsurePolicy(context.Background(), "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	id := registerFake(t, writer, "t", selfSignedPEM(t, "t"))
	if _, err := reader.Refresh(); err != nil {
		t.Fatal(err)
	}
	var changes []statusChange
	reader.onStatusChange(func(c string, s CertStatus) { changes = append(changes, statusChange{c, s}) })
	for i := range 30 {
		s := StatusActive
		if i%2 == 0 {
			s = StatusInactive
		}
		if err := writer.SetCertificateStatus(id, s); err != nil {
			t.Fatal(err)
		}
	}
	if logLines(t, dir) >= 30 {
		t.Fatalf("log holds %d lines: it never compacted", logLines(t, dir))
	}
	if _, err := reader.Refresh(); err != nil {
		t.Fatal(err)
	}
	want, _ := writer.Certificate(id)
	got, ok := reader.Certificate(id)
	if !ok || got.Status != want.Status {
		t.Fatalf("reader status %s, writer %s", got.Status, want.Status)
	}
	// The reader saw the rebuilt log once: at most one change, to the
	// final status, where its previous status differed.
	if len(changes) > 1 || (len(changes) == 1 && changes[0].status != want.Status) {
		t.Fatalf("reader reported %v", changes)
	}
}
