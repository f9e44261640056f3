package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/shadowload/shadowload/emulator"
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
shadow service, so a load tester can be checked against injected numbers.`,
		`  shadowload provision --data ./data --things 10
  shadowload emulator --data ./data
  shadowload emulator --data ./data --listen 127.0.0.1:8883 --limits none
  shadowload emulator --data ./data --latency fixed:20ms --stall 10s:1s`)
	data := fs.String("data", "", "data directory: CA, registry and shadows; required")
	listen := fs.String("listen", emulator.DefaultListen, "TCP address for MQTT over TLS")
	limits := fs.String("limits", "default", "limits profile: default, aws or none")
	durability := fs.String("durability", string(emulator.DurabilitySync), "when accepted shadow changes reach the disk: sync, async or off")
	latency := fs.String("latency", "", "delay every shadow response: fixed:D, uniform:D-D or normal:MEAN,STDDEV")
	stall := fs.String("stall", "", "pause the shadow service FOR every EVERY, as EVERY:FOR (e.g. 10s:1s)")
	hosts := fs.StringSlice("host", nil, "extra DNS name or IP for the server certificate (repeatable)")
	hashDollar := fs.Bool("hash-matches-dollar", true, `a network "#" subscription receives $aws topics, as the AWS console showed`)
	denyClose := fs.Bool("disconnect-on-denied-publish", false, "MQTT 5: also close the connection after a denied PUBLISH")
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
	level := slog.LevelWarn
	if *verbose {
		level = slog.LevelInfo
	}
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
		Logger:                    slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: level})),
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
	fmt.Fprintf(e.stdout, "shadowload emulator serving\n  endpoint    %s\n  root CA     %s\n  data        %s\n  durability  %s\n  recovered   %s\nstop with Ctrl-C\n",
		em.Addr(), em.RootCAPath(), *data, emulator.Durability(*durability).Describe(), em.ShadowRecovery())
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-ctx.Done()
	fmt.Fprintln(e.stderr, "shutting down: snapshotting shadows")
	return em.Close()
}
