package main

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/mqttc"
)

// clientFlags are the connection flags the test-client commands share.
type clientFlags struct {
	bundle     *string
	endpoint   *string
	rootCA     *string
	clientID   *string
	serverName *string
	alpn       *string
	timeout    *time.Duration
}

func addClientFlags(fs *flagSet) *clientFlags {
	return &clientFlags{
		bundle:     fs.String("bundle", "", "the thing's bundle directory (BUNDLES/<thing>, as provision writes it); required"),
		endpoint:   fs.String("endpoint", emulator.DefaultListen, "broker host:port (AWS: xxxx-ats.iot.REGION.amazonaws.com:8883)"),
		rootCA:     fs.String("ca", "", "root CA PEM file (default: root-ca.pem beside the bundle, else the system roots)"),
		clientID:   fs.String("client-id", "", "MQTT client ID (default the bundle's thing name)"),
		serverName: fs.String("server-name", "", "TLS server name (default the endpoint's host)"),
		alpn:       fs.String("alpn", "", "TLS ALPN protocol, x-amzn-mqtt-ca for port 443"),
		timeout:    fs.Duration("timeout", 10*time.Second, "how long to wait to connect and for each reply"),
	}
}

// dial loads the bundle and connects, with onPublish receiving every message
// and onDisconnect, when set, a DISCONNECT from the server.
func (cf *clientFlags) dial(ctx context.Context, cmd string, onPublish func(*paho.Publish), onDisconnect func(*paho.Disconnect)) (*mqttc.Client, fleet.Bundle, error) {
	if *cf.bundle == "" {
		return nil, fleet.Bundle{}, usagef("%s: --bundle is required: a thing's directory written by \"shadowload provision\"", cmd)
	}
	b, err := fleet.LoadBundle(*cf.bundle)
	if err != nil {
		return nil, b, usageError{err}
	}
	roots, err := cf.roots()
	if err != nil {
		return nil, b, err
	}
	id := *cf.clientID
	if id == "" {
		id = b.Thing
	}
	var alpn []string
	if *cf.alpn != "" {
		alpn = []string{*cf.alpn}
	}
	c, err := mqttc.Dial(ctx, mqttc.Options{
		Endpoint: *cf.endpoint, Certificate: b.Certificate, Roots: roots,
		ServerName: *cf.serverName, ALPN: alpn, ClientID: id, CleanStart: true,
		Timeout: *cf.timeout, OnPublish: onPublish, OnServerDisconnect: onDisconnect,
	})
	return c, b, err
}

// roots returns the CA pool: --ca, else root-ca.pem in the bundles
// directory, else nil for the system roots.
func (cf *clientFlags) roots() (*x509.CertPool, error) {
	path := *cf.rootCA
	if path == "" {
		guess := filepath.Join(filepath.Dir(filepath.Clean(*cf.bundle)), fleet.RootCAFileName)
		if _, err := os.Stat(guess); err != nil {
			return nil, nil
		}
		path = guess
	}
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, usagef("--ca: %v", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usagef("--ca %s: no PEM certificate in it", path)
	}
	return pool, nil
}
