package emulator

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/shadowload/shadowload/emulator/internal/broker"
	"github.com/shadowload/shadowload/fleet"
)

// refreshInterval is how often a running emulator re-reads the registry log
// for records written by other processes (status changes in particular).
const refreshInterval = 500 * time.Millisecond

// sweepEvery is how many refresh ticks pass between sweeps of the lifecycle
// versionNumbers of client IDs gone for good.
const sweepEvery = 120

// brokerLogBurst bounds broker log records per second.
const brokerLogBurst = 20

// writeTimeout bounds one write to a client that stopped reading.
const writeTimeout = 30 * time.Second

// Emulator is an in-process AWS IoT Core: a broker over mutual TLS, the
// registry and the shadow service. Create one with New, then Start it.
type Emulator struct {
	cfg Config
	ca  *fleet.CA
	reg *Registry
	// closeGrace bounds how long Close waits for clients to take their
	// DISCONNECT; 0 means the broker's default. Tests shorten it.
	closeGrace time.Duration

	mu  sync.Mutex
	srv *broker.Server
	aws *awsSide
	api *apiServer // nil when Config.APIListen is empty
	// serverCert is the certificate the broker and the API present,
	// signed by the CA, for Config.Hosts; set by Start.
	serverCert tls.Certificate
	stop       chan struct{}
	done       chan struct{}
	started    bool
	closed     bool
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

// ServerCertificate returns the certificate the emulator's broker and API
// present, signed by its CA for localhost, the loopback addresses and
// Config.Hosts; other servers of the emulator (the web console off
// loopback) present it too. It is the zero value before Start.
func (e *Emulator) ServerCertificate() tls.Certificate {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.serverCert
}

// RootCAPath returns the path of the CA certificate clients must trust,
// DATA/ca/root-ca.pem.
func (e *Emulator) RootCAPath() string {
	return filepath.Join(e.cfg.DataDir, fleet.CADirName, fleet.CACertFileName)
}

// Addr returns the address the broker listens on, host:port, once started.
func (e *Emulator) Addr() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.srv == nil {
		return ""
	}
	if a := e.srv.Addr(); a != nil {
		return a.String()
	}
	return ""
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
	e.serverCert = serverCert
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
	side := &awsSide{reg: e.reg, cfg: e.cfg, log: e.cfg.Logger}
	opts := broker.Options{
		TLS:                       tlsConfig,
		ConnectTimeout:            e.cfg.ConnectTimeout,
		WriteTimeout:              writeTimeout,
		CloseGrace:                e.closeGrace,
		Authorizer:                side,
		Lifecycle:                 side,
		Handler:                   side,
		HashMatchesDollar:         e.cfg.HashMatchesDollar,
		DisconnectOnDeniedPublish: e.cfg.DisconnectOnDeniedPublish,
		DisconnectOnThrottle:      e.cfg.DisconnectOnThrottle,
		WillOnDisconnectWithWill:  e.cfg.WillOnDisconnectWithWill,
		WillDelay:                 e.cfg.WillDelay,
		SessionExpiry:             e.cfg.SessionExpiry,
		EventLoops:                e.cfg.EventLoops,
		Logger:                    newBrokerLogger(e.cfg.Logger),
	}
	if e.cfg.Limits == LimitsAWS {
		opts.PublishesPerSecond, opts.BytesPerSecond = awsPublishesPerSec, awsBytesPerSec
	}
	srv := broker.New(opts)
	side.srv = srv
	shadow, err := newShadowRouter(e.cfg, srv)
	if err != nil {
		_ = ln.Close()
		return err
	}
	side.shadow = shadow
	if err := srv.Serve(ln); err != nil {
		_ = ln.Close()
		return errors.Join(fmt.Errorf("emulator: serve: %w", err), shadow.close())
	}
	if e.cfg.APIListen != "" {
		api, err := startAPIFor(e, srv, shadow, serverCert, ln.Addr())
		if err != nil {
			return errors.Join(err, srv.Close(), shadow.close())
		}
		e.api = api
	}
	e.reg.onStatusChange(side.certificateStatusChanged)
	e.srv, e.aws = srv, side
	e.stop, e.done = make(chan struct{}), make(chan struct{})
	e.started = true
	go e.refreshLoop()
	return nil
}

// refreshLoop re-reads the registry so that records written by another
// process (new things, status changes) take effect within refreshInterval.
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
				e.aws.presence.sweep(now)
			}
		}
	}
}

// Close stops accepting connections, disconnects the clients (closing the
// sockets of those that do not take their DISCONNECT within a few
// seconds), flushes the shadows to the data directory and closes the
// registry.
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
		if e.api != nil {
			errs = append(errs, e.api.close())
		}
		if err := e.srv.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
			errs = append(errs, err)
		}
		if e.aws.shadow != nil {
			errs = append(errs, e.aws.shadow.close())
		}
	}
	errs = append(errs, e.reg.Close())
	return errors.Join(errs...)
}

// DataDir returns the emulator's data directory: its CA, registry and
// shadows, and the bundles provision writes by default (DATA/bundles).
func (e *Emulator) DataDir() string { return e.cfg.DataDir }
