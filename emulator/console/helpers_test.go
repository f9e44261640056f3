package console

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/mqttc"
)

// startConsole starts an emulator on loopback with things provisioned
// (sim-00000, ...) into DATA/bundles and its console.
func startConsole(t testing.TB, things int, mod func(*Options)) (*emulator.Emulator, *Console) {
	t.Helper()
	data := t.TempDir()
	em, err := emulator.New(emulator.Config{DataDir: data, Listen: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if things > 0 {
		if _, err := fleet.Provision(context.Background(), em.CA(), em.Registry(), fleet.ProvisionOptions{
			Things: things, OutDir: filepath.Join(data, "bundles")}); err != nil {
			t.Fatal(err)
		}
	}
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	opts := Options{Listen: "127.0.0.1:0"}
	if mod != nil {
		mod(&opts)
	}
	con, err := Start(em, opts)
	if err != nil {
		em.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := con.Close(); err != nil {
			t.Error(err)
		}
		if err := em.Close(); err != nil {
			t.Error(err)
		}
	})
	return em, con
}

// noRedirect is a client that reports redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

// get fetches a page and returns its status and body.
func get(t testing.TB, u string) (int, string) {
	t.Helper()
	resp, err := noRedirect.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// post sends a form as the console's own page would (same origin) and
// returns the status, the Location and the body.
func post(t testing.TB, u string, form url.Values, mod func(*http.Request)) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if mod != nil {
		mod(req)
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Location"), string(b)
}

// dialThing connects as a provisioned thing, with its bundle.
func dialThing(t testing.TB, em *emulator.Emulator, bundles, thing string, onDisconnect func()) *mqttc.Client {
	t.Helper()
	b, err := fleet.LoadBundle(filepath.Join(bundles, thing))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := mqttc.Dial(ctx, mqttc.Options{Endpoint: em.Addr(), Certificate: b.Certificate, Roots: em.CA().Pool(),
		ClientID: thing, CleanStart: true,
		OnServerDisconnect: func(*paho.Disconnect) { onDisconnect() }, OnClientError: func(error) { onDisconnect() }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// eventually polls cond every 20 ms until it holds or 10 s passed.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
