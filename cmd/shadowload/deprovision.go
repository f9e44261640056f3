package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/fleet/awsiot"
)

func runDeprovision(e *env, args []string) error {
	fs := newFlagSet(e, "deprovision",
		"shadowload deprovision --bundles DIR | --manifest FILE [flags]",
		`Remove from the account everything "shadowload provision --target aws" made for
the things of a bundles directory: for each thing its shadows (the classic one
and every named one), its certificate (detached from the thing and the
policy, deactivated, deleted) and the thing; then the policy provisioning
created (a policy it found is left). Calls are paced at --rate per API
operation; throttling is retried with backoff.

It reports what it removed and what it could not. Things already gone count as
removed, so it can be run again until everything is gone; the manifest keeps
only the things it could not remove, and the bundles of removed things (whose
certificates no longer exist) are deleted. Exit 0 when everything is gone, 1
when something could not be removed.

`+awsHelp,
		`  shadowload deprovision --bundles ./bundles
  shadowload deprovision --manifest ./bundles/manifest.json --region eu-west-1
  shadowload deprovision --bundles ./bundles --endpoint-url https://127.0.0.1:8443 --ca-bundle data/ca/root-ca.pem`)
	bundles := fs.String("bundles", "", "bundles directory written by provision")
	manifest := fs.String("manifest", "", "the bundles directory's manifest.json, instead of --bundles")
	af := addAWSFlags(fs)
	rate := fs.String("rate", fmt.Sprintf("%d/s", fleet.DefaultProvisionRate), "calls per second of each API operation (about things per second)")
	keepPolicy := fs.Bool("keep-policy", false, "leave the policy provisioning created")
	quiet := fs.Bool("quiet", false, "no progress on stderr")
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("deprovision: unexpected argument %q", fs.Arg(0))
	}
	dir := *bundles
	switch {
	case *bundles != "" && *manifest != "":
		return usagef("deprovision: give --bundles or --manifest, not both")
	case *manifest != "":
		if filepath.Base(*manifest) != fleet.ManifestFileName {
			return usagef("deprovision: --manifest %s: want a bundles directory's %s", *manifest, fleet.ManifestFileName)
		}
		dir = filepath.Dir(*manifest)
	case dir == "":
		return usagef("deprovision: --bundles DIR or --manifest FILE is required")
	}
	perSecond, err := parseCallRate("deprovision", *rate)
	if err != nil {
		return err
	}
	m, err := fleet.ReadManifest(dir)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(e.stdout, "nothing to deprovision: %s holds no %s\n", dir, fleet.ManifestFileName)
		return nil
	}
	if err != nil {
		return usageError{err}
	}
	ctx, stop := signalContext(e)
	defer stop()
	a, err := af.connect(ctx, e, m.Region)
	if err != nil {
		return err
	}
	opts := awsiot.DeprovisionOptions{OutDir: dir, Rate: perSecond, KeepPolicies: *keepPolicy}
	if !*quiet {
		opts.Progress = progressPrinter(e, "deprovisioned", len(m.Things))
	}
	rep, err := awsiot.Deprovision(ctx, a, opts)
	if err != nil {
		return fmt.Errorf("deprovision: %w", err)
	}
	fmt.Fprintf(e.stdout, "removed %s, %s, %s and %s from %s",
		plural(rep.Things, "thing", "things"), plural(rep.Certificates, "certificate", "certificates"),
		plural(rep.Shadows, "shadow", "shadows"), plural(rep.Policies, "policy", "policies"), a.Region())
	if a.Overridden() != "" {
		fmt.Fprintf(e.stdout, " at %s", a.Overridden())
	}
	fmt.Fprintln(e.stdout)
	if rep.AlreadyGone > 0 {
		fmt.Fprintf(e.stdout, "already gone: %s\n", plural(rep.AlreadyGone, "thing or certificate", "things or certificates"))
	}
	if len(rep.Failures) == 0 {
		return nil
	}
	fmt.Fprintf(e.stdout, "could not remove (%d things stay in %s; run again to retry):\n", rep.Remaining, filepath.Join(dir, fleet.ManifestFileName))
	for _, f := range rep.Failures {
		fmt.Fprintf(e.stdout, "  %s\n", f)
	}
	return fmt.Errorf("deprovision: %d things or policies could not be removed", len(rep.Failures))
}

// plural writes n with the singular or plural noun.
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
