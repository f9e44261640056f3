package awsiot

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/shadowload/shadowload/fleet"
)

// orphanWindow widens the time around interrupted certificate requests in
// which a certificate counts as theirs: clock skew between this machine
// and AWS, and a request that took long.
const orphanWindow = 5 * time.Minute

// sweepOrphans finds the certificates a killed run made without writing
// their bundles: certificates created around the interrupted requests
// that no bundle, journal or manifest knows and that are attached to no
// thing and no policy. When they are no more than the interrupted
// requests, they are this tool's and are deleted; when there are more,
// another user's may be among them, and all are left and reported. Either
// way the interrupted requests are marked dealt with.
func (p *provisioner) sweepOrphans(ctx context.Context, st journalState, base *fleet.Manifest) (deleted, left []string, err error) {
	pending := map[string]time.Time{}
	for name, at := range st.pending {
		if _, err := fleet.LoadBundle(filepath.Join(p.opts.OutDir, name)); err != nil {
			pending[name] = at
		}
	}
	if len(pending) == 0 {
		return nil, nil, p.clearPending(st)
	}
	var lo, hi time.Time
	for _, at := range pending {
		if lo.IsZero() || at.Before(lo) {
			lo = at
		}
		if at.After(hi) {
			hi = at
		}
	}
	lo, hi = lo.Add(-orphanWindow), hi.Add(orphanWindow)
	known := p.knownCertificates(st, base)
	var candidates []types.Certificate
	pages := iot.NewListCertificatesPaginator(p.a.IoT, &iot.ListCertificatesInput{PageSize: aws.Int32(250)})
scan:
	for pages.HasMorePages() {
		if err := p.pace.wait(ctx, "ListCertificates"); err != nil {
			return nil, nil, err
		}
		out, err := pages.NextPage(ctx)
		if err != nil {
			return nil, nil, wrapSweep("ListCertificates", err)
		}
		// Newest first: stop at the first certificate older than the window.
		for _, c := range out.Certificates {
			created := aws.ToTime(c.CreationDate)
			if created.Before(lo) {
				break scan
			}
			if created.After(hi) || known[aws.ToString(c.CertificateId)] {
				continue
			}
			attached, err := p.attached(ctx, aws.ToString(c.CertificateArn))
			if err != nil {
				return nil, nil, err
			}
			if !attached {
				candidates = append(candidates, c)
			}
		}
	}
	if len(candidates) > len(pending) {
		for _, c := range candidates {
			left = append(left, aws.ToString(c.CertificateId))
		}
		p.opts.Logf("%d certificate requests of an interrupted run, but %d unattached certificates of that time that no bundle knows; none deleted, since some may not be this tool's: %s",
			len(pending), len(left), strings.Join(left, " "))
		return nil, left, p.clearPending(st)
	}
	for _, c := range candidates {
		id := aws.ToString(c.CertificateId)
		if err := p.deleteCertificate(ctx, "(interrupted run)", id, aws.ToString(c.CertificateArn)); err != nil {
			return deleted, nil, err
		}
		p.opts.Logf("deleted certificate %s, made by an interrupted run that did not save its key", id)
		deleted = append(deleted, id)
	}
	return deleted, nil, p.clearPending(st)
}

// clearPending marks every interrupted request of the journal dealt with.
func (p *provisioner) clearPending(st journalState) error {
	for name := range st.pending {
		if err := p.j.append(journalRecord{Op: jCleared, Thing: name}); err != nil {
			return err
		}
	}
	return nil
}

// knownCertificates are the certificate IDs a bundle, the journal or the
// manifest of the bundles directory names.
func (p *provisioner) knownCertificates(st journalState, base *fleet.Manifest) map[string]bool {
	known := map[string]bool{}
	for _, t := range base.Things {
		known[t.CertificateID] = true
	}
	for _, id := range st.done {
		known[id] = true
	}
	entries, _ := os.ReadDir(p.opts.OutDir)
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if b, err := fleet.LoadBundle(filepath.Join(p.opts.OutDir, e.Name())); err == nil {
			known[b.CertificateID] = true
		}
	}
	return known
}

// attached reports whether a certificate is attached to a thing or a
// policy.
func (p *provisioner) attached(ctx context.Context, arn string) (bool, error) {
	if err := p.pace.wait(ctx, "ListPrincipalThings"); err != nil {
		return false, err
	}
	things, err := p.a.IoT.ListPrincipalThings(ctx, &iot.ListPrincipalThingsInput{Principal: aws.String(arn), MaxResults: aws.Int32(1)})
	if err != nil {
		return false, wrapSweep("ListPrincipalThings", err)
	}
	if len(things.Things) > 0 {
		return true, nil
	}
	if err := p.pace.wait(ctx, "ListAttachedPolicies"); err != nil {
		return false, err
	}
	pols, err := p.a.IoT.ListAttachedPolicies(ctx, &iot.ListAttachedPoliciesInput{Target: aws.String(arn), PageSize: aws.Int32(1)})
	if err != nil {
		return false, wrapSweep("ListAttachedPolicies", err)
	}
	return len(pols.Policies) > 0, nil
}

func wrapSweep(op string, err error) error {
	return &sweepError{op: op, err: err}
}

// sweepError is a failure to look for an interrupted run's certificates.
type sweepError struct {
	op  string
	err error
}

func (e *sweepError) Error() string {
	return "awsiot: looking for certificates of an interrupted run: " + e.op + ": " + e.err.Error()
}

func (e *sweepError) Unwrap() error { return e.err }

// retryConflicts runs fn again while AWS reports an attachment it is still
// removing (detaching is asynchronous in AWS: seconds, for policies up to
// minutes), for a bounded time.
func retryConflicts(ctx context.Context, fn func() error) error {
	delay := 500 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := fn()
		if err == nil || !stillAttached(err) || attempt == conflictAttempts {
			return err
		}
		if err := sleepCtx(ctx, delay); err != nil {
			return err
		}
		delay = min(2*delay, 10*time.Second)
	}
}

// conflictAttempts bounds retryConflicts: about a minute in all.
var conflictAttempts = 9

// stillAttached reports whether err says a resource is still attached.
func stillAttached(err error) bool {
	switch errorCode(err) {
	case "DeleteConflictException":
		return true
	case "InvalidRequestException":
		return strings.Contains(err.Error(), "attached")
	}
	return false
}

// sameJSON reports whether two JSON documents are equal as values (AWS may
// give a policy document back formatted differently).
func sameJSON(a, b string) bool {
	if a == b {
		return true
	}
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}
