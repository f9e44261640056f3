package shadowsvc

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator/internal/shadowsvc/wal"
)

// copyDataDir copies the shadow files of a running service's data
// directory, as a crash would leave them, into a fresh directory.
func copyDataDir(t testing.TB, dataDir string) string {
	t.Helper()
	to := t.TempDir()
	from := shadowDir(dataDir)
	if err := os.MkdirAll(shadowDir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(from)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(from, e.Name()))
		if os.IsNotExist(err) {
			continue // compacted away while copying
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(shadowDir(to), e.Name()), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return to
}

// getVersion asks s for a shadow and returns its version, or -1 on 404.
func getVersion(t testing.TB, s *Service, rec *recorder, thing, name string) int64 {
	t.Helper()
	before := len(rec.all())
	handle(t, s, nil, shadowTopic(thing, name, "get"), ``)
	m := rec.wait(t, before+1)[before]
	if strings.HasSuffix(m.topic, "/rejected") {
		return -1
	}
	return decode(t, m).int("version")
}

func TestAcknowledgedChangesSurviveACrash(t *testing.T) {
	for _, d := range []Durability{DurabilitySync, DurabilityAsync} {
		t.Run(string(d), func(t *testing.T) {
			dir := t.TempDir()
			s, rec := newTestService(t, Config{DataDir: dir, Durability: d})
			for range 3 {
				handle(t, s, nil, shadowTopic("a", "", "update"), `{"state":{"reported":{"x":1}}}`)
			}
			handle(t, s, nil, shadowTopic("a", "cfg", "update"), `{"state":{"desired":{"m":"eco"}}}`)
			handle(t, s, nil, shadowTopic("b", "", "update"), `{"state":{"reported":{"x":1}}}`)
			handle(t, s, nil, shadowTopic("b", "", "delete"), ``)
			rec.wait(t, 3*2+2+2+1)
			// The replies are out: a crash now must keep everything.
			crashed := copyDataDir(t, dir)
			s2, rec2 := newTestService(t, Config{DataDir: crashed, Durability: d})
			if got := s2.Recovered(); got.Records != 6 || got.Shadows != 3 || got.Deleted != 1 {
				t.Errorf("recovered %+v, want 6 records, 3 shadows, 1 deleted", got)
			}
			for _, c := range []struct {
				thing, name string
				want        int64
			}{{"a", "", 3}, {"a", "cfg", 1}, {"b", "", -1}} {
				if v := getVersion(t, s2, rec2, c.thing, c.name); v != c.want {
					t.Errorf("%s/%s after the crash: version %d, want %d", c.thing, c.name, v, c.want)
				}
			}
			before := len(rec2.all())
			handle(t, s2, nil, shadowTopic("b", "", "update"), `{"state":{"reported":{"x":2}}}`)
			if v := decode(t, rec2.wait(t, before+1)[before]).int("version"); v != 2 {
				t.Errorf("deleted shadow re-created after the crash: version %d, want 2 (its floor was 1)", v)
			}
		})
	}
}

func TestOffKeepsChangesOnlyAcrossClose(t *testing.T) {
	dir := t.TempDir()
	s, rec := newTestService(t, Config{DataDir: dir, Durability: DurabilityOff})
	handle(t, s, nil, shadowTopic("a", "", "update"), `{"state":{"reported":{"x":1}}}`)
	rec.wait(t, 2)
	crashed := copyDataDir(t, dir)
	s2, rec2 := newTestService(t, Config{DataDir: crashed})
	if v := getVersion(t, s2, rec2, "a", ""); v != -1 {
		t.Fatalf("off: a crash kept version %d; want nothing logged", v)
	}
}

// durableRecorder checks, as each update/accepted is published, that a
// recovery of the data directory at that moment holds the version it
// announces.
type durableRecorder struct {
	t       testing.TB
	dataDir string
	mu      sync.Mutex
	checked int
	errs    []string
}

func (r *durableRecorder) Publish(topic string, payload []byte) {
	if !strings.HasSuffix(topic, "/update/accepted") {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.checked >= 40 {
		return
	}
	r.checked++
	var ver int64
	fmt.Sscanf(string(payload[strings.Index(string(payload), `"version":`)+len(`"version":`):]), "%d", &ver)
	thing := strings.Split(topic, "/")[2]
	durable := int64(0)
	_, _, err := wal.Open(shadowDir(copyDataDir(r.t, r.dataDir)), wal.Options{}, func(p []byte) error {
		k, _, err := decodeShadowRecord(p)
		if err == nil && k.thing == thing {
			s := Service{store: newStore()}
			if err := s.restore(p); err != nil {
				return err
			}
			durable = s.store.get(k).sh.Version()
		}
		return err
	})
	if err != nil {
		r.errs = append(r.errs, err.Error())
	} else if durable < ver {
		r.errs = append(r.errs, fmt.Sprintf("%s published version %d while the log holds %d", topic, ver, durable))
	}
}

func TestNoAcceptedReplyBeforeItsRecordIsDurable(t *testing.T) {
	dir := t.TempDir()
	dr := &durableRecorder{t: t, dataDir: dir}
	s, err := New(Config{DataDir: dir}, dr)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			var c Conn
			for i := range 10 {
				s.Handle(&c, shadowTopic(fmt.Sprintf("t%d", (w+i)%3), "", "update"), fmt.Appendf(nil, `{"state":{"reported":{"w%d":%d}}}`, w, i))
			}
		})
	}
	wg.Wait()
	settle(t, s)
	dr.mu.Lock()
	defer dr.mu.Unlock()
	if dr.checked == 0 || len(dr.errs) > 0 {
		t.Fatalf("checked %d replies; errors: %v", dr.checked, dr.errs)
	}
}

func TestNotFoundLeavesNoEntry(t *testing.T) {
	s, rec := newTestService(t, Config{DataDir: t.TempDir()})
	for i := range 200 {
		handle(t, s, nil, shadowTopic(fmt.Sprintf("junk-%d", i), "", "get"), ``)
		handle(t, s, nil, shadowTopic(fmt.Sprintf("junk-%d", i), "n", "delete"), ``)
	}
	handle(t, s, nil, shadowTopic("real", "", "update"), `{"state":{"reported":{"x":1}}}`)
	handle(t, s, nil, shadowTopic("gone", "", "update"), `{"state":{"reported":{"x":1}}}`)
	handle(t, s, nil, shadowTopic("gone", "", "delete"), ``)
	msgs := rec.wait(t, 400+2+2+1)
	for _, m := range msgs[:400] {
		if !strings.HasSuffix(m.topic, "/rejected") || decode(t, m).int("code") != 404 {
			t.Fatalf("%s: %s, want a 404", m.topic, m.payload)
		}
	}
	var keys []string
	s.store.each(func(e *entry) { keys = append(keys, e.key.thing+"/"+e.key.name) })
	if strings.Join(keys, ",") != "real/,gone/" && strings.Join(keys, ",") != "gone/,real/" {
		t.Fatalf("entries after 400 404s: %v, want only real/ and gone/ (kept for its version)", keys)
	}
}

func TestCompactionKeepsTheLogShort(t *testing.T) {
	dir := t.TempDir()
	s, rec := newTestService(t, Config{DataDir: dir, CompactBytes: 8 << 10})
	const shadows, rounds = 10, 300
	for i := range rounds {
		for k := range shadows {
			handle(t, s, nil, shadowTopic(fmt.Sprintf("c%d", k), "", "update"), fmt.Sprintf(`{"state":{"reported":{"i":%d}}}`, i))
		}
	}
	rec.wait(t, 2*shadows*rounds)
	eventually(t, "a snapshot", func() bool {
		snaps, _ := filepath.Glob(filepath.Join(shadowDir(dir), "snap-*.bin"))
		return len(snaps) == 1
	})
	crashed := copyDataDir(t, dir)
	s2, rec2 := newTestService(t, Config{DataDir: crashed})
	got := s2.Recovered()
	if got.Snapshot == "" || got.Records >= shadows*rounds/4 {
		t.Fatalf("recovered %+v after %d updates: want a snapshot and a short log", got, shadows*rounds)
	}
	for k := range shadows {
		if v := getVersion(t, s2, rec2, fmt.Sprintf("c%d", k), ""); v != rounds {
			t.Errorf("c%d: version %d, want %d", k, v, rounds)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
}

func TestAChangeThatCannotBeLoggedIsNeverAcknowledged(t *testing.T) {
	s, rec := newTestService(t, Config{DataDir: t.TempDir()})
	handle(t, s, nil, shadowTopic("a", "", "update"), `{"state":{"reported":{"x":1}}}`)
	rec.wait(t, 2)
	s.log.Close()
	handle(t, s, nil, shadowTopic("a", "", "update"), `{"state":{"reported":{"x":2}}}`)
	handle(t, s, nil, shadowTopic("a", "", "get"), ``)
	if msgs := rec.all(); len(msgs) != 2 {
		t.Fatalf("published %v after the log closed; want nothing more", msgs[2:])
	}
	if st := s.Stats(); st.Lost != 2 {
		t.Fatalf("lost %d responses, want 2 (the update and the get that would reveal it)", st.Lost)
	}
}

// blockingPublisher blocks publishes on topics containing stuck until
// released.
type blockingPublisher struct {
	*recorder
	stuck   string
	entered chan struct{}
	release chan struct{}
}

func (p *blockingPublisher) Publish(topic string, payload []byte) {
	if strings.Contains(topic, p.stuck) {
		select {
		case p.entered <- struct{}{}:
		default:
		}
		<-p.release
	}
	p.recorder.Publish(topic, payload)
}

func TestAStuckPublishStallsNoOtherShadowAndKeepsOrder(t *testing.T) {
	p := &blockingPublisher{recorder: newRecorder(), stuck: "/stuck/", entered: make(chan struct{}, 1), release: make(chan struct{})}
	s, err := New(Config{DataDir: t.TempDir()}, p)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	first := make(chan struct{})
	go func() {
		defer close(first)
		s.Handle(nil, shadowTopic("stuck", "", "update"), []byte(`{"state":{"reported":{"n":1}}}`))
	}()
	<-p.entered
	// The stuck shadow's next request is applied and queued without
	// waiting for the blocked publish; other shadows go on.
	s.Handle(nil, shadowTopic("stuck", "", "update"), []byte(`{"state":{"reported":{"n":2}}}`))
	s.Handle(nil, shadowTopic("free", "", "update"), []byte(`{"state":{"reported":{"n":1}}}`))
	if msgs := p.wait(t, 2); len(msgs) != 2 || !strings.Contains(msgs[0].topic, "/free/") {
		t.Fatalf("while one publish is stuck: %v, want the free shadow's two replies", msgs)
	}
	close(p.release)
	<-first
	msgs := p.wait(t, 6)
	var versions []int64
	for _, m := range msgs {
		if strings.HasSuffix(m.topic, "stuck/shadow/update/accepted") {
			versions = append(versions, decode(t, m).int("version"))
		}
	}
	if fmt.Sprint(versions) != "[1 2]" {
		t.Fatalf("stuck shadow's accepted versions in publish order: %v, want [1 2]", versions)
	}
}

func TestCloseIsBoundedWithAStuckPublisherAndKeepsTheChange(t *testing.T) {
	dir := t.TempDir()
	p := &blockingPublisher{recorder: newRecorder(), stuck: "/stuck/", entered: make(chan struct{}, 1), release: make(chan struct{})}
	defer close(p.release)
	s, err := New(Config{DataDir: dir}, p)
	if err != nil {
		t.Fatal(err)
	}
	s.closeWait = 50 * time.Millisecond
	go s.Handle(nil, shadowTopic("stuck", "", "update"), []byte(`{"state":{"reported":{"n":1}}}`))
	<-p.entered
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return with a publish stuck")
	}
	s2, rec := newTestService(t, Config{DataDir: copyDataDir(t, dir)})
	if v := getVersion(t, s2, rec, "stuck", ""); v != 1 {
		t.Fatalf("after Close with a stuck publish: version %d, want 1", v)
	}
}

func TestNewCutsATornTailAndRefusesDamageBeforeIt(t *testing.T) {
	dir := t.TempDir()
	s, rec := newTestService(t, Config{DataDir: dir})
	for i := range 5 {
		handle(t, s, nil, shadowTopic("t", "", "update"), fmt.Sprintf(`{"state":{"reported":{"i":%d}}}`, i))
	}
	rec.wait(t, 10)
	crashed := copyDataDir(t, dir)
	segs, _ := filepath.Glob(filepath.Join(shadowDir(crashed), "wal-*.log"))
	var seg string
	for _, p := range segs {
		if fi, _ := os.Stat(p); fi.Size() > 8 {
			seg = p
		}
	}
	full, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	// The records end where the segment's preallocated zeros begin.
	probe, _ := newTestService(t, Config{DataDir: copyDataDir(t, crashed)})
	end := 8 + int(probe.Recovered().Bytes)
	t.Run("torn tail", func(t *testing.T) {
		d := copyDataDir(t, crashed)
		p := filepath.Join(shadowDir(d), filepath.Base(seg))
		os.WriteFile(p, full[:end-7], 0o644)
		s, rec := newTestService(t, Config{DataDir: d})
		got := s.Recovered()
		if got.Torn != p || got.Records != 4 || !strings.Contains(got.String(), "torn tail") {
			t.Fatalf("recovered %+v (%s), want 4 records and the torn tail of %s reported", got, got, p)
		}
		if v := getVersion(t, s, rec, "t", ""); v != 4 {
			t.Fatalf("version %d after cutting the torn last update, want 4", v)
		}
	})
	t.Run("flipped byte", func(t *testing.T) {
		d := copyDataDir(t, crashed)
		p := filepath.Join(shadowDir(d), filepath.Base(seg))
		b := append([]byte(nil), full...)
		b[8+30] ^= 0x01 // inside the first record
		os.WriteFile(p, b, 0o644)
		_, err := New(Config{DataDir: d}, newRecorder())
		if err == nil || !strings.Contains(err.Error(), p) || !strings.Contains(err.Error(), "offset 8") {
			t.Fatalf("New with a flipped byte in the first record: %v, want an error naming %s at offset 8", err, p)
		}
	})
}
