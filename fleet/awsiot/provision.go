package awsiot

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/shadowload/shadowload/fleet"
)

// ProvisionOptions configures Provision. The zero value of every field but
// Things and OutDir means its documented default.
type ProvisionOptions struct {
	// Things is how many things to provision, at least 1.
	Things int
	// FirstIndex is the index of the first thing (default 0).
	FirstIndex int
	// NamePattern names thing i (see fleet.ThingName); default
	// fleet.DefaultThingPattern, or fleet.DefaultObserverPattern for
	// observers.
	NamePattern string
	// OutDir is the bundles directory; it is created if needed.
	OutDir string
	// PolicyName is the policy attached to every certificate; default
	// fleet.DefaultThingPolicyName (observers: DefaultObserverPolicyName).
	PolicyName string
	// Policy is the policy's document, created when the policy does not
	// exist; default fleet.DefaultThingPolicy (observers:
	// DefaultObserverPolicy). An existing policy of the name must hold the
	// same document.
	Policy string
	// Observer provisions application-side identities.
	Observer bool
	// RootCAPEM, when set, is written as OUT/root-ca.pem and recorded in
	// the manifest, for an endpoint with its own CA (the emulator's);
	// otherwise the bundles trust the system roots, as for AWS.
	RootCAPEM []byte
	// Rate is the calls per second of each API operation; default
	// fleet.DefaultProvisionRate, which is things per second.
	Rate float64
	// Workers is how many things are in progress at once; default enough
	// to keep Rate with a few hundred milliseconds per call.
	Workers int
	// Progress, when set, is called after each thing with the count done
	// so far and the total, from the goroutine that called Provision.
	Progress func(done, total int)
	// Logf, when set, receives notable events (certificates of an
	// interrupted run deleted or left). Never a private key.
	Logf func(format string, args ...any)
}

// ProvisionResult is what Provision did.
type ProvisionResult struct {
	// Manifest is the manifest written to OUT/manifest.json.
	Manifest *fleet.Manifest
	// Created counts the things this run completed; Complete those it
	// found complete from an earlier run.
	Created, Complete int
	// PolicyCreated says this run created the policy.
	PolicyCreated bool
	// OrphansDeleted are certificates an interrupted run made without
	// saving their keys, which this run deleted; OrphansLeft are
	// unattached certificates of that time it could not tell from another
	// user's and left for a person to check.
	OrphansDeleted, OrphansLeft []string
}

// withDefaults validates the options and fills in the defaults; it
// returns the thing names in index order.
func (o ProvisionOptions) withDefaults() (ProvisionOptions, []string, error) {
	n := fleet.Naming{Things: o.Things, FirstIndex: o.FirstIndex, OutDir: o.OutDir,
		NamePattern: o.NamePattern, PolicyName: o.PolicyName, Policy: o.Policy, Observer: o.Observer}
	names, err := n.Resolve()
	if err != nil {
		return o, nil, fmt.Errorf("awsiot: provision: %w", err)
	}
	o.NamePattern, o.PolicyName, o.Policy = n.NamePattern, n.PolicyName, n.Policy
	if o.Rate == 0 {
		o.Rate = fleet.DefaultProvisionRate
	}
	if err := checkRate(o.Rate); err != nil {
		return o, nil, fmt.Errorf("awsiot: provision: %w", err)
	}
	if o.Workers <= 0 {
		o.Workers = workersFor(o.Rate, o.Things)
	}
	o.Workers = min(o.Workers, o.Things, maxWorkers)
	if o.Logf == nil {
		o.Logf = func(string, ...any) {}
	}
	return o, names, nil
}

// provisioner is one Provision run.
type provisioner struct {
	a    *Account
	opts ProvisionOptions
	pace *pacer
	j    *journal
	// recorded maps a thing to the certificate a journal or the manifest
	// says it was completed with.
	recorded map[string]string
}

// Provision creates (or completes) opts.Things things in the account, each
// with an AWS-made key and ACTIVE certificate, the policy attached to the
// certificate and the certificate to the thing, and writes their bundles
// and the manifest to opts.OutDir. Things a previous run completed are
// skipped; a run killed midway is resumed without duplicates (see the
// package documentation). On an error or a cancelled ctx it stops starting
// things, records those that completed in the manifest, keeps the journal
// for the next run and returns the first error.
func Provision(ctx context.Context, a *Account, opts ProvisionOptions) (*ProvisionResult, error) {
	opts, names, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	base, err := fleet.ReadManifest(opts.OutDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		base = &fleet.Manifest{Version: fleet.ManifestVersion}
	case err != nil:
		return nil, fmt.Errorf("%w (fix or remove it before provisioning into %s)", err, opts.OutDir)
	}
	if base.Region != "" && base.Region != a.Region() {
		return nil, fmt.Errorf("awsiot: provision: %s holds things of Region %s, not %s: use another --out", opts.OutDir, base.Region, a.Region())
	}
	if err := os.MkdirAll(opts.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("awsiot: provision: create bundles directory: %w", err)
	}
	if opts.RootCAPEM != nil {
		if err := fleet.WriteRootCA(opts.OutDir, opts.RootCAPEM); err != nil {
			return nil, err
		}
	}
	j, st, err := openJournal(opts.OutDir)
	if err != nil {
		return nil, err
	}
	defer j.close()
	p := &provisioner{a: a, opts: opts, pace: newPacer(opts.Rate), j: j, recorded: map[string]string{}}
	for _, t := range base.Things {
		if t.Policy == opts.PolicyName {
			p.recorded[t.Name] = t.CertificateID
		}
	}
	for name, id := range st.done {
		p.recorded[name] = id
	}
	res := &ProvisionResult{}

	created, err := p.ensurePolicy(ctx)
	if err != nil {
		return nil, err
	}
	res.PolicyCreated = created
	createdPolicies := slices.Clone(base.CreatedPolicies)
	for _, n := range st.createdPolicies {
		if !slices.Contains(createdPolicies, n) {
			createdPolicies = append(createdPolicies, n)
		}
	}
	if created && !slices.Contains(createdPolicies, opts.PolicyName) {
		createdPolicies = append(createdPolicies, opts.PolicyName)
	}
	endpoint, err := a.MQTTEndpoint(ctx)
	if err != nil {
		return nil, err
	}
	if res.OrphansDeleted, res.OrphansLeft, err = p.sweepOrphans(ctx, st, base); err != nil {
		return nil, err
	}

	entries, complete, runErr := p.run(ctx, names)
	res.Complete = complete
	m := mergeManifest(base, entries, endpoint, a.Region(), opts.RootCAPEM != nil, createdPolicies)
	if err := fleet.WriteManifest(opts.OutDir, m); err != nil {
		return nil, errors.Join(runErr, err)
	}
	res.Manifest = m
	if runErr != nil {
		return res, runErr
	}
	res.Created = len(names) - complete
	if err := removeJournal(opts.OutDir); err != nil {
		return res, fmt.Errorf("awsiot: provision: remove the journal of the finished run: %w", err)
	}
	return res, nil
}

// ensurePolicy creates the policy, or accepts an existing one with the
// same document, and reports whether it created it.
func (p *provisioner) ensurePolicy(ctx context.Context) (bool, error) {
	name, doc := p.opts.PolicyName, p.opts.Policy
	if err := p.pace.wait(ctx, "CreatePolicy"); err != nil {
		return false, err
	}
	_, err := p.a.IoT.CreatePolicy(ctx, &iot.CreatePolicyInput{PolicyName: aws.String(name), PolicyDocument: aws.String(doc)})
	switch {
	case err == nil:
		if err := p.j.append(journalRecord{Op: jPolicy, Name: name, Created: true}); err != nil {
			return true, err
		}
		return true, nil
	case errorCode(err) != "ResourceAlreadyExistsException":
		return false, fmt.Errorf("awsiot: create policy %q: %w", name, err)
	}
	if err := p.pace.wait(ctx, "GetPolicy"); err != nil {
		return false, err
	}
	got, err := p.a.IoT.GetPolicy(ctx, &iot.GetPolicyInput{PolicyName: aws.String(name)})
	if err != nil {
		return false, fmt.Errorf("awsiot: policy %q exists; reading it: %w", name, err)
	}
	if !sameJSON(aws.ToString(got.PolicyDocument), doc) {
		return false, fmt.Errorf("awsiot: policy %q already exists with another document: give another --policy-name, or delete or update it", name)
	}
	return false, nil
}

// provisionResult is a worker's answer for one thing.
type provisionResult struct {
	index    int
	entry    fleet.ManifestThing
	complete bool
	err      error
}

// run provisions the things with opts.Workers workers and returns the
// manifest entries in index order (zero for things that did not complete)
// and how many were already complete.
func (p *provisioner) run(parent context.Context, names []string) ([]fleet.ManifestThing, int, error) {
	ctx, cancel := context.WithCancel(parent)
	defer cancel()
	jobs := make(chan int)
	results := make(chan provisionResult, p.opts.Workers)
	var wg sync.WaitGroup
	for range p.opts.Workers {
		wg.Go(func() {
			for k := range jobs {
				entry, complete, err := p.one(ctx, names[k])
				results <- provisionResult{index: k, entry: entry, complete: complete, err: err}
			}
		})
	}
	go func() {
		defer close(jobs)
		for k := range names {
			select {
			case jobs <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() {
		wg.Wait()
		close(results)
	}()
	entries := make([]fleet.ManifestThing, len(names))
	var firstErr error
	done, complete := 0, 0
	for r := range results {
		if r.err != nil {
			if firstErr == nil && parent.Err() == nil {
				firstErr = r.err
				cancel()
			}
			continue
		}
		entries[r.index] = r.entry
		done++
		if r.complete {
			complete++
		}
		if p.opts.Progress != nil {
			p.opts.Progress(done, len(names))
		}
	}
	if firstErr == nil && done < len(names) {
		firstErr = fmt.Errorf("awsiot: provision: stopped after %d of %d things: %w", done, len(names), parent.Err())
	}
	return entries, complete, firstErr
}

// one provisions one thing and reports whether an earlier run had already
// completed it.
func (p *provisioner) one(ctx context.Context, name string) (fleet.ManifestThing, bool, error) {
	entry := fleet.ManifestThing{Name: name, Policy: p.opts.PolicyName, Observer: p.opts.Observer}
	dir := filepath.Join(p.opts.OutDir, name)
	bundle, bundleErr := fleet.LoadBundle(dir)
	recorded, wasRecorded := p.recorded[name]
	if wasRecorded && bundleErr == nil && bundle.CertificateID == recorded {
		entry.CertificateID = recorded
		return entry, true, nil
	}
	if err := p.call(ctx, "CreateThing", name, func() error {
		_, err := p.a.IoT.CreateThing(ctx, &iot.CreateThingInput{ThingName: aws.String(name)})
		if errorCode(err) == "ResourceAlreadyExistsException" {
			return fmt.Errorf("%w (a thing of that name exists with attributes: not one shadowload made; choose another --name)", err)
		}
		return err
	}); err != nil {
		return entry, false, err
	}
	var certID, certARN string
	if bundleErr == nil {
		id, arn, ok, err := p.reuseCertificate(ctx, name, bundle.CertificateID)
		if err != nil {
			return entry, false, err
		}
		if ok {
			certID, certARN = id, arn
		}
	}
	if certID == "" {
		if wasRecorded {
			// The bundle of a certificate made for this thing is gone or
			// replaced: its key is lost, so the certificate goes.
			if err := p.retireCertificate(ctx, name, recorded); err != nil {
				return entry, false, err
			}
		}
		id, arn, err := p.newCertificate(ctx, name)
		if err != nil {
			return entry, false, err
		}
		certID, certARN = id, arn
	}
	if err := p.call(ctx, "AttachPolicy", name, func() error {
		_, err := p.a.IoT.AttachPolicy(ctx, &iot.AttachPolicyInput{PolicyName: aws.String(p.opts.PolicyName), Target: aws.String(certARN)})
		return err
	}); err != nil {
		return entry, false, err
	}
	if err := p.call(ctx, "AttachThingPrincipal", name, func() error {
		_, err := p.a.IoT.AttachThingPrincipal(ctx, &iot.AttachThingPrincipalInput{ThingName: aws.String(name), Principal: aws.String(certARN)})
		return err
	}); err != nil {
		return entry, false, err
	}
	if err := p.j.append(journalRecord{Op: jDone, Thing: name, Cert: certID}); err != nil {
		return entry, false, err
	}
	entry.CertificateID = certID
	return entry, false, nil
}

// call paces op and runs fn, naming the thing and operation in its error.
func (p *provisioner) call(ctx context.Context, op, thing string, fn func() error) error {
	if err := p.pace.wait(ctx, op); err != nil {
		return fmt.Errorf("awsiot: provision %q: %w", thing, err)
	}
	if err := fn(); err != nil {
		return fmt.Errorf("awsiot: provision %q: %s: %w", thing, op, err)
	}
	return nil
}

// newCertificate has AWS make a key and an ACTIVE certificate and writes
// them as the thing's bundle. The journal says a certificate is being made
// before the request goes out, so that a run killed before the bundle is
// written leaves a trace the next run follows.
func (p *provisioner) newCertificate(ctx context.Context, name string) (id, arn string, err error) {
	if err := p.j.append(journalRecord{Op: jPending, Thing: name}); err != nil {
		return "", "", err
	}
	var out *iot.CreateKeysAndCertificateOutput
	if err := p.call(ctx, "CreateKeysAndCertificate", name, func() error {
		var err error
		out, err = p.a.IoT.CreateKeysAndCertificate(ctx, &iot.CreateKeysAndCertificateInput{SetAsActive: true})
		return err
	}); err != nil {
		return "", "", err
	}
	id, arn = aws.ToString(out.CertificateId), aws.ToString(out.CertificateArn)
	certPEM := []byte(aws.ToString(out.CertificatePem))
	werr := checkCertificateID(certPEM, id)
	if werr == nil && out.KeyPair != nil {
		werr = fleet.WriteBundle(p.opts.OutDir, name, &fleet.Identity{
			CertPEM:       certPEM,
			KeyPEM:        []byte(aws.ToString(out.KeyPair.PrivateKey)),
			PublicKeyPEM:  []byte(aws.ToString(out.KeyPair.PublicKey)),
			CertificateID: id,
		})
	} else if werr == nil {
		werr = errors.New("the answer holds no key pair")
	}
	if werr != nil {
		// Without its key the certificate is of no use: delete it now.
		derr := p.deleteCertificate(ctx, name, id, arn)
		return "", "", errors.Join(fmt.Errorf("awsiot: provision %q: certificate %s: %w", name, id, werr), derr)
	}
	return id, arn, nil
}

// checkCertificateID checks that AWS's certificate ID is the SHA-256 of
// the certificate, as bundles and the manifest assume.
func checkCertificateID(certPEM []byte, id string) error {
	block, _ := pem.Decode(certPEM)
	if block == nil || block.Type != "CERTIFICATE" {
		return errors.New("the answer's certificatePem holds no certificate")
	}
	if got := fleet.CertificateID(block.Bytes); got != id {
		return fmt.Errorf("certificate ID %s is not the SHA-256 %s of the certificate", id, got)
	}
	return nil
}

// reuseCertificate looks up the certificate of a bundle already written:
// one that exists is reused (made ACTIVE again if it is not); one that is
// gone is not (ok false).
func (p *provisioner) reuseCertificate(ctx context.Context, name, id string) (certID, arn string, ok bool, err error) {
	var out *iot.DescribeCertificateOutput
	err = p.call(ctx, "DescribeCertificate", name, func() error {
		var err error
		out, err = p.a.IoT.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: aws.String(id)})
		return err
	})
	if isNotFound(err) {
		return "", "", false, nil
	}
	if err != nil {
		return "", "", false, err
	}
	d := out.CertificateDescription
	arn = aws.ToString(d.CertificateArn)
	if d.Status != types.CertificateStatusActive {
		if err := p.call(ctx, "UpdateCertificate", name, func() error {
			_, err := p.a.IoT.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: aws.String(id), NewStatus: types.CertificateStatusActive})
			return err
		}); err != nil {
			return "", "", false, err
		}
	}
	return id, arn, true, nil
}

// retireCertificate detaches, deactivates and deletes a certificate made
// for the thing whose key is lost; one already gone is fine.
func (p *provisioner) retireCertificate(ctx context.Context, name, id string) error {
	var out *iot.DescribeCertificateOutput
	err := p.call(ctx, "DescribeCertificate", name, func() error {
		var err error
		out, err = p.a.IoT.DescribeCertificate(ctx, &iot.DescribeCertificateInput{CertificateId: aws.String(id)})
		return err
	})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	arn := aws.ToString(out.CertificateDescription.CertificateArn)
	if err := p.call(ctx, "DetachThingPrincipal", name, func() error {
		_, err := p.a.IoT.DetachThingPrincipal(ctx, &iot.DetachThingPrincipalInput{ThingName: aws.String(name), Principal: aws.String(arn)})
		if isNotFound(err) {
			return nil
		}
		return err
	}); err != nil {
		return err
	}
	p.opts.Logf("thing %s: certificate %s lost its bundle; deleting it and making a new one", name, id)
	return p.deleteCertificate(ctx, name, id, arn)
}

// deleteCertificate deactivates and force-deletes a certificate attached
// to no thing, waiting out AWS's asynchronous detach for a bounded time.
func (p *provisioner) deleteCertificate(ctx context.Context, name, id, arn string) error {
	if err := p.call(ctx, "UpdateCertificate", name, func() error {
		_, err := p.a.IoT.UpdateCertificate(ctx, &iot.UpdateCertificateInput{CertificateId: aws.String(id), NewStatus: types.CertificateStatusInactive})
		return err
	}); err != nil {
		return err
	}
	return retryConflicts(ctx, func() error {
		return p.call(ctx, "DeleteCertificate", name, func() error {
			_, err := p.a.IoT.DeleteCertificate(ctx, &iot.DeleteCertificateInput{CertificateId: aws.String(id), ForceDelete: true})
			if isNotFound(err) {
				return nil
			}
			return err
		})
	})
}

// mergeManifest returns base with the completed entries merged in: an
// entry replaces the one of the same name, new names are appended in
// index order.
func mergeManifest(base *fleet.Manifest, entries []fleet.ManifestThing, endpoint, region string, rootCA bool, createdPolicies []string) *fleet.Manifest {
	m := &fleet.Manifest{
		Version:         fleet.ManifestVersion,
		RootCA:          base.RootCA,
		Endpoint:        endpoint,
		Region:          region,
		CreatedPolicies: createdPolicies,
		Things:          slices.Clone(base.Things),
	}
	if rootCA {
		m.RootCA = fleet.RootCAFileName
	}
	pos := make(map[string]int, len(m.Things))
	for i, t := range m.Things {
		pos[t.Name] = i
	}
	for _, e := range entries {
		if e.Name == "" {
			continue
		}
		if i, ok := pos[e.Name]; ok {
			m.Things[i] = e
			continue
		}
		pos[e.Name] = len(m.Things)
		m.Things = append(m.Things, e)
	}
	return m
}
