package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
)

func runProvision(e *env, args []string) error {
	fs := newFlagSet(e, "provision",
		"shadowload provision --data DIR --things N [flags]",
		`Create (or reuse) the emulator's certificate authority in DIR, register N
things with a certificate each and a policy in the emulator's registry, and
write their bundles: BUNDLES/root-ca.pem, BUNDLES/manifest.json and, per thing,
BUNDLES/<thing>/certificate.pem.crt, private.pem.key (mode 0600) and
public.pem.key. Running it again reuses what is already there; a running
emulator with the same --data picks new things up.

The default policy is the per-thing least-privilege one: connect as the own
thing name; publish, subscribe and receive on the own shadow topics, classic
and named. --observer makes application-side identities instead, whose policy
allows wildcard subscriptions ($aws/things/+/shadow/..., #) and publishing to
any thing's shadow request topics.`,
		`  shadowload provision --data ./data --things 100
  shadowload provision --data ./data --things 10000 --name 'dev-{i:06}' --out ./bundles
  shadowload provision --data ./data --things 2 --observer --out ./bundles
  shadowload provision --data ./data --things 1 --policy my-policy.json --key rsa`)
	data := fs.String("data", "", "emulator data directory (CA and registry); required")
	things := fs.Int("things", 0, "how many things to provision; required")
	name := fs.String("name", "", `thing name pattern, {i} or {i:05} is the index (default "sim-{i:05}", observers "observer-{i:02}")`)
	first := fs.Int("first", 0, "index of the first thing, to grow a fleet")
	out := fs.String("out", "", "bundles directory (default DIR/bundles)")
	policyFile := fs.String("policy", "", "policy document file to attach instead of the default")
	policyName := fs.String("policy-name", "", "name of the policy in the registry (default shadowload-thing / shadowload-observer)")
	key := fs.String("key", "ecdsa", "key type of new certificates: ecdsa (P-256) or rsa (2048)")
	observer := fs.Bool("observer", false, "make application-side identities with wildcard rights")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("provision: unexpected argument %q", fs.Arg(0))
	}
	if *data == "" {
		return usagef("provision: --data is required: the emulator's data directory")
	}
	if *things < 1 {
		return usagef("provision: --things %d: want at least 1", *things)
	}
	kt, err := fleet.ParseKeyType(*key)
	if err != nil {
		return usagef("provision: --key: %v", err)
	}
	opts := fleet.ProvisionOptions{
		Things:      *things,
		FirstIndex:  *first,
		NamePattern: *name,
		OutDir:      *out,
		PolicyName:  *policyName,
		Key:         kt,
		Observer:    *observer,
	}
	if opts.OutDir == "" {
		opts.OutDir = filepath.Join(*data, "bundles")
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
	if !*quiet {
		opts.Progress = progressPrinter(e, "provisioned", *things)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ca, err := fleet.LoadOrCreateCA(*data)
	if err != nil {
		return err
	}
	reg, err := emulator.OpenRegistry(*data)
	if err != nil {
		return err
	}
	defer reg.Close()
	m, err := fleet.Provision(ctx, ca, reg, opts)
	if err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	fmt.Fprintf(e.stdout, "%d things in %s (manifest lists %d); root CA %s\n",
		*things, opts.OutDir, len(m.Things), filepath.Join(opts.OutDir, m.RootCA))
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
