// Package console serves the emulator's web console: the tutorial's AWS IoT
// console for a running emulator. Things with search and paging, each
// thing's certificates, policies, connection state (from the lifecycle
// events) and shadows updating live; certificates activated, deactivated
// and revoked; policies pretty-printed with where they are attached; a
// "create a thing" form that offers the bundle; and an MQTT test client
// acting as an identity the user picks, through the broker over mutual TLS
// so that policies apply. Pages are server-side HTML with small scripts of
// the package's own, embedded in the binary: the page fetches nothing from
// the network.
package console

import (
	"context"
	"crypto/subtle"
	"crypto/tls"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"time"

	"github.com/shadowload/shadowload/emulator"
)

// DefaultListen is the console's default address: loopback only.
const DefaultListen = "127.0.0.1:8080"

// Bounds of the console's HTTP server.
const (
	readTimeout    = 30 * time.Second
	writeTimeout   = 30 * time.Second
	idleTimeout    = 90 * time.Second
	maxHeaderBytes = 64 << 10
	maxFormBytes   = 256 << 10
	shutdownGrace  = 3 * time.Second
	// readyTimeout bounds Start's wait for the console's own connection.
	readyTimeout = 10 * time.Second
)

//go:embed web
var webFS embed.FS

// Options configure a Console.
type Options struct {
	// Listen is the TCP address to serve on; default DefaultListen.
	Listen string
	// BundlesDir is where the bundles of things live: the test client's
	// identities, the bundles offered for download and where the create
	// form writes; default DATA/bundles, where provision writes.
	BundlesDir string
	// RequireCredentials makes control actions (status changes, shadow
	// edits, creating things, bundles, the test client) ask for the
	// emulator's API credentials, access key ID and secret access key, by
	// HTTP basic authentication. It is forced on when Listen is not a
	// loopback address.
	RequireCredentials bool
	// TLS serves HTTPS with the emulator's server certificate, signed by
	// its CA (emulator --host adds the names browsers use), so that the
	// credentials never travel in the clear. It is forced on when Listen
	// is not a loopback address.
	TLS bool
	// Logger receives the console's own records; default discards them.
	Logger *slog.Logger
}

// Console is a running web console. Create one with Start.
type Console struct {
	em      *emulator.Emulator
	opts    Options
	log     *slog.Logger
	tmpl    map[string]*template.Template
	hub     *hub
	watch   *watcher
	clients *testClients

	srv *http.Server
	ln  net.Listener

	closeOnce sync.Once
	closeErr  error
}

// Start serves the console of em, which must be started, on opts.Listen.
func Start(em *emulator.Emulator, opts Options) (*Console, error) {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.BundlesDir == "" {
		opts.BundlesDir = filepath.Join(em.DataDir(), "bundles")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if em.Addr() == "" {
		return nil, errors.New("console: the emulator is not started")
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return nil, fmt.Errorf("console: listen on %s: %w", opts.Listen, err)
	}
	if !isLoopback(ln.Addr()) {
		opts.RequireCredentials = true
		opts.TLS = true
	}
	if opts.TLS {
		ln = tls.NewListener(ln, &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{em.ServerCertificate()}})
	}
	c := &Console{em: em, opts: opts, log: opts.Logger, tmpl: tmpl, hub: newHub(), ln: ln}
	id, err := consoleIdentity(em)
	if err != nil {
		_ = ln.Close()
		return nil, err
	}
	c.watch = startWatcher(em, id, c.hub, c.log)
	if !c.watch.waitReady(readyTimeout) {
		c.watch.close()
		_ = ln.Close()
		return nil, fmt.Errorf("console: could not subscribe to the broker's lifecycle events at %s within %v", brokerEndpoint(em), readyTimeout)
	}
	c.clients = newTestClients(em, id, opts.BundlesDir, c.log)
	c.srv = &http.Server{
		Handler:           c.routes(),
		ReadHeaderTimeout: readTimeout,
		ReadTimeout:       readTimeout,
		// SSE streams are long-lived; each write is bounded by the
		// stream's own deadline (see serveEvents).
		WriteTimeout:   0,
		IdleTimeout:    idleTimeout,
		MaxHeaderBytes: maxHeaderBytes,
		ErrorLog:       slog.NewLogLogger(c.log.Handler(), slog.LevelDebug),
	}
	go func() {
		if err := c.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Error("console stopped", "error", err)
		}
	}()
	return c, nil
}

// Addr returns the address the console listens on, host:port.
func (c *Console) Addr() string { return c.ln.Addr().String() }

// URL returns the console's base URL, http://host:port, or https:// with
// Options.TLS.
func (c *Console) URL() string {
	if c.opts.TLS {
		return "https://" + c.Addr()
	}
	return "http://" + c.Addr()
}

// Close stops the console: its server, its event streams, the test
// client's connections and its own connection to the broker.
func (c *Console) Close() error {
	c.closeOnce.Do(func() {
		c.hub.close()
		c.clients.closeAll()
		ctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
		defer cancel()
		err := c.srv.Shutdown(ctx)
		if errors.Is(err, context.DeadlineExceeded) {
			err = c.srv.Close()
		}
		c.watch.close()
		c.closeErr = err
	})
	return c.closeErr
}

// isLoopback reports whether a listener's address is a loopback one.
func isLoopback(a net.Addr) bool {
	ap, err := netip.ParseAddrPort(a.String())
	return err == nil && ap.Addr().Unmap().IsLoopback()
}

// routes is the console's URL space.
func (c *Console) routes() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(webFS, "web/static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /{$}", c.things)
	mux.HandleFunc("GET /things/{thing}", c.thing)
	mux.HandleFunc("GET /things/{thing}/live", c.thingLive)
	mux.HandleFunc("POST /things/{thing}/shadow", c.control(c.saveDesired))
	mux.HandleFunc("GET /things/{thing}/bundle", c.control(c.bundle))
	mux.HandleFunc("GET /create", c.createForm)
	mux.HandleFunc("POST /create", c.control(c.create))
	mux.HandleFunc("GET /certificates/{id}", c.certificate)
	mux.HandleFunc("GET /certificates/{id}/live", c.certificateLive)
	mux.HandleFunc("POST /certificates/{id}/status", c.control(c.setStatus))
	mux.HandleFunc("GET /policies", c.policies)
	mux.HandleFunc("GET /policies/{name}", c.policy)
	mux.HandleFunc("GET /events", c.events)
	mux.HandleFunc("GET /test-client", c.control(c.testClientPage))
	mux.HandleFunc("POST /test-client/sessions", c.control(c.openSession))
	mux.HandleFunc("GET /test-client/sessions/{id}/events", c.control(c.sessionEvents))
	mux.HandleFunc("POST /test-client/sessions/{id}/subscribe", c.control(c.sessionSubscribe))
	mux.HandleFunc("POST /test-client/sessions/{id}/publish", c.control(c.sessionPublish))
	mux.HandleFunc("POST /test-client/sessions/{id}/close", c.control(c.sessionClose))
	return securityHeaders(http.NewCrossOriginProtection().Handler(mux))
}

// securityHeaders keeps the pages to their own origin: no framing, no
// scripts or styles from elsewhere, no fetches but to the console.
func securityHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors 'none'")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.Header().Set("Referrer-Policy", "same-origin")
		h.ServeHTTP(w, r)
	})
}

// control guards a control action with the emulator's API credentials
// when the console requires them; cross-site POSTs are refused for every
// route by http.CrossOriginProtection.
func (c *Console) control(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if c.opts.RequireCredentials && !c.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="shadowload console: the emulator's access key ID and secret access key"`)
			http.Error(w, "control actions need the emulator's API credentials (access key ID and secret access key)", http.StatusUnauthorized)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		h(w, r)
	}
}

// authorized checks HTTP basic credentials against the emulator's API
// credentials in constant time.
func (c *Console) authorized(r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	key, secret := c.em.APICredentials()
	u := subtle.ConstantTimeCompare([]byte(user), []byte(key))
	p := subtle.ConstantTimeCompare([]byte(pass), []byte(secret))
	return u&p == 1
}
