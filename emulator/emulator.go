package emulator

import (
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"path/filepath"
	"sync"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/shadowload/shadowload/fleet"
)

// refreshInterval is how often a running emulator re-reads the registry log
// for records written by other processes (status changes in particular).
const refreshInterval = 500 * time.Millisecond

// sweepEvery is how many refresh ticks pass between sweeps of connection
// state the broker did not report closed.
const sweepEvery = 10

// brokerLogBurst bounds broker log records per second.
const brokerLogBurst = 20

// Emulator is an in-process AWS IoT Core: a broker over mutual TLS, the
// registry and the shadow service. Create one with New, then Start it.
type Emulator struct {
	cfg Config
	ca  *fleet.CA
	reg *Registry
	// closeGrace bounds how long Close waits for clients to take their
	// DISCONNECT; 0 means defaultCloseGrace. Tests shorten it.
	closeGrace time.Duration

	mu       sync.Mutex
	srv      *mqtt.Server
	hook     *awsHook
	listener *guardedListener
	stop     chan struct{}
	done     chan struct{}
	started  bool
	closed   bool
}

// New validates cfg, opens the registry and loads (or creates) the CA in
// cfg.DataDir. It does not listen: call Start.
func New(cfg Config) (*Emulator, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := validateShadowConfig(cfg); err != nil {
		return nil, err
	}
	ca, err := fleet.LoadOrCreateCA(cfg.DataDir)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	reg, err := OpenRegistry(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	return &Emulator{cfg: cfg, ca: ca, reg: reg}, nil
}

// Registry returns the emulator's registry.
func (e *Emulator) Registry() *Registry { return e.reg }

// CA returns the emulator's certificate authority.
func (e *Emulator) CA() *fleet.CA { return e.ca }

// RootCAPath returns the path of the CA certificate clients must trust,
// DATA/ca/root-ca.pem.
func (e *Emulator) RootCAPath() string {
	return filepath.Join(e.cfg.DataDir, fleet.CADirName, fleet.CACertFileName)
}

// Addr returns the address the broker listens on, host:port, once started.
func (e *Emulator) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.listener == nil {
		return ""
	}
	return e.listener.Address()
}

// Start binds the listener, starts the broker and returns once it accepts
// connections.
func (e *Emulator) Start() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return errors.New("emulator: Start after Close")
	}
	if e.started {
		return errors.New("emulator: already started")
	}
	serverCert, err := e.ca.ServerCertificate(e.cfg.Hosts...)
	if err != nil {
		return fmt.Errorf("emulator: %w", err)
	}
	tlsConfig := &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{serverCert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    e.ca.Pool(),
		NextProtos:   []string{"x-amzn-mqtt-ca", "mqtt"},
	}
	ln, err := net.Listen("tcp", e.cfg.Listen)
	if err != nil {
		return fmt.Errorf("emulator: listen on %s: %w", e.cfg.Listen, err)
	}

	srv := mqtt.New(&mqtt.Options{
		Capabilities:           capabilities(),
		InlineClient:           true,
		Logger:                 newBrokerLogger(e.cfg.Logger),
		SysTopicResendInterval: math.MaxInt32,
		// tls.Conn buffers a whole record already; a small bufio layer above
		// it keeps idle connections cheap and large packets bypass it.
		ClientNetReadBufferSize: 512,
	})
	hook := &awsHook{srv: srv, reg: e.reg, cfg: e.cfg, log: e.cfg.Logger}
	shadow, err := newShadowRouter(e.cfg, srv)
	if err != nil {
		_ = ln.Close()
		return err
	}
	hook.shadow = shadow
	// fail undoes what Start did before an error: the shadow service runs a
	// scheduler goroutine and holds the shadows loaded from the data
	// directory.
	fail := func(err error) error {
		_ = ln.Close()
		return errors.Join(err, shadow.close())
	}
	if err := srv.AddHook(hook, nil); err != nil {
		return fail(fmt.Errorf("emulator: add hook: %w", err))
	}
	l := &guardedListener{id: "mqtts", ln: ln, tlsConfig: tlsConfig, connectTimeout: e.cfg.ConnectTimeout,
		closeGrace: e.closeGrace, log: e.cfg.Logger, disconnectAll: func(listener string) {
			for _, cl := range srv.Clients.GetAll() {
				if cl.Net.Listener == listener && !cl.Closed() {
					_ = srv.DisconnectClient(cl, packets.ErrServerShuttingDown)
				}
			}
		}}
	if err := srv.AddListener(l); err != nil {
		return fail(fmt.Errorf("emulator: add listener: %w", err))
	}
	e.reg.onStatusChange(hook.certificateStatusChanged)
	if err := srv.Serve(); err != nil {
		return fail(fmt.Errorf("emulator: serve: %w", err))
	}
	e.srv, e.hook, e.listener = srv, hook, l
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	e.started = true
	go e.refreshLoop()
	return nil
}

// refreshLoop re-reads the registry so that records written by another
// process (new things, status changes) take effect within refreshInterval,
// and now and then sweeps stale connection state.
func (e *Emulator) refreshLoop() {
	defer close(e.done)
	t := time.NewTicker(refreshInterval)
	defer t.Stop()
	for tick := 1; ; tick++ {
		select {
		case <-e.stop:
			return
		case now := <-t.C:
			if _, err := e.reg.Refresh(); err != nil {
				e.cfg.Logger.Warn("registry refresh", "error", err)
			}
			if tick%sweepEvery == 0 {
				e.hook.sweep(now)
			}
		}
	}
}

// Close stops accepting connections, disconnects the clients, flushes the
// shadows to the data directory and closes the registry.
func (e *Emulator) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.closed {
		return nil
	}
	e.closed = true
	var errs []error
	if e.started {
		close(e.stop)
		<-e.done
		errs = append(errs, e.srv.Close())
		e.hook.waitDisconnects()
		if e.hook.shadow != nil {
			errs = append(errs, e.hook.shadow.close())
		}
	}
	errs = append(errs, e.reg.Close())
	return errors.Join(errs...)
}

// capabilities are the broker limits that mirror AWS IoT Core and keep an
// idle connection small.
func capabilities() *mqtt.Capabilities {
	c := mqtt.NewDefaultServerCapabilities()
	c.MaximumQos = 1
	c.MaximumPacketSize = MaxPayload + 64<<10 // room for topic and properties; payload checked exactly
	c.ReceiveMaximum = 100                    // unacknowledged QoS 1 publishes each way
	c.MaximumInflight = 1024
	c.MaximumClientWritesPending = 128 // 8 B each, allocated per connection
	c.MaximumSessionExpiryInterval = maxSessionExpirySec
	c.TopicAliasMaximum = 8
	c.SubIDAvailable = 0
	return c
}
