package console

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/shadow"
)

func TestThingsListSearchesAndPagesTenThousandThings(t *testing.T) {
	em, con := startConsole(t, 0, nil)
	reg := em.Registry()
	const n = 10_000
	for i := range n {
		if _, err := reg.CreateThing(fmt.Sprintf("dev-%05d", i), nil); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name, query   string
		count         string
		want, notWant []string
	}{
		{"first page", "/", "10000 of 10000 things · page 1 of 200", []string{"/things/dev-00000", "/things/dev-00049", `rel="next"`}, []string{"/things/dev-00050", `rel="prev"`}},
		{"a middle page", "/?page=101", "page 101 of 200", []string{"/things/dev-05000", "/things/dev-05049", `rel="prev"`, `rel="next"`}, []string{"/things/dev-04999", "/things/dev-05050"}},
		{"past the last page shows the last", "/?page=9999", "page 200 of 200", []string{"/things/dev-09999"}, []string{`rel="next"`}},
		{"search narrows and pages", "/?q=dev-099", "100 of 10000 things match “dev-099” · page 1 of 2", []string{"/things/dev-09900", "/things/dev-09949", "/?page=2&amp;q=dev-099"}, []string{"/things/dev-00990"}},
		{"search is case-insensitive", "/?q=DEV-0999", "10 of 10000 things", []string{"/things/dev-09999"}, nil},
		{"no match", "/?q=nothing", "0 of 10000 things", []string{"No things match"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := get(t, con.URL()+tc.query)
			if code != http.StatusOK {
				t.Fatalf("status %d", code)
			}
			if !strings.Contains(body, tc.count) {
				t.Errorf("page lacks %q", tc.count)
			}
			for _, w := range tc.want {
				if !strings.Contains(body, w) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(body, w) {
					t.Errorf("page has %q", w)
				}
			}
		})
	}
}

func TestSavingDesiredIsAnUpdateWithItsVersionAndAConflictShows409(t *testing.T) {
	em, con := startConsole(t, 1, nil)
	if res := em.Shadow(shadow.OpUpdate, "sim-00000", "", []byte(`{"state":{"reported":{"on":false}}}`)); res.Code != 200 {
		t.Fatalf("seed update: %d %s", res.Code, res.Message)
	}
	u := con.URL() + "/things/sim-00000/shadow"
	code, loc, _ := post(t, u, url.Values{"shadow": {""}, "desired": {`{"on":true}`}, "version": {"1"}}, nil)
	if code != http.StatusSeeOther || !strings.Contains(loc, "saved=classic+version+2") {
		t.Fatalf("save at version 1: %d %q, want 303 to saved=classic version 2", code, loc)
	}
	res := em.Shadow(shadow.OpGet, "sim-00000", "", nil)
	if !bytes.Contains(res.Body, []byte(`"desired":{"on":true}`)) {
		t.Fatalf("shadow after save: %s", res.Body)
	}
	code, _, body := post(t, u, url.Values{"shadow": {""}, "desired": {`{"on":"stale"}`}, "version": {"1"}}, nil)
	if code != http.StatusConflict || !strings.Contains(body, "409 Version conflict") || !strings.Contains(body, `{&#34;on&#34;:&#34;stale&#34;}`) {
		t.Fatalf("save at a stale version: %d, want 409 with AWS's message and the user's text kept", code)
	}
	code, loc, _ = post(t, u, url.Values{"shadow": {"config"}, "desired": {`{"mode":"eco"}`}}, nil)
	if code != http.StatusSeeOther || !strings.Contains(loc, "saved=config+version+1") {
		t.Fatalf("save of a named shadow: %d %q", code, loc)
	}
	_, page := get(t, con.URL()+"/things/sim-00000")
	for _, want := range []string{"Classic shadow", "Shadow “config”", "version 2", "version 1", "&#34;timestamp&#34;"} {
		if !strings.Contains(page, want) {
			t.Errorf("thing page lacks %q", want)
		}
	}
	code, _, body = post(t, u, url.Values{"shadow": {""}, "desired": {`{not json`}}, nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "desired is not JSON") {
		t.Fatalf("save of bad JSON: %d", code)
	}
}

func TestCreatedThingsBundleLoadsAsProvisionWritesIt(t *testing.T) {
	em, con := startConsole(t, 1, nil)
	code, loc, _ := post(t, con.URL()+"/create", url.Values{"name": {"lamp"}}, nil)
	if code != http.StatusSeeOther || loc != "/things/lamp?created=1" {
		t.Fatalf("create: %d %q", code, loc)
	}
	th, ok := em.Registry().Thing("lamp")
	if !ok || len(th.Certificates) != 1 {
		t.Fatalf("thing lamp: %+v %v", th, ok)
	}
	ct, _ := em.Registry().Certificate(th.Certificates[0])
	if ct.Status != emulator.StatusActive || len(ct.Policies) != 1 || ct.Policies[0] != fleet.DefaultThingPolicyName {
		t.Fatalf("certificate: %s %v", ct.Status, ct.Policies)
	}
	_, page := get(t, con.URL()+loc)
	if !strings.Contains(page, `id="bundle-zip"`) {
		t.Fatal("the created thing's page offers no bundle")
	}
	if m, err := fleet.ReadManifest(filepath.Join(em.DataDir(), "bundles")); err != nil || m.Things[len(m.Things)-1].Name != "lamp" {
		t.Fatalf("bundles manifest does not list lamp: %v", err)
	}
	code, _, body := post(t, con.URL()+"/create", url.Values{"name": {"lamp"}}, nil)
	if code != http.StatusConflict || !strings.Contains(body, "already exists") {
		t.Fatalf("second create: %d", code)
	}
	code, _, body = post(t, con.URL()+"/create", url.Values{"name": {"bad name!"}}, nil)
	if code != http.StatusBadRequest {
		t.Fatalf("create with a bad name: %d %s", code, body)
	}

	for _, format := range []string{"zip", "tar.gz"} {
		t.Run(format, func(t *testing.T) {
			code, data := get(t, con.URL()+"/things/lamp/bundle?format="+format)
			if code != http.StatusOK {
				t.Fatalf("download: %d", code)
			}
			dir := t.TempDir()
			modes := unpack(t, format, []byte(data), dir)
			if modes["lamp/private.pem.key"] != 0o600 {
				t.Errorf("private key mode %o, want 600", modes["lamp/private.pem.key"])
			}
			roots, bundles, err := fleet.LoadBundles(dir)
			if err != nil || len(bundles) != 1 || roots == nil {
				t.Fatalf("LoadBundles: %v (%d bundles)", err, len(bundles))
			}
			if bundles[0].Thing != "lamp" || bundles[0].CertificateID != ct.ID {
				t.Fatalf("bundle is %s %s, want lamp %s", bundles[0].Thing, bundles[0].CertificateID, ct.ID)
			}
		})
	}
}

// unpack writes an archive's files under dir and returns their modes.
func unpack(t *testing.T, format string, data []byte, dir string) map[string]os.FileMode {
	t.Helper()
	modes := map[string]os.FileMode{}
	write := func(name string, mode os.FileMode, r io.Reader) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			t.Fatal(err)
		}
		modes[name] = mode
	}
	switch format {
	case "zip":
		zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			write(f.Name, f.Mode().Perm(), rc)
			rc.Close()
		}
	default:
		gz, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				write(h.Name, os.FileMode(h.Mode).Perm(), tr)
			}
		}
	}
	return modes
}

func TestControlActionsNeedTheAPICredentialsWhenRequired(t *testing.T) {
	em, con := startConsole(t, 1, func(o *Options) { o.RequireCredentials = true })
	key, secret := em.APICredentials()
	tests := []struct {
		name       string
		user, pass string
		want       int
	}{
		{"no credentials", "", "", http.StatusUnauthorized},
		{"wrong secret", key, "nope", http.StatusUnauthorized},
		{"the API's credentials", key, secret, http.StatusSeeOther},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, _, _ := post(t, con.URL()+"/create", url.Values{"name": {fmt.Sprintf("t%d", i)}}, func(r *http.Request) {
				if tc.user != "" {
					r.SetBasicAuth(tc.user, tc.pass)
				}
			})
			if code != tc.want {
				t.Fatalf("status %d, want %d", code, tc.want)
			}
		})
	}
	if code, _ := get(t, con.URL()+"/things/sim-00000/bundle"); code != http.StatusUnauthorized {
		t.Errorf("bundle without credentials: %d, want 401", code)
	}
	if code, _ := get(t, con.URL()+"/test-client"); code != http.StatusUnauthorized {
		t.Errorf("test client without credentials: %d, want 401", code)
	}
	if code, _ := get(t, con.URL()+"/things/sim-00000"); code != http.StatusOK {
		t.Errorf("reading a thing: %d, want 200", code)
	}
}

func TestCrossSitePostsAreRefused(t *testing.T) {
	_, con := startConsole(t, 1, nil)
	code, _, _ := post(t, con.URL()+"/create", url.Values{"name": {"x"}}, func(r *http.Request) {
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		r.Header.Set("Origin", "http://elsewhere.example")
	})
	if code != http.StatusForbidden {
		t.Fatalf("cross-site create: %d, want 403", code)
	}
}

func TestRevokingDropsTheLiveConnectionAndThePagesShowIt(t *testing.T) {
	em, con := startConsole(t, 1, nil)
	var dropped atomic.Bool
	c := dialThing(t, em, filepath.Join(em.DataDir(), "bundles"), "sim-00000", func() { dropped.Store(true) })
	defer c.Close()
	th, _ := em.Registry().Thing("sim-00000")
	certURL := con.URL() + "/certificates/" + th.Certificates[0]
	eventually(t, "the thing page to show it connected", func() bool {
		_, body := get(t, con.URL()+"/things/sim-00000/live")
		return strings.Contains(body, `class="conn connected">connected</span> as client ID sim-00000`)
	})
	code, loc, _ := post(t, certURL+"/status", url.Values{"status": {"REVOKED"}}, nil)
	if code != http.StatusSeeOther || !strings.Contains(loc, "REVOKED") {
		t.Fatalf("revoke: %d %q", code, loc)
	}
	eventually(t, "the device to be dropped", dropped.Load)
	eventually(t, "the certificate page to show the connection dropped", func() bool {
		_, body := get(t, certURL+"/live")
		return strings.Contains(body, `<tr data-client="sim-00000"><td>sim-00000</td><td><span class="conn disconnected">disconnected`) &&
			strings.Contains(body, "AUTH_ERROR")
	})
	_, page := get(t, certURL)
	if !strings.Contains(page, `id="status" class="status-revoked">REVOKED`) || strings.Contains(page, `id="revoke"`) {
		t.Fatal("the certificate page does not show it REVOKED, without a Revoke button")
	}
}

func TestTestClientActsWithThePickedIdentitysPolicy(t *testing.T) {
	_, con := startConsole(t, 2, nil)
	open := func(identity string) string {
		code, _, body := post(t, con.URL()+"/test-client/sessions", url.Values{"identity": {identity}}, nil)
		if code != http.StatusOK {
			t.Fatalf("open as %s: %d %s", identity, code, body)
		}
		var s struct{ ID, ClientID string }
		if err := json.Unmarshal([]byte(body), &s); err != nil {
			t.Fatal(err)
		}
		return s.ID
	}
	device := open("sim-00001")
	base := con.URL() + "/test-client/sessions/"
	code, _, body := post(t, base+device+"/subscribe", url.Values{"filter": {"#"}}, nil)
	if code != http.StatusForbidden || !strings.Contains(body, "Not authorized") {
		t.Fatalf("device subscribing to #: %d %s, want its policy's refusal", code, body)
	}
	code, _, body = post(t, base+device+"/subscribe", url.Values{"filter": {"$aws/things/sim-00001/shadow/+/accepted"}, "qos": {"1"}}, nil)
	if code != http.StatusOK {
		t.Fatalf("device subscribing to its own shadow topics: %d %s", code, body)
	}
	code, _, body = post(t, base+device+"/subscribe", url.Values{"filter": {"a/#/b"}}, nil)
	if code != http.StatusBadRequest {
		t.Fatalf("bad filter: %d %s", code, body)
	}
	code, _, body = post(t, base+device+"/publish", url.Values{"topic": {"x"}, "qos": {"2"}}, nil)
	if code != http.StatusBadRequest || !strings.Contains(body, "no QoS 2") {
		t.Fatalf("QoS 2: %d %s", code, body)
	}

	admin := open(ConsoleIdentity)
	code, _, body = post(t, base+admin+"/subscribe", url.Values{"filter": {"greet/+"}, "qos": {"1"}}, nil)
	if code != http.StatusOK {
		t.Fatalf("console subscribing: %d %s", code, body)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get(base + admin + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	code, _, body = post(t, base+admin+"/publish", url.Values{"topic": {"greet/world"}, "qos": {"1"}, "payload": {`{"hi":1}`}}, nil)
	if code != http.StatusOK {
		t.Fatalf("publish: %d %s", code, body)
	}
	got := readEvents(t, resp.Body, func(name, data string) bool {
		return name == "message" && strings.Contains(data, `"topic":"greet/world"`)
	})
	if !strings.Contains(got, `"payload":"{\"hi\":1}"`) || !strings.Contains(got, `"time":"`) {
		t.Fatalf("message event %s lacks payload or time", got)
	}

	// A retained publish reaches a later subscription to its exact topic
	// (AWS delivers stored messages to no wildcard filter), marked retained.
	code, _, body = post(t, base+admin+"/publish", url.Values{"topic": {"lamp/state"}, "qos": {"1"}, "retain": {"on"}, "payload": {"on"}}, nil)
	if code != http.StatusOK {
		t.Fatalf("retained publish: %d %s", code, body)
	}
	code, _, body = post(t, base+admin+"/subscribe", url.Values{"filter": {"lamp/state"}, "qos": {"1"}}, nil)
	if code != http.StatusOK {
		t.Fatalf("subscribe lamp/state: %d %s", code, body)
	}
	got = readEvents(t, resp.Body, func(name, data string) bool {
		return name == "message" && strings.Contains(data, `"topic":"lamp/state"`)
	})
	if !strings.Contains(got, `"retain":true`) || !strings.Contains(got, `"payload":"on"`) {
		t.Fatalf("retained message event %s, want retain true and its payload", got)
	}
}

// readEvents reads server-sent events until match accepts one, and
// returns its data.
func readEvents(t *testing.T, r io.Reader, match func(name, data string) bool) string {
	t.Helper()
	var buf bytes.Buffer
	chunk := make([]byte, 4096)
	for {
		n, err := r.Read(chunk)
		buf.Write(chunk[:n])
		for {
			block, rest, ok := bytes.Cut(buf.Bytes(), []byte("\n\n"))
			if !ok {
				break
			}
			var name, data string
			for line := range strings.SplitSeq(string(block), "\n") {
				if v, ok := strings.CutPrefix(line, "event: "); ok {
					name = v
				}
				if v, ok := strings.CutPrefix(line, "data: "); ok {
					data = v
				}
			}
			if match(name, data) {
				return data
			}
			buf = *bytes.NewBuffer(append([]byte(nil), rest...))
		}
		if err != nil {
			t.Fatalf("event stream ended (%v) before the event; read %q", err, buf.String())
		}
	}
}

func BenchmarkThingsPageOfTenThousand(b *testing.B) {
	em, con := startConsole(b, 0, nil)
	for i := range 10_000 {
		if _, err := em.Registry().CreateThing(fmt.Sprintf("dev-%05d", i), nil); err != nil {
			b.Fatal(err)
		}
	}
	for _, q := range []string{"/?page=100", "/?q=dev-09"} {
		b.Run(q, func(b *testing.B) {
			for b.Loop() {
				resp, err := http.Get(con.URL() + q)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

// With TLS (forced on off loopback) the console serves HTTPS with the
// emulator's server certificate: a client trusting the emulator's CA gets
// the pages and, with the API credentials, the control actions; plain HTTP
// gets nothing.
func TestTLSServesHTTPSWithTheEmulatorsCertificate(t *testing.T) {
	em, con := startConsole(t, 1, func(o *Options) { o.TLS = true; o.RequireCredentials = true })
	if !strings.HasPrefix(con.URL(), "https://") {
		t.Fatalf("URL %s, want https://", con.URL())
	}
	client := &http.Client{
		Transport:     &http.Transport{TLSClientConfig: &tls.Config{RootCAs: em.CA().Pool()}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
	resp, err := client.Get(con.URL() + "/things/sim-00000")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("thing page over HTTPS: %d, want 200", resp.StatusCode)
	}
	key, secret := em.APICredentials()
	req, err := http.NewRequest(http.MethodPost, con.URL()+"/create", strings.NewReader(url.Values{"name": {"tls-made"}}.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.SetBasicAuth(key, secret)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Errorf("create over HTTPS with the credentials: %d, want 303", resp.StatusCode)
	}
	plain := &http.Client{Timeout: 10 * time.Second}
	if resp, err := plain.Get("http://" + con.Addr() + "/"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Error("plain HTTP got the things page from a TLS console")
		}
	}
}
