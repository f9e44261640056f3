package awsiot

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/shadowload/shadowload/fleet"
)

// DeprovisionOptions configures Deprovision.
type DeprovisionOptions struct {
	// OutDir is the bundles directory whose manifest lists the things.
	OutDir string
	// Rate is the calls per second of each API operation; default
	// fleet.DefaultProvisionRate.
	Rate float64
	// Workers is how many things are torn down at once; default enough to
	// keep Rate.
	Workers int
	// KeepPolicies leaves the policies provisioning created.
	KeepPolicies bool
	// Progress, when set, is called after each thing with the count done
	// so far and the total, from the goroutine that called Deprovision.
	Progress func(done, total int)
}

// DeprovisionReport says what Deprovision removed and what it could not.
type DeprovisionReport struct {
	// Things, Certificates, Shadows and Policies count what was deleted.
	Things, Certificates, Shadows, Policies int
	// AlreadyGone counts things and certificates the manifest lists that
	// no longer existed.
	AlreadyGone int
	// Failures describe what could not be removed, one line each; those
	// things stay in the manifest for another run.
	Failures []string
	// Remaining is how many things the manifest still lists.
	Remaining int
}

// thingReport is what tearing down one thing did.
type thingReport struct {
	name              string
	thing, cert, gone int
	shadows           int
	failure           string
	removedFromAWS    bool
}

// Deprovision removes the things of OUT/manifest.json from the account:
// for each, its shadows (classic and every named one), its certificate
// (detached from the thing and the policy, deactivated, deleted) and the
// thing; then the policies provisioning created, unless KeepPolicies. What
// is already gone counts as done, so it may be run again after a partial
// failure. The manifest keeps only what could not be removed, and the
// bundles of removed things are deleted (their certificates no longer
// exist); with nothing left, the manifest, the root CA and the journal
// go too.
func Deprovision(ctx context.Context, a *Account, opts DeprovisionOptions) (*DeprovisionReport, error) {
	if opts.OutDir == "" {
		return nil, errors.New("awsiot: deprovision: OutDir is empty, want the bundles directory")
	}
	if opts.Rate == 0 {
		opts.Rate = fleet.DefaultProvisionRate
	}
	if err := checkRate(opts.Rate); err != nil {
		return nil, fmt.Errorf("awsiot: deprovision: %w", err)
	}
	m, err := fleet.ReadManifest(opts.OutDir)
	if err != nil {
		return nil, err
	}
	if m.Region != "" && m.Region != a.Region() {
		return nil, fmt.Errorf("awsiot: deprovision: %s was provisioned in Region %s, not %s: give --region %s", opts.OutDir, m.Region, a.Region(), m.Region)
	}
	if opts.Workers <= 0 {
		opts.Workers = workersFor(opts.Rate, len(m.Things))
	}
	opts.Workers = max(1, min(opts.Workers, len(m.Things), maxWorkers))
	d := &deprovisioner{a: a, pace: newPacer(opts.Rate)}
	rep := &DeprovisionReport{}
	var reports []thingReport
	if len(m.Things) > 0 {
		data, err := a.Data(ctx)
		if err != nil {
			return nil, err
		}
		d.data = data
		reports = d.run(ctx, m.Things, opts)
	}
	var keep []fleet.ManifestThing
	byName := map[string]thingReport{}
	for _, r := range reports {
		byName[r.name] = r
		rep.Things += r.thing
		rep.Certificates += r.cert
		rep.AlreadyGone += r.gone
		rep.Shadows += r.shadows
		if r.failure != "" {
			rep.Failures = append(rep.Failures, r.failure)
		}
	}
	for _, t := range m.Things {
		r, ok := byName[t.Name]
		if !ok || !r.removedFromAWS {
			keep = append(keep, t)
			continue
		}
		if _, err := fleet.RemoveBundle(opts.OutDir, t.Name); err != nil {
			rep.Failures = append(rep.Failures, fmt.Sprintf("bundle of %s: %v", t.Name, err))
		}
	}
	var keepPolicies []string
	for _, name := range m.CreatedPolicies {
		if opts.KeepPolicies || len(keep) > 0 && usesPolicy(keep, name) {
			keepPolicies = append(keepPolicies, name)
			continue
		}
		removed, err := d.deletePolicy(ctx, name)
		switch {
		case err != nil:
			rep.Failures = append(rep.Failures, fmt.Sprintf("policy %s: %v", name, err))
			keepPolicies = append(keepPolicies, name)
		case removed:
			rep.Policies++
		}
	}
	rep.Remaining = len(keep)
	if ctx.Err() != nil && len(rep.Failures) == 0 {
		rep.Failures = append(rep.Failures, "stopped: "+ctx.Err().Error())
	}
	if len(keep) == 0 && len(keepPolicies) == 0 {
		return rep, removeManifestFiles(opts.OutDir, m)
	}
	m.Things, m.CreatedPolicies = keep, keepPolicies
	return rep, fleet.WriteManifest(opts.OutDir, m)
}

// usesPolicy reports whether a thing left in the manifest uses the policy.
func usesPolicy(things []fleet.ManifestThing, policy string) bool {
	return slices.ContainsFunc(things, func(t fleet.ManifestThing) bool { return t.Policy == policy })
}

// removeManifestFiles deletes the manifest, root CA and journal of an
// emptied bundles directory, and the directory when nothing else is left.
func removeManifestFiles(outDir string, m *fleet.Manifest) error {
	var errs []error
	for _, name := range []string{fleet.ManifestFileName, m.RootCA, JournalFileName} {
		if name == "" {
			continue
		}
		if err := os.Remove(filepath.Join(outDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	_ = os.Remove(outDir) // only when empty
	return errors.Join(errs...)
}

// deprovisioner is one Deprovision run.
type deprovisioner struct {
	a    *Account
	data interface {
		AllNamedShadows(ctx context.Context, thing string) ([]string, error)
		DeleteThingShadow(ctx context.Context, thing, shadowName string) ([]byte, error)
	}
	pace *pacer
}

// run tears the things down with opts.Workers workers; every thing gets a
// report, also when ctx ends first.
func (d *deprovisioner) run(ctx context.Context, things []fleet.ManifestThing, opts DeprovisionOptions) []thingReport {
	jobs := make(chan fleet.ManifestThing)
	results := make(chan thingReport, opts.Workers)
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Go(func() {
			for t := range jobs {
				results <- d.one(ctx, t)
			}
		})
	}
	go func() {
		defer close(jobs)
		for _, t := range things {
			select {
			case jobs <- t:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	var reports []thingReport
	for r := range results {
		reports = append(reports, r)
		if opts.Progress != nil {
			opts.Progress(len(reports), len(things))
		}
	}
	return reports
}

// one tears down one thing: shadows, certificate, thing.
func (d *deprovisioner) one(ctx context.Context, t fleet.ManifestThing) thingReport {
	r := thingReport{name: t.Name}
	fail := func(what string, err error) thingReport {
		r.failure = fmt.Sprintf("thing %s: %s: %v", t.Name, what, err)
		return r
	}
	n, err := d.deleteShadows(ctx, t.Name)
	r.shadows = n
	if err != nil {
		return fail("shadows", err)
	}
	if t.CertificateID != "" {
		removed, err := d.deleteCertificate(ctx, t)
		if err != nil {
			return fail("certificate "+t.CertificateID, err)
		}
		if removed {
			r.cert++
		} else {
			r.gone++
		}
	}
	removed, err := d.deleteThing(ctx, t.Name)
	if err != nil {
		return fail("thing", err)
	}
	if removed {
		r.thing++
	} else {
		r.gone++
	}
	r.removedFromAWS = true
	return r
}

// deleteShadows deletes every named shadow of the thing and its classic
// shadow, and counts those that existed.
func (d *deprovisioner) deleteShadows(ctx context.Context, thing string) (int, error) {
	if err := d.pace.wait(ctx, "ListNamedShadowsForThing"); err != nil {
		return 0, err
	}
	names, err := d.data.AllNamedShadows(ctx, thing)
	if err != nil && !isNotFound(err) {
		return 0, err
	}
	n := 0
	for _, name := range append(names, "") {
		if err := d.pace.wait(ctx, "DeleteThingShadow"); err != nil {
			return n, err
		}
		_, err := d.data.DeleteThingShadow(ctx, thing, name)
		switch {
		case err == nil:
			n++
		case !isNotFound(err):
			return n, err
		}
	}
	return n, nil
}

// call paces op and runs fn.
func (d *deprovisioner) call(ctx context.Context, op string, fn func() error) error {
	if err := d.pace.wait(ctx, op); err != nil {
		return err
	}
	if err := fn(); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// deleteCertificate detaches the certificate from the thing and its
// policy, deactivates and deletes it; it reports false when it was
// already gone.
func (d *deprovisioner) deleteCertificate(ctx context.Context, t fleet.ManifestThing) (bool, error) {
	var desc *types.CertificateDescription
	err := d.call(ctx, "DescribeCertificate", func() error {
		out, err := d.a.IoT.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: aws.String(t.CertificateID)})
		if err == nil {
			desc = out.CertificateDescription
		}
		return err
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	arn := aws.ToString(desc.CertificateArn)
	ignoreGone := func(err error) error {
		if isNotFound(err) {
			return nil
		}
		return err
	}
	if err := d.call(ctx, "DetachThingPrincipal", func() error {
		_, err := d.a.IoT.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: aws.String(t.Name), Principal: aws.String(arn)})
		return ignoreGone(err)
	}); err != nil {
		return false, err
	}
	if t.Policy != "" {
		if err := d.call(ctx, "DetachPolicy", func() error {
			_, err := d.a.IoT.DetachPolicy(ctx, &iot.DetachPolicyInput{PolicyName: aws.String(t.Policy), Target: aws.String(arn)})
			return ignoreGone(err)
		}); err != nil {
			return false, err
		}
	}
	if desc.Status == types.CertificateStatusActive {
		if err := d.call(ctx, "UpdateCertificate", func() error {
			_, err := d.a.IoT.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: aws.String(t.CertificateID), NewStatus: types.CertificateStatusInactive})
			return err
		}); err != nil {
			return false, err
		}
	}
	err = retryConflicts(ctx, func() error {
		return d.call(ctx, "DeleteCertificate", func() error {
			_, err := d.a.IoT.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: aws.String(t.CertificateID), ForceDelete: true})
			return err
		})
	})
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}

// deleteThing deletes the thing, waiting out AWS's asynchronous detach;
// it reports false when the thing was already gone.
func (d *deprovisioner) deleteThing(ctx context.Context, name string) (bool, error) {
	err := d.call(ctx, "DescribeThing", func() error {
		_, err := d.a.IoT.DescribeThing(ctx, &iot.DescribeThingInput{ThingName: aws.String(name)})
		return err
	})
	if isNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	err = retryConflicts(ctx, func() error {
		return d.call(ctx, "DeleteThing", func() error {
			_, err := d.a.IoT.DeleteThing(ctx, &iot.DeleteThingInput{ThingName: aws.String(name)})
			return err
		})
	})
	return err == nil, err
}

// deletePolicy deletes a policy provisioning created, waiting out AWS's
// asynchronous detach; it reports false when it was already gone.
func (d *deprovisioner) deletePolicy(ctx context.Context, name string) (bool, error) {
	err := retryConflicts(ctx, func() error {
		return d.call(ctx, "DeletePolicy", func() error {
			_, err := d.a.IoT.DeletePolicy(ctx, &iot.DeletePolicyInput{PolicyName: aws.String(name)})
			return err
		})
	})
	if isNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
