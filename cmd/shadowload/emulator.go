package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/emulator/console"
	"github.com/shadowload/shadowload/fleet"
)

func runEmulator(e *env, args []string) error {
	fs := newFlagSet(e, "emulator",
		"shadowload emulator --data DIR [flags]",
		`Serve the AWS IoT Core emulator until SIGINT or SIGTERM: an MQTT 3.1.1 and 5
broker over mutual TLS (client certificates issued by the emulator's CA and
registered ACTIVE), AWS IoT policy evaluation, and the Device Shadow service
with AWS's documents, errors and limits. Things provisioned into DIR while it
runs are picked up. Registry and shadows persist in DIR across restarts.

Limits profiles:
  default  AWS protocol limits plus the shadow limits (20 requests/s per
           shadow, 10 in-flight requests per connection: 429 TOO_MANY_REQUESTS)
  aws      default plus per-connection 100 publishes/s and 512 KiB/s
  none     protocol limits only, for raw capacity runs

Durability (--durability):
  sync     every accepted shadow change is fsynced before its reply leaves
           (one fsync per group of concurrent changes): kill -9 or a machine
           crash loses nothing acknowledged, and versions never repeat
  async    a reply waits for its change to be written to the OS (kill -9
           loses nothing); fsync within 100 ms (a machine crash may lose that)
  off      shadows saved at shutdown only, for pure throughput runs

Calibration: --latency delays every shadow response by a known amount
(fixed:20ms, uniform:5ms-50ms, normal:20ms,5ms) and --stall EVERY:FOR pauses the
shadow service, so a load tester can be checked against injected numbers.

HTTP API (--api-listen): AWS IoT's control plane (things, certificates,
policies, attachments, DescribeEndpoint) and data plane (Get, Update and
DeleteThingShadow, classic and named, ListNamedShadowsForThing, Publish,
DeleteConnection) over HTTPS with the emulator's CA, AWS's URIs, shapes and
error types. Every request must be SigV4-signed with --access-key-id and
--secret-access-key for --region; the AWS CLI, the AWS SDKs and "shadowload
provision --target aws" work against it with --endpoint-url https://ADDR and
--ca-bundle DATA/ca/root-ca.pem. A REST shadow update publishes accepted,
documents and delta on MQTT as an MQTT update does; DeleteConnection
disconnects a client (lifecycle reason API_INITIATED_DISCONNECT). Registry changes over HTTP go to DATA
like provision's. With --limits aws the control-plane rate quotas apply
(400 ThrottlingException).

Web console (--console): the things with search and paging, each thing's
certificates, policies, connection state and shadows updating live (edit
desired and save, with its version), certificates activated, deactivated or
revoked (a revoked certificate's connections drop), policies, a form that
creates a thing with a certificate and the default policy and offers its
bundle, and an MQTT test client acting as an identity you pick. Loopback by
default; on another address it serves HTTPS with the emulator's server
certificate (signed by DATA/ca/root-ca.pem; --host adds the name browsers
use) and its control actions ask for the API credentials (--access-key-id,
--secret-access-key) by basic authentication. To show shadows live the
console subscribes to every shadow's documents and to the lifecycle events:
under load it is one more wildcard observer, so leave it off for capacity
runs.`,
		`  shadowload provision --data ./data --things 10
  shadowload emulator --data ./data
  shadowload emulator --data ./data --listen 127.0.0.1:8883 --limits none
  shadowload emulator --data ./data --latency fixed:20ms --stall 10s:1s
  shadowload emulator --data ./data --api-listen 127.0.0.1:8443
  shadowload emulator --data ./data --console 127.0.0.1:8080
  aws iot describe-endpoint --endpoint-url https://127.0.0.1:8443 --ca-bundle ./data/ca/root-ca.pem --region us-east-1`)
	data := fs.String("data", "", "data directory: CA, registry and shadows; required")
	listen := fs.String("listen", emulator.DefaultListen, "TCP address for MQTT over TLS")
	limits := fs.String("limits", "default", "limits profile: default, aws or none")
	durability := fs.String("durability", string(emulator.DurabilitySync), "when accepted shadow changes reach the disk: sync, async or off")
	latency := fs.String("latency", "", "delay every shadow response: fixed:D, uniform:D-D or normal:MEAN,STDDEV")
	stall := fs.String("stall", "", "pause the shadow service FOR every EVERY, as EVERY:FOR (e.g. 10s:1s)")
	hosts := fs.StringSlice("host", nil, "extra DNS name or IP for the server certificate (repeatable)")
	hashDollar := fs.Bool("hash-matches-dollar", true, `a network "#" subscription receives $aws topics, as the AWS console showed`)
	denyClose := fs.Bool("disconnect-on-denied-publish", false, "MQTT 5: also close the connection after a denied PUBLISH")
	throttleClose := fs.Bool("disconnect-on-throttle", false, "with --limits aws, close a connection that publishes over 100/s (DISCONNECT 0x97, lifecycle THROTTLED) instead of discarding the publish")
	apiListen := fs.String("api-listen", "", "serve the HTTP API (control and data plane) on this address, e.g. "+emulator.DefaultAPIListen+"; off when empty")
	accessKey := fs.String("access-key-id", emulator.DefaultAccessKeyID, "the access key ID API requests must be signed with")
	secretKey := fs.String("secret-access-key", emulator.DefaultSecretAccessKey, "the secret access key API requests must be signed with")
	region := fs.String("region", emulator.DefaultRegion, "the emulated account's Region: in ARNs and the SigV4 scope")
	apiKey := fs.String("api-key", "rsa", "key type CreateKeysAndCertificate makes: rsa (2048, as AWS) or ecdsa (P-256, faster)")
	dataEndpoint := fs.String("data-endpoint", "", "address DescribeEndpoint returns (default the MQTT address)")
	consoleAddr := fs.String("console", "", "serve the web console on this address, e.g. "+console.DefaultListen+"; off loopback it serves HTTPS and control actions need the API credentials")
	bundles := fs.String("bundles", "", "bundles directory the console offers and writes (default DIR/bundles)")
	verbose := fs.Bool("verbose", false, "log connections and refusals at info level")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile (go tool pprof) to this file")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("emulator: unexpected argument %q", fs.Arg(0))
	}
	if *data == "" {
		return usagef("emulator: --data is required: the data directory (create identities with \"shadowload provision\")")
	}
	kt, err := fleet.ParseKeyType(*apiKey)
	if err != nil {
		return usagef("emulator: --api-key: %v", err)
	}
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level}))
	em, err := emulator.New(emulator.Config{
		DataDir:                   *data,
		Listen:                    *listen,
		Hosts:                     *hosts,
		Limits:                    emulator.LimitsProfile(*limits),
		Durability:                emulator.Durability(*durability),
		Latency:                   *latency,
		Stall:                     *stall,
		HashMatchesDollar:         *hashDollar,
		DisconnectOnDeniedPublish: *denyClose,
		DisconnectOnThrottle:      *throttleClose,
		APIListen:                 *apiListen,
		APIAccessKeyID:            *accessKey,
		APISecretAccessKey:        *secretKey,
		Region:                    *region,
		APIKeyType:                kt,
		DataEndpoint:              *dataEndpoint,
		Logger:                    logger,
	})
	if err != nil {
		return usageError{err}
	}
	if err := em.Start(); err != nil {
		return err
	}
	stopProfile, err := startCPUProfile(*cpuprofile)
	if err != nil {
		em.Close()
		return err
	}
	defer stopProfile()
	fmt.Fprintf(e.stdout, "shadowload emulator serving\n  endpoint    %s\n  root CA     %s\n  data        %s\n  durability  %s\n  recovered   %s\n",
		em.Addr(), em.RootCAPath(), *data, emulator.Durability(*durability).Describe(), em.ShadowRecovery())
	if url := em.APIURL(); url != "" {
		secret := "(as given)"
		if *secretKey == emulator.DefaultSecretAccessKey {
			secret = *secretKey
		}
		fmt.Fprintf(e.stdout, "  API         %s (region %s)\n  access key  %s\n  secret key  %s\n  try         aws iot describe-endpoint --endpoint-url %s --ca-bundle %s --region %s\n",
			url, *region, *accessKey, secret, url, em.RootCAPath(), *region)
	}
	var con *console.Console
	if *consoleAddr != "" {
		con, err = console.Start(em, console.Options{Listen: *consoleAddr, BundlesDir: *bundles, Logger: logger})
		if err != nil {
			return errors.Join(err, em.Close())
		}
		fmt.Fprintf(e.stdout, "  console     %s\n", con.URL())
	}
	fmt.Fprintln(e.stdout, "stop with Ctrl-C")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "shutting down: snapshotting shadows")
	if con != nil {
		return errors.Join(con.Close(), em.Close())
	}
	return em.Close()
}
