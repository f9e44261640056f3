package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/fleet/awsiot"
)

func runProvision(e *env, args []string) error {
	fs := newFlagSet(e, "provision",
		"shadowload provision --data DIR --things N [flags]\n  shadowload provision --target aws --things N [flags]",
		`Make N things with a certificate each and a policy, and write their bundles:
BUNDLES/manifest.json and, per thing, BUNDLES/<thing>/certificate.pem.crt,
private.pem.key (mode 0600, never printed or logged) and public.pem.key.
Running it again reuses what is already there.

--target emulator (the default) creates (or reuses) the emulator's
certificate authority in DIR and registers the things in the emulator's
registry there, BUNDLES/root-ca.pem holding the CA; a running emulator with
the same --data picks new things up.

--target aws makes them in an AWS account through the AWS API: CreateThing,
CreateKeysAndCertificate (AWS makes the key; the certificate is ACTIVE),
CreatePolicy once, AttachPolicy and AttachThingPrincipal, paced at --rate
calls per second of each operation (AWS's control-plane quotas are 10 to 15
per second) with throttling retried. The manifest records the data endpoint
(DescribeEndpoint) and the Region; the bundles trust the system roots.
It is resumable: killed or interrupted, run it again with the same flags and
it continues where it stopped, without duplicates. "shadowload deprovision"
removes it all again.

The default policy is the per-thing least-privilege one: connect as the own
thing name; publish, subscribe and receive on the own shadow topics, classic
and named ("shadowload policy" prints it). --observer makes application-side
identities instead, whose policy allows wildcard subscriptions
($aws/things/+/shadow/..., #) and publishing to any thing's shadow request
topics.

With --target aws: `+awsHelp,
		`  shadowload provision --data ./data --things 100
  shadowload provision --data ./data --things 10000 --name 'dev-{i:06}' --out ./bundles
  shadowload provision --data ./data --things 2 --observer --out ./bundles
  shadowload provision --data ./data --things 1 --policy my-policy.json --key rsa
  shadowload provision --target aws --things 100 --region eu-west-1 --out ./bundles
  shadowload provision --target aws --things 1 --observer --out ./bundles
  shadowload provision --target aws --things 50 --endpoint-url https://127.0.0.1:8443 \
      --ca-bundle data/ca/root-ca.pem --out ./bundles`)
	target := fs.String("target", "emulator", "where to provision: emulator (the registry in --data) or aws (the AWS API)")
	data := fs.String("data", "", "emulator data directory (CA and registry); required for --target emulator")
	things := fs.Int("things", 0, "how many things to provision; required")
	name := fs.String("name", "", `thing name pattern, {i} or {i:05} is the index (default "sim-{i:05}", observers "observer-{i:02}")`)
	first := fs.Int("first", 0, "index of the first thing, to grow a fleet")
	out := fs.String("out", "", "bundles directory (default DIR/bundles; with --target aws ./bundles)")
	policyFile := fs.String("policy", "", "policy document file to attach instead of the default")
	policyName := fs.String("policy-name", "", "name of the policy (default shadowload-thing / shadowload-observer)")
	key := fs.String("key", "ecdsa", "--target emulator: key type of new certificates, ecdsa (P-256) or rsa (2048)")
	observer := fs.Bool("observer", false, "make application-side identities with wildcard rights")
	af := addAWSFlags(fs)
	rate := fs.String("rate", fmt.Sprintf("%d/s", fleet.DefaultProvisionRate), "--target aws: calls per second of each API operation (about things per second)")
	rootCA := fs.String("root-ca", "", "--target aws: CA file the bundles trust for MQTT (default: system roots; with --endpoint-url, --ca-bundle)")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("provision: unexpected argument %q", fs.Arg(0))
	}
	if *things < 1 {
		return usagef("provision: --things %d: want at least 1", *things)
	}
	opts := fleet.ProvisionOptions{
		Things:      *things,
		FirstIndex:  *first,
		NamePattern: *name,
		OutDir:      *out,
		PolicyName:  *policyName,
		Observer:    *observer,
	}
	if *policyFile != "" {
		doc, err := os.ReadFile(*policyFile)
		if err != nil {
			return usagef("provision: --policy: %v", err)
		}
		opts.Policy = string(doc)
		if opts.PolicyName == "" {
			opts.PolicyName = policyNameFromFile(*policyFile)
		}
	}
	switch *target {
	case "emulator":
		for _, f := range []string{"rate", "root-ca"} {
			if fs.Changed(f) {
				return usagef("provision: --%s is for --target aws", f)
			}
		}
		if f := af.given(fs); f != "" {
			return usagef("provision: --%s is for --target aws", f)
		}
		return provisionEmulator(e, *data, *key, *quiet, opts)
	case "aws":
		if *data != "" || fs.Changed("key") {
			return usagef("provision: --data and --key are for --target emulator (AWS makes RSA 2048 keys)")
		}
		return provisionAWS(e, af, *rate, *rootCA, *quiet, opts)
	}
	return usagef("provision: --target %q: want emulator or aws", *target)
}

// provisionEmulator registers the fleet in the emulator's data directory.
func provisionEmulator(e *env, data, key string, quiet bool, opts fleet.ProvisionOptions) error {
	if data == "" {
		return usagef("provision: --data is required: the emulator's data directory (or --target aws)")
	}
	kt, err := fleet.ParseKeyType(key)
	if err != nil {
		return usagef("provision: --key: %v", err)
	}
	opts.Key = kt
	if opts.OutDir == "" {
		opts.OutDir = filepath.Join(data, "bundles")
	}
	if !quiet {
		opts.Progress = progressPrinter(e, "provisioned", opts.Things)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ca, err := fleet.LoadOrCreateCA(data)
	if err != nil {
		return err
	}
	reg, err := emulator.OpenRegistry(data)
	if err != nil {
		return err
	}
	defer reg.Close()
	m, err := fleet.Provision(ctx, ca, reg, opts)
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	fmt.Fprintf(e.stdout, "%d things in %s (manifest lists %d); root CA %s\n",
		opts.Things, opts.OutDir, len(m.Things), filepath.Join(opts.OutDir, m.RootCA))
	return nil
}

// provisionAWS makes the fleet in an AWS account (or the emulator's API)
// through the AWS SDK.
func provisionAWS(e *env, af *awsFlags, rate, rootCA string, quiet bool, o fleet.ProvisionOptions) error {
	perSecond, err := parseCallRate("provision", rate)
	if err != nil {
		return err
	}
	opts := awsiot.ProvisionOptions{
		Things:      o.Things,
		FirstIndex:  o.FirstIndex,
		NamePattern: o.NamePattern,
		OutDir:      o.OutDir,
		PolicyName:  o.PolicyName,
		Policy:      o.Policy,
		Observer:    o.Observer,
		Rate:        perSecond,
		Logf: func(format string, args ...any) {
			fmt.Fprintf(e.stderr, "provision: "+format+"\n", args...)
		},
	}
	if opts.OutDir == "" {
		opts.OutDir = "bundles"
	}
	if !quiet {
		opts.Progress = progressPrinter(e, "provisioned", o.Things)
	}
	ctx, stop := signalContext(e)
	defer stop()
	a, err := af.connect(ctx, e, "")
	if err != nil {
		return err
	}
	if rootCA == "" && a.Overridden() != "" {
		rootCA = a.CABundlePath()
	}
	if rootCA != "" {
		if opts.RootCAPEM, err = os.ReadFile(rootCA); err != nil {
			return usagef("provision: --root-ca: %v", err)
		}
	}
	res, err := awsiot.Provision(ctx, a, opts)
	if err != nil {
		if res != nil {
			fmt.Fprintf(e.stderr, "provision: %d things complete in %s; run the same command again to continue\n", len(res.Manifest.Things), opts.OutDir)
		}
		return fmt.Errorf("provision: %w", err)
	}
	m := res.Manifest
	where := a.Region()
	if a.Overridden() != "" {
		where += " at " + a.Overridden()
	}
	fmt.Fprintf(e.stdout, "%d things in %s (%d made now, %d already complete; manifest lists %d) in %s\nendpoint %s",
		o.Things, opts.OutDir, res.Created, res.Complete, len(m.Things), where, m.Endpoint)
	if m.RootCA != "" {
		fmt.Fprintf(e.stdout, "; root CA %s", filepath.Join(opts.OutDir, m.RootCA))
	}
	fmt.Fprintln(e.stdout)
	return nil
}

// policyNameFromFile names a policy after its file: "my-policy.json" → "my-policy".
func policyNameFromFile(path string) string {
	base := filepath.Base(path)
	return base[:len(base)-len(filepath.Ext(base))]
}

// progressPrinter returns a Progress callback for stderr. On a terminal it
// rewrites one line at most every percent; elsewhere (a log, CI) it writes
// a plain line at every tenth of the way, and never a carriage return.
func progressPrinter(e *env, verb string, total int) func(done, total int) {
	step := 100
	if !e.stderrTerminal {
		step = 10
	}
	last := -1
	return func(done, _ int) {
		mark := done * step / total
		if mark == last && done != total {
			return
		}
		last = mark
		switch {
		case e.stderrTerminal && done == total:
			fmt.Fprintf(e.stderr, "\r\033[K%s %d/%d\n", verb, done, total)
		case e.stderrTerminal:
			fmt.Fprintf(e.stderr, "\r\033[K%s %d/%d", verb, done, total)
		default:
			fmt.Fprintf(e.stderr, "%s %d/%d\n", verb, done, total)
		}
	}
}
