package console

import (
	"archive/tar"
	"archive/zip"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/shadow"
)

// createForm is "/create": one form for a thing, its certificate and the
// default thing policy.
func (c *Console) createForm(w http.ResponseWriter, r *http.Request) {
	c.render(w, http.StatusOK, "create", "", map[string]any{"Title": "Create a thing", "Policy": fleet.DefaultThingPolicyName})
}

// create makes a thing with a new certificate from the emulator's CA and
// the default thing policy attached, and writes its bundle to the bundles
// directory as provision does; the thing's page then offers the bundle.
func (c *Console) create(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	name := r.PostForm.Get("name")
	kt := fleet.KeyType(r.PostForm.Get("key"))
	fail := func(status int, msg string) {
		c.render(w, status, "create", "", map[string]any{"Title": "Create a thing", "Policy": fleet.DefaultThingPolicyName, "Name": name, "Error": msg})
	}
	if err := shadow.ValidateThingName(name); err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	if kt == "" {
		kt = fleet.KeyECDSA
	}
	if _, err := fleet.ParseKeyType(string(kt)); err != nil {
		fail(http.StatusBadRequest, err.Error())
		return
	}
	if _, ok := c.em.Registry().Thing(name); ok {
		fail(http.StatusConflict, "thing "+name+" already exists")
		return
	}
	if err := c.createThing(r.Context(), name, kt); err != nil {
		fail(http.StatusInternalServerError, err.Error())
		return
	}
	c.log.Info("console created a thing", "thing", name)
	http.Redirect(w, r, "/things/"+url.PathEscape(name)+"?created=1", http.StatusSeeOther)
}

// createThing issues, registers and writes the bundle of a new thing.
func (c *Console) createThing(ctx context.Context, name string, kt fleet.KeyType) error {
	id, err := c.em.CA().Issue(name, kt)
	if err != nil {
		return err
	}
	reg := c.em.Registry()
	if err := reg.EnsurePolicy(ctx, fleet.DefaultThingPolicyName, fleet.DefaultThingPolicy); err != nil {
		return err
	}
	if err := fleet.WriteBundle(c.opts.BundlesDir, name, id); err != nil {
		return err
	}
	if err := fleet.WriteRootCA(c.opts.BundlesDir, c.em.CA().CertPEM()); err != nil {
		return err
	}
	if _, err := reg.RegisterThing(ctx, name, id.CertPEM, fleet.DefaultThingPolicyName); err != nil {
		return err
	}
	return c.addToManifest(name, id.CertificateID)
}

// addToManifest lists a new thing in the bundles directory's manifest when
// there is one, so that the directory loads as a whole fleet still.
func (c *Console) addToManifest(name, certID string) error {
	m, err := fleet.ReadManifest(c.opts.BundlesDir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, t := range m.Things {
		if t.Name == name {
			return nil
		}
	}
	m.Things = append(m.Things, fleet.ManifestThing{Name: name, CertificateID: certID, Policy: fleet.DefaultThingPolicyName})
	return fleet.WriteManifest(c.opts.BundlesDir, m)
}

// bundleFile is one file of a downloaded bundle.
type bundleFile struct {
	name string
	mode int64
	data []byte
}

// bundle is "/things/{thing}/bundle?format=zip|tar.gz": the thing's bundle
// in the layout provision writes (root-ca.pem, manifest.json and
// THING/certificate.pem.crt, private.pem.key, public.pem.key), so that
// "shadowload shadow --bundle DIR/THING" works on it once unpacked.
func (c *Console) bundle(w http.ResponseWriter, r *http.Request) {
	thing := r.PathValue("thing")
	if err := shadow.ValidateThingName(thing); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	dir := filepath.Join(c.opts.BundlesDir, thing)
	b, err := fleet.LoadBundle(dir)
	if err != nil {
		notFound(w, "bundle of "+thing)
		return
	}
	files := []bundleFile{{name: fleet.RootCAFileName, mode: 0o644, data: c.em.CA().CertPEM()}}
	m := fleet.Manifest{Version: fleet.ManifestVersion, RootCA: fleet.RootCAFileName, Endpoint: brokerEndpoint(c.em),
		Things: []fleet.ManifestThing{{Name: thing, CertificateID: b.CertificateID, Policy: fleet.DefaultThingPolicyName}}}
	if ct, ok := c.em.Registry().Certificate(b.CertificateID); ok && len(ct.Policies) > 0 {
		m.Things[0].Policy = ct.Policies[0]
	}
	mj, _ := json.MarshalIndent(m, "", "  ")
	files = append(files, bundleFile{name: fleet.ManifestFileName, mode: 0o644, data: append(mj, '\n')})
	for _, f := range []struct {
		name string
		mode int64
	}{{fleet.CertFileName, 0o644}, {fleet.PrivateKeyFileName, 0o600}, {fleet.PublicKeyFileName, 0o644}} {
		data, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			notFound(w, "bundle of "+thing)
			return
		}
		files = append(files, bundleFile{name: thing + "/" + f.name, mode: f.mode, data: data})
	}
	format := r.URL.Query().Get("format")
	switch format {
	case "", "zip":
		w.Header().Set("Content-Type", "application/zip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+thing+`.zip"`)
		if err := writeZip(w, files); err != nil {
			c.log.Warn("console: bundle download", "thing", thing, "error", err)
		}
	case "tar.gz":
		w.Header().Set("Content-Type", "application/gzip")
		w.Header().Set("Content-Disposition", `attachment; filename="`+thing+`.tar.gz"`)
		if err := writeTarGz(w, files); err != nil {
			c.log.Warn("console: bundle download", "thing", thing, "error", err)
		}
	default:
		http.Error(w, fmt.Sprintf("format %q: want zip or tar.gz", format), http.StatusBadRequest)
	}
}

func writeZip(w io.Writer, files []bundleFile) error {
	zw := zip.NewWriter(w)
	now := time.Now()
	for _, f := range files {
		h := &zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: now}
		h.SetMode(fs.FileMode(f.mode))
		fw, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		if _, err := fw.Write(f.data); err != nil {
			return err
		}
	}
	return zw.Close()
}

func writeTarGz(w io.Writer, files []bundleFile) error {
	gz := gzip.NewWriter(w)
	tw := tar.NewWriter(gz)
	now := time.Now()
	dirs := map[string]bool{}
	for _, f := range files {
		if d := filepath.Dir(f.name); d != "." && !dirs[d] {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: now}); err != nil {
				return err
			}
		}
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: now}); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}
