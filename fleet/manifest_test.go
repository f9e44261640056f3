package fleet

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const idA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
const idB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

func TestManifestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "bundles")
	m := &Manifest{
		Version:  1,
		RootCA:   "root-ca.pem",
		Endpoint: "127.0.0.1:8883",
		Things: []ManifestThing{
			{Name: "sim-00000", CertificateID: idA, Policy: "shadowload-thing"},
			{Name: "observer-00", CertificateID: idB, Policy: "shadowload-observer", Observer: true},
		},
	}
	if err := WriteManifest(dir, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip: got %+v, want %+v", got, m)
	}
	data, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"version": 1`, `"root_ca": "root-ca.pem"`, `"certificate_id": "` + idA, `"observer": true`, `"endpoint"`} {
		if !strings.Contains(string(data), key) {
			t.Errorf("manifest.json lacks %s:\n%s", key, data)
		}
	}
	if strings.Count(string(data), `"observer"`) != 1 {
		t.Errorf("observer:false should be omitted:\n%s", data)
	}
	if leftovers, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(leftovers) > 0 {
		t.Errorf("temporary files left behind: %v", leftovers)
	}
}

func TestReadManifestMissingWrapsNotExist(t *testing.T) {
	_, err := ReadManifest(t.TempDir())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("want fs.ErrNotExist, got %v", err)
	}
}

func TestManifestValidation(t *testing.T) {
	tests := []struct {
		name, json, wantInErr string
	}{
		{"not JSON", `{`, "invalid JSON"},
		{"trailing data", `{"version":1,"root_ca":"","things":[]} {}`, "data after"},
		{"wrong version", `{"version":2,"root_ca":"root-ca.pem","things":[]}`, "version 2, want 1"},
		{"missing version", `{"root_ca":"root-ca.pem","things":[]}`, "version 0"},
		{"root outside dir", `{"version":1,"root_ca":"../root-ca.pem","things":[]}`, "inside the bundles directory"},
		{"absolute root", `{"version":1,"root_ca":"/etc/ssl/ca.pem","things":[]}`, "inside the bundles directory"},
		{"bad thing name", `{"version":1,"root_ca":"","things":[{"name":"a/b","certificate_id":"` + idA + `","policy":"p"}]}`, "things[0]"},
		{"duplicate thing", `{"version":1,"root_ca":"","things":[{"name":"a","certificate_id":"` + idA + `"},{"name":"a","certificate_id":"` + idB + `"}]}`, "both name"},
		{"short certificate id", `{"version":1,"root_ca":"","things":[{"name":"a","certificate_id":"abc"}]}`, "64 lowercase hex"},
		{"uppercase certificate id", `{"version":1,"root_ca":"","things":[{"name":"a","certificate_id":"` + strings.ToUpper(idA) + `"}]}`, "64 lowercase hex"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(tc.json), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := ReadManifest(dir)
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tc.wantInErr) || !strings.Contains(err.Error(), filepath.Join(dir, "manifest.json")) {
				t.Errorf("error %q should mention %q and the file", err, tc.wantInErr)
			}
		})
	}
}

func TestWriteManifestRefusesInvalid(t *testing.T) {
	dir := t.TempDir()
	if err := WriteManifest(dir, &Manifest{Version: 1, Things: []ManifestThing{{Name: "a b", CertificateID: idA}}}); err == nil {
		t.Fatal("want an error for an invalid thing name")
	}
	if err := WriteManifest(dir, nil); err == nil {
		t.Fatal("want an error for a nil manifest")
	}
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("an invalid manifest was written")
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"version":1,"root_ca":"root-ca.pem","things":[{"name":"sim-00000","certificate_id":"` + idA + `","policy":"p","observer":true}]}`))
	f.Add([]byte(`{"version":1,"root_ca":"","things":[]}`))
	f.Add([]byte(`{"version":1,"root_ca":"x/../../y","things":null}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := parseManifest(data, "fuzz")
		if err != nil {
			return
		}
		dir := t.TempDir()
		if err := WriteManifest(dir, m); err != nil {
			t.Fatalf("a manifest that parsed does not write: %v", err)
		}
		again, err := ReadManifest(dir)
		if err != nil {
			t.Fatalf("a written manifest does not read back: %v", err)
		}
		if len(again.Things) != len(m.Things) || again.RootCA != m.RootCA || again.Endpoint != m.Endpoint {
			t.Fatalf("round trip changed the manifest: %+v vs %+v", again, m)
		}
		for i := range m.Things {
			if again.Things[i] != m.Things[i] {
				t.Fatalf("round trip changed things[%d]: %+v vs %+v", i, again.Things[i], m.Things[i])
			}
		}
	})
}
