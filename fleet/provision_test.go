package fleet

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestProvisionWritesBundlesAndRegisters(t *testing.T) {
	ca := newTestCA(t)
	reg := newMemRegistrar(ca.Pool())
	out := filepath.Join(t.TempDir(), "bundles")
	var progress []int
	m, err := Provision(context.Background(), ca, reg, ProvisionOptions{
		Things:   5,
		OutDir:   out,
		Workers:  3,
		Progress: func(done, total int) { progress = append(progress, done*100+total) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if m.Version != 1 || m.RootCA != "root-ca.pem" || len(m.Things) != 5 {
		t.Fatalf("manifest %+v", m)
	}
	for i, th := range m.Things {
		want, _ := ThingName("sim-{i:05}", i)
		if th.Name != want || th.Policy != "shadowload-thing" || th.Observer {
			t.Errorf("things[%d] = %+v", i, th)
		}
		if reg.things[th.Name] != th.CertificateID {
			t.Errorf("%s registered with %q, manifest says %s", th.Name, reg.things[th.Name], th.CertificateID)
		}
	}
	if reg.policies["shadowload-thing"] != DefaultThingPolicy {
		t.Error("default thing policy not ensured")
	}
	if want := []int{105, 205, 305, 405, 505}; len(progress) != 5 || progress[4] != want[4] || progress[0] != want[0] {
		t.Errorf("progress calls %v, want %v", progress, want)
	}
	if !bytes.Equal(readFile(t, filepath.Join(out, "root-ca.pem")), ca.CertPEM()) {
		t.Error("root-ca.pem is not the CA certificate")
	}
	onDisk, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk.Things) != 5 {
		t.Errorf("manifest on disk has %d things", len(onDisk.Things))
	}
	roots, bundles, err := LoadBundles(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 5 {
		t.Fatalf("%d bundles loaded", len(bundles))
	}
	for _, b := range bundles {
		if _, err := b.Certificate.Leaf.Verify(verifyOpts(roots)); err != nil {
			t.Errorf("%s: %v", b.Thing, err)
		}
		if b.Certificate.Leaf.Subject.CommonName != b.Thing {
			t.Errorf("%s: CN %q", b.Thing, b.Certificate.Leaf.Subject.CommonName)
		}
	}
}

func TestProvisionSecondRunReissuesNothing(t *testing.T) {
	ca := newTestCA(t)
	reg := newMemRegistrar(ca.Pool())
	out := t.TempDir()
	opts := ProvisionOptions{Things: 4, OutDir: out}
	first, err := Provision(context.Background(), ca, reg, opts)
	if err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, th := range first.Things {
		before[th.Name] = readFile(t, filepath.Join(out, th.Name, CertFileName))
	}
	// Drop one public key: reuse restores it without reissuing.
	if err := os.Remove(filepath.Join(out, "sim-00001", PublicKeyFileName)); err != nil {
		t.Fatal(err)
	}
	// A fresh registry (an emulator restarted without state) learns the reused
	// certificates again.
	reg2 := newMemRegistrar(ca.Pool())
	second, err := Provision(context.Background(), ca, reg2, opts)
	if err != nil {
		t.Fatal(err)
	}
	for i, th := range second.Things {
		if th != first.Things[i] {
			t.Errorf("things[%d] changed: %+v -> %+v", i, first.Things[i], th)
		}
		if !bytes.Equal(before[th.Name], readFile(t, filepath.Join(out, th.Name, CertFileName))) {
			t.Errorf("%s was reissued", th.Name)
		}
		if reg2.things[th.Name] != th.CertificateID {
			t.Errorf("%s not registered on the second run", th.Name)
		}
	}
	if _, err := LoadBundle(filepath.Join(out, "sim-00001")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(out, "sim-00001", PublicKeyFileName)); err != nil {
		t.Errorf("public key not restored: %v", err)
	}
}

func TestProvisionReissuesUnfitBundles(t *testing.T) {
	tests := []struct {
		name  string
		spoil func(t *testing.T, ca *CA, out string)
		opts  func(o *ProvisionOptions)
	}{
		{"certificate from another CA", func(t *testing.T, _ *CA, out string) {
			other := newTestCA(t)
			id, err := other.Issue("sim-00000", KeyECDSA)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteBundle(out, "sim-00000", id); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"certificate for another name", func(t *testing.T, ca *CA, out string) {
			id, err := ca.Issue("someone-else", KeyECDSA)
			if err != nil {
				t.Fatal(err)
			}
			if err := WriteBundle(out, "sim-00000", id); err != nil {
				t.Fatal(err)
			}
		}, nil},
		{"half-written bundle", func(t *testing.T, _ *CA, out string) {
			remove(t, filepath.Join(out, "sim-00000", CertFileName))
		}, nil},
		{"corrupt key", func(t *testing.T, _ *CA, out string) {
			overwrite(t, filepath.Join(out, "sim-00000", PrivateKeyFileName), "junk")
		}, nil},
		{"key type changed", func(*testing.T, *CA, string) {}, func(o *ProvisionOptions) { o.Key = KeyRSA }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ca := newTestCA(t)
			reg := newMemRegistrar(ca.Pool())
			out := t.TempDir()
			opts := ProvisionOptions{Things: 2, OutDir: out}
			first, err := Provision(context.Background(), ca, reg, opts)
			if err != nil {
				t.Fatal(err)
			}
			tc.spoil(t, ca, out)
			if tc.opts != nil {
				tc.opts(&opts)
			}
			second, err := Provision(context.Background(), ca, reg, opts)
			if err != nil {
				t.Fatal(err)
			}
			if second.Things[0].CertificateID == first.Things[0].CertificateID {
				t.Fatal("sim-00000 was not reissued")
			}
			if tc.opts == nil && second.Things[1] != first.Things[1] {
				t.Error("sim-00001 was reissued although its bundle was fine")
			}
			if _, bundles, err := LoadBundles(out); err != nil || len(bundles) != 2 {
				t.Fatalf("LoadBundles after reissue: %d bundles, %v", len(bundles), err)
			}
		})
	}
}

func TestProvisionMergesIntoExistingManifest(t *testing.T) {
	ca := newTestCA(t)
	reg := newMemRegistrar(ca.Pool())
	out := t.TempDir()
	ctx := context.Background()
	if _, err := Provision(ctx, ca, reg, ProvisionOptions{Things: 3, OutDir: out, Endpoint: "127.0.0.1:8883"}); err != nil {
		t.Fatal(err)
	}
	if _, err := Provision(ctx, ca, reg, ProvisionOptions{Things: 2, OutDir: out, Observer: true}); err != nil {
		t.Fatal(err)
	}
	m, err := Provision(ctx, ca, reg, ProvisionOptions{Things: 3, FirstIndex: 2, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, th := range m.Things {
		names = append(names, th.Name)
		wantObserver := strings.HasPrefix(th.Name, "observer-")
		if th.Observer != wantObserver {
			t.Errorf("%s: Observer %v", th.Name, th.Observer)
		}
		wantPolicy := "shadowload-thing"
		if wantObserver {
			wantPolicy = "shadowload-observer"
		}
		if th.Policy != wantPolicy {
			t.Errorf("%s: policy %q, want %q", th.Name, th.Policy, wantPolicy)
		}
	}
	want := "sim-00000,sim-00001,sim-00002,observer-00,observer-01,sim-00003,sim-00004"
	if got := strings.Join(names, ","); got != want {
		t.Errorf("manifest things %s, want %s", got, want)
	}
	if m.Endpoint != "127.0.0.1:8883" {
		t.Errorf("endpoint %q not kept", m.Endpoint)
	}
	if reg.policies["shadowload-observer"] != DefaultObserverPolicy {
		t.Error("observer policy not ensured")
	}
	_, bundles, err := LoadBundles(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(bundles) != 7 {
		t.Fatalf("%d bundles, want 7", len(bundles))
	}
}

func TestProvisionRSA(t *testing.T) {
	ca := newTestCA(t)
	reg := newMemRegistrar(ca.Pool())
	out := t.TempDir()
	m, err := Provision(context.Background(), ca, reg, ProvisionOptions{Things: 2, OutDir: out, Key: KeyRSA, NamePattern: "rsa-{i}"})
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range m.Things {
		b, err := LoadBundle(filepath.Join(out, th.Name))
		if err != nil {
			t.Fatal(err)
		}
		if got := keyTypeOf(b.Certificate.Leaf); got != KeyRSA {
			t.Errorf("%s key type %q, want rsa", th.Name, got)
		}
		if !strings.Contains(string(readFile(t, filepath.Join(out, th.Name, PrivateKeyFileName))), "BEGIN PRIVATE KEY") {
			t.Errorf("%s private key is not PKCS #8", th.Name)
		}
	}
}

func TestProvisionRejectsBadOptions(t *testing.T) {
	ca := newTestCA(t)
	reg := newMemRegistrar(ca.Pool())
	out := t.TempDir()
	tests := []struct {
		name      string
		opts      ProvisionOptions
		wantInErr string
	}{
		{"no things", ProvisionOptions{OutDir: out}, "at least 1"},
		{"no out dir", ProvisionOptions{Things: 1}, "OutDir"},
		{"negative first index", ProvisionOptions{Things: 1, OutDir: out, FirstIndex: -1}, "FirstIndex"},
		{"pattern without index", ProvisionOptions{Things: 2, OutDir: out, NamePattern: "same"}, "placeholder"},
		{"bad pattern", ProvisionOptions{Things: 1, OutDir: out, NamePattern: "a b{i}"}, "character"},
		{"bad key type", ProvisionOptions{Things: 1, OutDir: out, Key: "ed448"}, "key type"},
		{"malformed policy", ProvisionOptions{Things: 1, OutDir: out, Policy: "{"}, "ensure policy"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Provision(context.Background(), ca, reg, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.wantInErr) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.wantInErr)
			}
		})
	}
	if entries, _ := os.ReadDir(out); len(entries) != 0 {
		t.Errorf("rejected options left files behind: %v", entries)
	}
	if _, err := Provision(context.Background(), nil, reg, ProvisionOptions{Things: 1, OutDir: out}); err == nil {
		t.Error("nil CA: want an error")
	}
}

func TestProvisionSingleThingWithFixedName(t *testing.T) {
	ca := newTestCA(t)
	m, err := Provision(context.Background(), ca, newMemRegistrar(ca.Pool()), ProvisionOptions{Things: 1, OutDir: t.TempDir(), NamePattern: "my-device"})
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Things) != 1 || m.Things[0].Name != "my-device" {
		t.Fatalf("things %+v", m.Things)
	}
}

func TestProvisionRegistrarFailureKeepsCompletedThings(t *testing.T) {
	ca := newTestCA(t)
	reg := newMemRegistrar(ca.Pool())
	reg.failOn = "sim-00003"
	out := t.TempDir()
	_, err := Provision(context.Background(), ca, reg, ProvisionOptions{Things: 6, OutDir: out, Workers: 1})
	if err == nil || !strings.Contains(err.Error(), `"sim-00003"`) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("error %v, want the refusal of sim-00003", err)
	}
	m, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	// One worker handles the things in order; a thing it had already taken
	// when the failure came may complete too, and is recorded if it does.
	var names []string
	for _, th := range m.Things {
		names = append(names, th.Name)
	}
	got := strings.Join(names, ",")
	if got != "sim-00000,sim-00001,sim-00002" && got != "sim-00000,sim-00001,sim-00002,sim-00004" {
		t.Errorf("manifest after failure lists %s, want the completed things before sim-00003", got)
	}
	// The retry reuses what exists and finishes the rest.
	reg.failOn = ""
	m2, err := Provision(context.Background(), ca, reg, ProvisionOptions{Things: 6, OutDir: out})
	if err != nil {
		t.Fatal(err)
	}
	if len(m2.Things) != 6 {
		t.Fatalf("retry manifest has %d things", len(m2.Things))
	}
	for i := range m.Things {
		if m2.Things[i] != m.Things[i] {
			t.Errorf("retry reissued %s", m.Things[i].Name)
		}
	}
}

func TestProvisionHonoursCancelledContext(t *testing.T) {
	ca := newTestCA(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Provision(ctx, ca, newMemRegistrar(ca.Pool()), ProvisionOptions{Things: 3, OutDir: t.TempDir()})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("want context.Canceled, got %v", err)
	}
}

func TestProvisionCancelledMidway(t *testing.T) {
	ca := newTestCA(t)
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err := Provision(ctx, ca, newMemRegistrar(ca.Pool()), ProvisionOptions{
		Things: 50, OutDir: out, Workers: 2,
		Progress: func(done, _ int) {
			if done == 5 {
				cancel()
			}
		},
	})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "stopped after") {
		t.Fatalf("want a stop after context.Canceled, got %v", err)
	}
	m, err := ReadManifest(out)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Things) < 5 || len(m.Things) >= 50 {
		t.Errorf("manifest lists %d things after cancelling at 5 of 50", len(m.Things))
	}
}

func TestProvisionRefusesMalformedExistingManifest(t *testing.T) {
	ca := newTestCA(t)
	out := t.TempDir()
	overwrite(t, filepath.Join(out, ManifestFileName), `{"version":9}`)
	_, err := Provision(context.Background(), ca, newMemRegistrar(ca.Pool()), ProvisionOptions{Things: 1, OutDir: out})
	if err == nil || !strings.Contains(err.Error(), "version 9") {
		t.Fatalf("error %v, want the bad manifest version", err)
	}
	if got := string(readFile(t, filepath.Join(out, ManifestFileName))); got != `{"version":9}` {
		t.Error("the malformed manifest was overwritten")
	}
}

// lyingRegistrar returns a certificate ID that is not the certificate's.
type lyingRegistrar struct{ *memRegistrar }

func (r lyingRegistrar) RegisterThing(ctx context.Context, thing string, certPEM []byte, policy string) (string, error) {
	if _, err := r.memRegistrar.RegisterThing(ctx, thing, certPEM, policy); err != nil {
		return "", err
	}
	return idA, nil
}

func TestProvisionChecksTheRegisteredCertificateID(t *testing.T) {
	ca := newTestCA(t)
	_, err := Provision(context.Background(), ca, lyingRegistrar{newMemRegistrar(ca.Pool())}, ProvisionOptions{Things: 1, OutDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "registrar returned certificate ID") {
		t.Fatalf("error %v, want a certificate ID mismatch", err)
	}
}
