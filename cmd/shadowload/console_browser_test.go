package main

import (
	"archive/zip"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/emulator/console"
	"github.com/shadowload/shadowload/internal/browsertest"
)

// screenshot is where a browser test saves a screenshot: in
// $SHADOWLOAD_SCREENSHOTS (docs/screenshots is made that way), else "".
func screenshot(name string) string {
	if d := os.Getenv("SHADOWLOAD_SCREENSHOTS"); d != "" {
		return filepath.Join(d, name)
	}
	return ""
}

// TestConsoleTutorialInHeadlessChromium walks the tutorial in the console
// as a user would, in headless Chromium: create a thing with certificate
// and policy, download its bundle, update its shadow with "shadowload
// shadow update" and see the page change without a reload, subscribe to #
// in the test client and see the device's messages, then revoke the
// certificate and see the device (a "shadowload sub" left running) dropped.
func TestConsoleTutorialInHeadlessChromium(t *testing.T) {
	br := browsertest.New(t, 1280, 1000, 90*time.Second)
	data := filepath.Join(t.TempDir(), "data")
	em, err := emulator.New(emulator.Config{DataDir: data, Listen: "127.0.0.1:0", HashMatchesDollar: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	con, err := console.Start(em, console.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { con.Close() })
	base := con.URL()
	const waitFor = 10 * time.Second

	// 1. Create a thing with a certificate and the default policy.
	br.Do(t, "create a thing",
		chromedp.Navigate(base+"/create"),
		chromedp.SendKeys(chromedp.CSS(`#create input[name=name]`), "lamp"),
		chromedp.Click(chromedp.CSS(`#create button`)),
		chromedp.WaitVisible(chromedp.CSS(`#created`)),
	)
	// 2. Download the bundle and unpack it as the user would.
	br.Do(t, "download the bundle", chromedp.Click(chromedp.CSS(`#bundle-zip`)))
	zipPath := filepath.Join(br.Downloads, "lamp.zip")
	waitFile(t, zipPath, waitFor)
	bundles := filepath.Join(t.TempDir(), "bundles")
	unzip(t, zipPath, bundles)
	for _, f := range []string{"root-ca.pem", "manifest.json", "lamp/certificate.pem.crt", "lamp/private.pem.key", "lamp/public.pem.key"} {
		if _, err := os.Stat(filepath.Join(bundles, f)); err != nil {
			t.Fatalf("bundle lacks %s: %v", f, err)
		}
	}
	bundle := filepath.Join(bundles, "lamp")

	// 3. The device updates its shadow; the open page shows it without a reload.
	br.Do(t, "open the thing page", chromedp.Navigate(base+"/things/lamp"))
	br.WaitFor(t, "the page's event stream", `document.querySelector("#live").dataset.stream === "open"`, waitFor)
	if _, err := chromedp.Run(br.Ctx, chromedp.Evaluate[bool](`window.stayed = true`)); err != nil {
		t.Fatal(err)
	}
	if code, out, errOut := runCLI(t, "shadow", "update", "--endpoint", em.Addr(), "--bundle", bundle, `{"state":{"reported":{"color":"amber","on":true}}}`); code != exitOK {
		t.Fatalf("shadowload shadow update: exit %d: %s %s", code, out, errOut)
	}
	br.WaitFor(t, "the shadow on the page at version 1 with the reported state",
		`(() => { const s = document.querySelector('#shadows article.shadow[data-shadow=""]'); return s && s.dataset.version === "1" && s.querySelector("pre.state").textContent.includes('"amber"') })()`, waitFor)
	stayed, err := chromedp.Run(br.Ctx, chromedp.Evaluate[bool](`window.stayed === true`))
	if err != nil || !stayed {
		t.Fatalf("the page was reloaded to show the change (%v)", err)
	}
	br.Screenshot(t, screenshot("console-thing.png"))

	// 4. The test client, as the console, subscribes to # and sees the device's messages.
	br.Do(t, "connect the test client",
		chromedp.Navigate(base+"/test-client"),
		chromedp.Click(chromedp.CSS(`#tc-connect button[type=submit]`)),
	)
	br.WaitFor(t, "the test client connected", `document.querySelector("#tc-status").dataset.state === "connected"`, waitFor)
	br.Do(t, "subscribe to #", chromedp.Click(chromedp.CSS(`#tc-subscribe button`)))
	br.WaitFor(t, "the subscription acknowledged", `document.querySelector("#tc-log").textContent.includes("subscribed to #")`, waitFor)
	if code, out, errOut := runCLI(t, "shadow", "update", "--endpoint", em.Addr(), "--bundle", bundle, `{"state":{"reported":{"color":"teal"}}}`); code != exitOK {
		t.Fatalf("shadowload shadow update: exit %d: %s %s", code, out, errOut)
	}
	br.WaitFor(t, "the device's update and its accepted reply in the test client",
		`(() => { const t = Array.from(document.querySelectorAll("#tc-messages .topic")).map(e => e.textContent); return t.includes("$aws/things/lamp/shadow/update") && t.includes("$aws/things/lamp/shadow/update/accepted") })()`, waitFor)
	br.WaitFor(t, "the message's payload and time", `(() => { const li = Array.from(document.querySelectorAll("#tc-messages li")).find(li => li.querySelector(".topic").textContent === "$aws/things/lamp/shadow/update"); return li && li.querySelector(".payload").textContent.includes('"teal"') && /\d{4}-\d\d-\d\dT/.test(li.querySelector(".meta").textContent) })()`, waitFor)
	br.Screenshot(t, screenshot("console-test-client.png"))

	// 5. A device stays connected; revoking its certificate drops it, and the page shows it.
	type result struct {
		code        int
		out, errOut string
	}
	sub := make(chan result, 1)
	go func() {
		code, out, errOut := runCLI(t, "sub", "--endpoint", em.Addr(), "--bundle", bundle, "$aws/things/lamp/shadow/#")
		sub <- result{code, out, errOut}
	}()
	br.Do(t, "open the thing page", chromedp.Navigate(base+"/things/lamp"))
	if _, err := chromedp.Run(br.Ctx, chromedp.Poll[bool](`document.querySelector("#connection .conn.connected") !== null`, chromedp.WithPollingTimeout(waitFor))); err != nil {
		select {
		case r := <-sub:
			t.Fatalf("the device is not shown connected (%v): shadowload sub ended: exit %d: %s", err, r.code, r.errOut)
		default:
			html, _ := chromedp.Run(br.Ctx, chromedp.OuterHTML(chromedp.CSS("#connection")))
			resp, _ := http.Get(base + "/things/lamp/live")
			b, _ := io.ReadAll(resp.Body)
			t.Fatalf("the device is not shown connected (%v): %s\nserver now: %s", err, html, b)
		}
	}
	br.Do(t, "open the certificate page", chromedp.Click(chromedp.CSS(`#certificates a`)), chromedp.WaitVisible(chromedp.CSS(`#revoke`)))
	br.WaitFor(t, "the certificate page's event stream", `document.querySelector("#live") && document.querySelector("#live").dataset.stream === "open"`, waitFor)
	t.Log("revoking")
	br.Do(t, "revoke", chromedp.Click(chromedp.CSS(`#revoke`)), chromedp.WaitVisible(chromedp.CSS(`#done`)))
	t.Log("revoked")
	select {
	case r := <-sub:
		if r.code == exitOK || !strings.Contains(r.errOut, "sub: the server closed the connection: DISCONNECT") {
			t.Fatalf("shadowload sub after the revoke: exit %d, stderr %q; want its connection closed with the server's DISCONNECT named", r.code, r.errOut)
		}
		t.Logf("the device after the revoke: %s", strings.TrimSpace(r.errOut))
	case <-time.After(waitFor):
		t.Fatal("the device was not dropped after its certificate was revoked")
	}
	br.WaitFor(t, "the certificate page to show the device disconnected",
		`(() => { const r = document.querySelector('#connections tr[data-client="lamp"]'); return r && r.querySelector(".conn.disconnected") && r.textContent.includes("AUTH_ERROR") })()`, waitFor)
	status, err := chromedp.Run(br.Ctx, chromedp.Text(chromedp.CSS(`#status`)))
	if err != nil || status != "REVOKED" {
		t.Fatalf("certificate status on the page %q (%v), want REVOKED", status, err)
	}
	br.Screenshot(t, screenshot("console-certificate.png"))
	br.Do(t, "open the things list", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS(`#things`)))
	br.Screenshot(t, screenshot("console-things.png"))
	if p := br.Problems(); len(p) > 0 {
		t.Errorf("the pages logged errors: %q", p)
	}
}

// waitFile waits for a download to be complete on disk.
func waitFile(t *testing.T, path string, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		if st, err := os.Stat(path); err == nil && st.Size() > 0 {
			if _, err := zip.OpenReader(path); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not downloaded within %v", path, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// unzip unpacks a zip file into dir, keeping each file's mode.
func unzip(t *testing.T, path, dir string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}
