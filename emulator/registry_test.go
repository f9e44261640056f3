package emulator

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowload/shadowload/fleet"
)

const testPolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:*","Resource":"*"}]}`

// selfSignedPEM makes a throw-away certificate for registry tests that do
// not connect.
func selfSignedPEM(t testing.TB, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func openTestRegistry(t testing.TB, dir string) *Registry {
	t.Helper()
	r, err := OpenRegistry(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func TestRegistryRegistersAndPersists(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	r := openTestRegistry(t, dir)
	if err := r.EnsurePolicy(ctx, "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	certPEM := selfSignedPEM(t, "thing-1")
	id, err := r.RegisterThing(ctx, "thing-1", certPEM, "p")
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(certPEM)
	if id != fleet.CertificateID(block.Bytes) || len(id) != 64 || strings.ToLower(id) != id {
		t.Fatalf("certificate ID %q is not the lowercase hex SHA-256 of the DER", id)
	}
	again, err := r.RegisterThing(ctx, "thing-1", certPEM, "p")
	if err != nil || again != id {
		t.Fatalf("re-registering: %q, %v", again, err)
	}
	if err := r.SetCertificateStatus(id, StatusInactive); err != nil {
		t.Fatal(err)
	}
	_ = r.Close()

	r2 := openTestRegistry(t, dir)
	c, ok := r2.Certificate(id)
	if !ok {
		t.Fatal("certificate lost across reopen")
	}
	if c.Status != StatusInactive || c.Thing != "thing-1" || len(c.Policies) != 1 || c.Policies[0] != "p" {
		t.Fatalf("reopened certificate = %+v", c)
	}
	if th, ok := r2.Thing("thing-1"); !ok || len(th.Certificates) != 1 || th.Certificates[0] != id {
		t.Fatalf("reopened thing = %+v, %v", th, ok)
	}
	if doc, ok := r2.Policy("p"); !ok || doc != testPolicy {
		t.Fatalf("reopened policy = %q, %v", doc, ok)
	}
}

func TestRegistryRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	r := openTestRegistry(t, t.TempDir())
	if err := r.EnsurePolicy(ctx, "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	good := selfSignedPEM(t, "x")
	tests := []struct {
		name    string
		do      func() error
		mention string
	}{
		{"malformed policy JSON", func() error { return r.EnsurePolicy(ctx, "bad", `{"Version":`) }, `policy "bad"`},
		{"policy without statements", func() error { return r.EnsurePolicy(ctx, "bad", `{"Version":"2012-10-17"}`) }, `policy "bad"`},
		{"bad policy name", func() error { return r.EnsurePolicy(ctx, "a b", testPolicy) }, "policy name"},
		{"bad thing name", func() error { _, err := r.RegisterThing(ctx, "a/b", good, "p"); return err }, "thing name"},
		{"missing policy", func() error { _, err := r.RegisterThing(ctx, "t", good, "nope"); return err }, `policy "nope" does not exist`},
		{"not a PEM certificate", func() error { _, err := r.RegisterThing(ctx, "t", []byte("junk"), "p"); return err }, "PEM CERTIFICATE"},
		{"unknown status", func() error { return r.SetCertificateStatus(strings.Repeat("0", 64), "ASLEEP") }, "want ACTIVE"},
		{"unregistered certificate", func() error { return r.SetCertificateStatus(strings.Repeat("0", 64), StatusRevoked) }, "not registered"},
		{"certificate on another thing", func() error {
			if _, err := r.RegisterThing(ctx, "owner", good, "p"); err != nil {
				return nil
			}
			_, err := r.RegisterThing(ctx, "thief", good, "p")
			return err
		}, `already attached to thing "owner"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if err == nil || !strings.Contains(err.Error(), tt.mention) {
				t.Fatalf("error %v, want one mentioning %q", err, tt.mention)
			}
		})
	}
}

func TestRegistrySeesAnotherWritersRecords(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	reader := openTestRegistry(t, dir)
	writer := openTestRegistry(t, dir)
	var got []statusChange
	var mu sync.Mutex
	reader.onStatusChange(func(id string, s CertStatus) {
		mu.Lock()
		got = append(got, statusChange{id, s})
		mu.Unlock()
	})
	if err := writer.EnsurePolicy(ctx, "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	id, err := writer.RegisterThing(ctx, "late", selfSignedPEM(t, "late"), "p")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := reader.Certificate(id); ok {
		t.Fatal("reader saw the record before refreshing")
	}
	if n, err := reader.Refresh(); err != nil || n != 2 {
		t.Fatalf("Refresh applied %d records, err %v; want 2", n, err)
	}
	if c, ok := reader.Certificate(id); !ok || c.Status != StatusActive {
		t.Fatalf("reader certificate = %+v, %v", c, ok)
	}
	if err := writer.SetCertificateStatus(id, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Refresh(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != (statusChange{id, StatusRevoked}) {
		t.Fatalf("status changes seen = %v", got)
	}
}

func TestRegistryLeavesTornLineForLater(t *testing.T) {
	dir := t.TempDir()
	r := openTestRegistry(t, dir)
	f, err := os.OpenFile(filepath.Join(dir, RegistryFileName), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	line := `{"op":"policy","name":"p","document":` + string(mustJSON(t, testPolicy)) + "}\n"
	if _, err := f.WriteString(line[:20]); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Refresh(); n != 0 || err != nil {
		t.Fatalf("torn line: applied %d, err %v", n, err)
	}
	if _, err := f.WriteString(line[20:]); err != nil {
		t.Fatal(err)
	}
	if n, err := r.Refresh(); n != 1 || err != nil {
		t.Fatalf("completed line: applied %d, err %v", n, err)
	}
	if _, err := f.WriteString("{\"op\":\"dance\"}\n"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Refresh(); err == nil || !strings.Contains(err.Error(), RegistryFileName+":2") {
		t.Fatalf("bad record error %v, want one naming line 2", err)
	}
}

func TestRegistryRegistersTenThousandThingsQuickly(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	dir := t.TempDir()
	ctx := context.Background()
	r := openTestRegistry(t, dir)
	if err := r.EnsurePolicy(ctx, "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	pemOne := selfSignedPEM(t, "seed")
	const n = 10000
	for i := 0; i < n; i++ {
		// Distinct IDs without generating 10,000 keys: the registry keys
		// certificates by ID, which the register record carries.
		rec := record{Op: opRegister, Thing: "thing-" + strconv.Itoa(i), Cert: fleet.CertificateID([]byte(strconv.Itoa(i))), PEM: string(pemOne), Policies: []string{"p"}, Status: StatusActive}
		if err := r.append(rec); err != nil {
			t.Fatal(err)
		}
	}
	start := time.Now()
	r2 := openTestRegistry(t, dir)
	if got := len(r2.Things()); got != n {
		t.Fatalf("reopened registry has %d things, want %d", got, n)
	}
	t.Logf("reopened %d things in %v", n, time.Since(start))
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestRegistryAppendsWhileLogIsReplaced(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	r := openTestRegistry(t, dir)
	if err := r.EnsurePolicy(ctx, "p", testPolicy); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, RegistryFileName)
	lock, err := os.OpenFile(filepath.Join(dir, RegistryLockName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 50 {
			// Another process rewrites the log as compaction does: under
			// the registry lock, a copy renamed over it.
			if err := lockFile(lock); err != nil {
				t.Error(err)
				return
			}
			data, err := os.ReadFile(path)
			tmp := path + ".tmp" + strconv.Itoa(i)
			if err == nil {
				err = os.WriteFile(tmp, data, 0o644)
			}
			if err == nil {
				err = os.Rename(tmp, path)
			}
			if uerr := unlockFile(lock); err == nil {
				err = uerr
			}
			if err != nil {
				t.Error(err)
				return
			}
			if _, err := r.Refresh(); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 100 {
				if err := r.EnsurePolicy(ctx, "p"+strconv.Itoa(w)+"-"+strconv.Itoa(i), testPolicy); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
