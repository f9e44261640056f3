package emulator

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/aws-sdk-go-v2/service/iot/types"

	"github.com/shadowload/shadowload/fleet"
)

// TestAPIThingCertificatePolicyLifecycleThroughTheSDK walks a thing, a
// certificate and a policy from creation to deletion with the SDK's IoT
// client, checking AWS's shapes on the way and its errors wherever AWS
// refuses.
func TestAPIThingCertificatePolicyLifecycleThroughTheSDK(t *testing.T) {
	e := startAPIEmulator(t, nil)
	c := iotClient(e)
	arn := func(r string) string { return "arn:aws:iot:" + e.Region() + ":" + DefaultAccountID + ":" + r }

	ct := must(c.CreateThing(bg, &iot.CreateThingInput{ThingName: aws.String("lamp"),
		AttributePayload: &types.AttributePayload{Attributes: map[string]string{"room": "hall"}}}))(t)
	if aws.ToString(ct.ThingArn) != arn("thing/lamp") || len(aws.ToString(ct.ThingId)) != 36 {
		t.Errorf("CreateThing: arn %q id %q", aws.ToString(ct.ThingArn), aws.ToString(ct.ThingId))
	}
	again := must(c.CreateThing(bg, &iot.CreateThingInput{ThingName: aws.String("lamp"),
		AttributePayload: &types.AttributePayload{Attributes: map[string]string{"room": "hall"}}}))(t)
	if aws.ToString(again.ThingId) != aws.ToString(ct.ThingId) {
		t.Errorf("CreateThing with the same configuration gave id %q, want the first %q", aws.ToString(again.ThingId), aws.ToString(ct.ThingId))
	}
	_, err := c.CreateThing(bg, &iot.CreateThingInput{ThingName: aws.String("lamp")})
	wantAPIError(t, "CreateThing with other attributes", err, "ResourceAlreadyExistsException", 409)
	_, err = c.CreateThing(bg, &iot.CreateThingInput{ThingName: aws.String("bad name")})
	wantAPIError(t, "CreateThing with a space in the name", err, "InvalidRequestException", 400)

	dt := must(c.DescribeThing(bg, &iot.DescribeThingInput{ThingName: aws.String("lamp")}))(t)
	if aws.ToString(dt.DefaultClientId) != "lamp" || dt.Attributes["room"] != "hall" || dt.Version != 1 || aws.ToString(dt.ThingId) != aws.ToString(ct.ThingId) {
		t.Errorf("DescribeThing: %+v", dt)
	}
	_, err = c.DescribeThing(bg, &iot.DescribeThingInput{ThingName: aws.String("nope")})
	wantAPIError(t, "DescribeThing of an unknown thing", err, "ResourceNotFoundException", 404)

	keys := must(c.CreateKeysAndCertificate(bg, &iot.CreateKeysAndCertificateInput{SetAsActive: true}))(t)
	certID := aws.ToString(keys.CertificateId)
	block, _ := pem.Decode([]byte(aws.ToString(keys.CertificatePem)))
	if block == nil || fleet.CertificateID(block.Bytes) != certID || aws.ToString(keys.CertificateArn) != arn("cert/"+certID) {
		t.Fatalf("CreateKeysAndCertificate: id %q arn %q is not the SHA-256 of the certificate", certID, aws.ToString(keys.CertificateArn))
	}
	leaf := must(x509.ParseCertificate(block.Bytes))(t)
	if leaf.Subject.CommonName != "AWS IoT Certificate" || keys.KeyPair == nil || !strings.Contains(aws.ToString(keys.KeyPair.PrivateKey), "PRIVATE KEY") {
		t.Errorf("CreateKeysAndCertificate: subject %q, key pair %v", leaf.Subject.CommonName, keys.KeyPair != nil)
	}
	dc := must(c.DescribeCertificate(bg, &iot.DescribeCertificateInput{CertificateId: aws.String(certID)}))(t)
	if d := dc.CertificateDescription; d.Status != types.CertificateStatusActive || aws.ToString(d.OwnedBy) != DefaultAccountID ||
		d.CreationDate == nil || d.Validity == nil || d.Validity.NotAfter.Year() != 2049 {
		t.Errorf("DescribeCertificate: %+v", d)
	}
	inactive := must(c.CreateKeysAndCertificate(bg, &iot.CreateKeysAndCertificateInput{}))(t)
	if d := must(c.DescribeCertificate(bg, &iot.DescribeCertificateInput{CertificateId: inactive.CertificateId}))(t); d.CertificateDescription.Status != types.CertificateStatusInactive {
		t.Errorf("CreateKeysAndCertificate without setAsActive made a %s certificate, want INACTIVE", d.CertificateDescription.Status)
	}
	_, err = c.DescribeCertificate(bg, &iot.DescribeCertificateInput{CertificateId: aws.String(strings.Repeat("0", 64))})
	wantAPIError(t, "DescribeCertificate of an unknown certificate", err, "ResourceNotFoundException", 404)

	cp := must(c.CreatePolicy(bg, &iot.CreatePolicyInput{PolicyName: aws.String("p1"), PolicyDocument: aws.String(fleet.DefaultThingPolicy)}))(t)
	if aws.ToString(cp.PolicyVersionId) != "1" || aws.ToString(cp.PolicyArn) != arn("policy/p1") || aws.ToString(cp.PolicyDocument) != fleet.DefaultThingPolicy {
		t.Errorf("CreatePolicy: %+v", cp)
	}
	_, err = c.CreatePolicy(bg, &iot.CreatePolicyInput{PolicyName: aws.String("p1"), PolicyDocument: aws.String(fleet.DefaultThingPolicy)})
	wantAPIError(t, "CreatePolicy of an existing name", err, "ResourceAlreadyExistsException", 409)
	_, err = c.CreatePolicy(bg, &iot.CreatePolicyInput{PolicyName: aws.String("p2"), PolicyDocument: aws.String(`{"Statement":"no"}`)})
	wantAPIError(t, "CreatePolicy of a malformed document", err, "MalformedPolicyException", 400)
	gp := must(c.GetPolicy(bg, &iot.GetPolicyInput{PolicyName: aws.String("p1")}))(t)
	if aws.ToString(gp.DefaultVersionId) != "1" || gp.CreationDate == nil || aws.ToString(gp.PolicyDocument) != fleet.DefaultThingPolicy {
		t.Errorf("GetPolicy: %+v", gp)
	}

	certARN := keys.CertificateArn
	must(c.AttachPolicy(bg, &iot.AttachPolicyInput{PolicyName: aws.String("p1"), Target: certARN}))(t)
	must(c.AttachPolicy(bg, &iot.AttachPolicyInput{PolicyName: aws.String("p1"), Target: certARN}))(t)
	_, err = c.AttachPolicy(bg, &iot.AttachPolicyInput{PolicyName: aws.String("missing"), Target: certARN})
	wantAPIError(t, "AttachPolicy of an unknown policy", err, "ResourceNotFoundException", 404)
	lap := must(c.ListAttachedPolicies(bg, &iot.ListAttachedPoliciesInput{Target: certARN}))(t)
	if len(lap.Policies) != 1 || aws.ToString(lap.Policies[0].PolicyName) != "p1" || aws.ToString(lap.Policies[0].PolicyArn) != arn("policy/p1") {
		t.Errorf("ListAttachedPolicies: %+v", lap.Policies)
	}
	must(c.AttachThingPrincipal(bg, &iot.AttachThingPrincipalInput{ThingName: aws.String("lamp"), Principal: certARN}))(t)
	ltp := must(c.ListThingPrincipals(bg, &iot.ListThingPrincipalsInput{ThingName: aws.String("lamp")}))(t)
	if len(ltp.Principals) != 1 || ltp.Principals[0] != aws.ToString(certARN) {
		t.Errorf("ListThingPrincipals: %v", ltp.Principals)
	}
	lpt := must(c.ListPrincipalThings(bg, &iot.ListPrincipalThingsInput{Principal: certARN}))(t)
	if len(lpt.Things) != 1 || lpt.Things[0] != "lamp" {
		t.Errorf("ListPrincipalThings: %v", lpt.Things)
	}
	de := must(c.DescribeEndpoint(bg, &iot.DescribeEndpointInput{EndpointType: aws.String("iot:Data-ATS")}))(t)
	if aws.ToString(de.EndpointAddress) != e.Addr() {
		t.Errorf("DescribeEndpoint: %q, want the MQTT address %q", aws.ToString(de.EndpointAddress), e.Addr())
	}

	// Teardown in the wrong order first: AWS refuses each step.
	_, err = c.DeleteThing(bg, &iot.DeleteThingInput{ThingName: aws.String("lamp")})
	wantAPIError(t, "DeleteThing with a principal attached", err, "InvalidRequestException", 400)
	_, err = c.DeletePolicy(bg, &iot.DeletePolicyInput{PolicyName: aws.String("p1")})
	wantAPIError(t, "DeletePolicy while attached", err, "DeleteConflictException", 409)
	_, err = c.DeleteCertificate(bg, &iot.DeleteCertificateInput{CertificateId: aws.String(certID)})
	wantAPIError(t, "DeleteCertificate while ACTIVE", err, "CertificateStateException", 406)
	must(c.UpdateCertificate(bg, &iot.UpdateCertificateInput{CertificateId: aws.String(certID), NewStatus: types.CertificateStatusInactive}))(t)
	_, err = c.DeleteCertificate(bg, &iot.DeleteCertificateInput{CertificateId: aws.String(certID), ForceDelete: true})
	wantAPIError(t, "DeleteCertificate attached to a thing", err, "DeleteConflictException", 409)
	must(c.DetachThingPrincipal(bg, &iot.DetachThingPrincipalInput{ThingName: aws.String("lamp"), Principal: certARN}))(t)
	_, err = c.DeleteCertificate(bg, &iot.DeleteCertificateInput{CertificateId: aws.String(certID)})
	wantAPIError(t, "DeleteCertificate with a policy and no force", err, "DeleteConflictException", 409)
	must(c.DetachPolicy(bg, &iot.DetachPolicyInput{PolicyName: aws.String("p1"), Target: certARN}))(t)
	must(c.DeleteCertificate(bg, &iot.DeleteCertificateInput{CertificateId: aws.String(certID)}))(t)
	must(c.DeleteThing(bg, &iot.DeleteThingInput{ThingName: aws.String("lamp")}))(t)
	must(c.DeletePolicy(bg, &iot.DeletePolicyInput{PolicyName: aws.String("p1")}))(t)
	must(c.DeleteThing(bg, &iot.DeleteThingInput{ThingName: aws.String("lamp")}))(t) // absent: no error, as AWS

	if _, ok := e.Registry().Thing("lamp"); ok {
		t.Error("the registry still holds thing lamp")
	}
	if _, ok := e.Registry().Certificate(certID); ok {
		t.Error("the registry still holds the deleted certificate")
	}
	if _, ok := e.Registry().Policy("p1"); ok {
		t.Error("the registry still holds policy p1")
	}
}

func TestAPIListingsPageThroughEverything(t *testing.T) {
	e := startAPIEmulator(t, nil)
	c := iotClient(e)
	const n = 7
	for i := range n {
		must(c.CreateThing(bg, &iot.CreateThingInput{ThingName: aws.String(fleetName(i))}))(t)
		must(c.CreateKeysAndCertificate(bg, &iot.CreateKeysAndCertificateInput{SetAsActive: i%2 == 0}))(t)
	}
	var things []string
	p := iot.NewListThingsPaginator(c, &iot.ListThingsInput{MaxResults: aws.Int32(3)})
	for pages := 0; p.HasMorePages(); pages++ {
		out := must(p.NextPage(bg))(t)
		if len(out.Things) > 3 {
			t.Fatalf("page of %d things with maxResults 3", len(out.Things))
		}
		for _, th := range out.Things {
			things = append(things, aws.ToString(th.ThingName))
		}
	}
	if strings.Join(things, ",") != "t0,t1,t2,t3,t4,t5,t6" {
		t.Errorf("ListThings pages: %v", things)
	}
	var certs []types.Certificate
	cp := iot.NewListCertificatesPaginator(c, &iot.ListCertificatesInput{PageSize: aws.Int32(2), AscendingOrder: true})
	for cp.HasMorePages() {
		certs = append(certs, must(cp.NextPage(bg))(t).Certificates...)
	}
	if len(certs) != n {
		t.Fatalf("ListCertificates pages gave %d certificates, want %d", len(certs), n)
	}
	registered := e.Registry().CertificateList() // oldest first, ties by ID
	for i := range certs {
		if aws.ToString(certs[i].CertificateId) != registered[i].ID {
			t.Fatalf("ListCertificates ascendingOrder: certificate %d is %s, want the registry's order", i, aws.ToString(certs[i].CertificateId))
		}
	}
	newest := must(c.ListCertificates(bg, &iot.ListCertificatesInput{PageSize: aws.Int32(1)}))(t)
	if aws.ToString(newest.Certificates[0].CertificateId) != registered[len(registered)-1].ID {
		t.Errorf("ListCertificates without ascendingOrder starts with %s, want the newest", aws.ToString(newest.Certificates[0].CertificateId))
	}
	_, err := c.ListThings(bg, &iot.ListThingsInput{NextToken: aws.String("not-a-token")})
	wantAPIError(t, "ListThings with a foreign token", err, "InvalidRequestException", 400)
}

func fleetName(i int) string { return "t" + string(rune('0'+i)) }

// TestAPIThrottlesBeyondTheAccountQuotasUnderTheAWSProfile checks the
// "aws" limits profile: a burst of CreateThing beyond its quota is refused
// 400 ThrottlingException, which the SDK's standard retryer retries.
func TestAPIThrottlesBeyondTheAccountQuotasUnderTheAWSProfile(t *testing.T) {
	e := startAPIEmulator(t, func(c *Config) { c.Limits = LimitsAWS })
	cfg := awsConfig(e)
	cfg.Retryer = func() aws.Retryer { return aws.NopRetryer{} }
	c := iot.NewFromConfig(cfg)
	var throttled error
	for i := range 2 * int(fleet.ControlPlaneRates["CreateThing"]) {
		if _, err := c.CreateThing(bg, &iot.CreateThingInput{ThingName: aws.String("burst-" + fleetName(i%10) + fleetName(i/10))}); err != nil {
			throttled = err
			break
		}
	}
	if throttled == nil {
		t.Fatal("a burst of twice the CreateThing quota was never throttled")
	}
	wantAPIError(t, "CreateThing beyond its quota", throttled, "ThrottlingException", 400)
	if !retry.NewStandard().IsErrorRetryable(throttled) {
		t.Errorf("the SDK's standard retryer does not retry %v", throttled)
	}
}

// TestAPIMadeIdentityConnectsAndLosesItsConnectionWhenDeactivated makes a
// device entirely through the API (keys, thing, policy, attachments),
// connects with it over MQTT as its thing, then deactivates the
// certificate with UpdateCertificate: the live connection is closed. A
// registry opened on the same data directory, as another process would,
// sees what the API did.
func TestAPIMadeIdentityConnectsAndLosesItsConnectionWhenDeactivated(t *testing.T) {
	e := startAPIEmulator(t, nil)
	c := iotClient(e)
	must(c.CreateThing(bg, &iot.CreateThingInput{ThingName: aws.String("meter")}))(t)
	must(c.CreatePolicy(bg, &iot.CreatePolicyInput{PolicyName: aws.String("thing"), PolicyDocument: aws.String(fleet.DefaultThingPolicy)}))(t)
	keys := must(c.CreateKeysAndCertificate(bg, &iot.CreateKeysAndCertificateInput{SetAsActive: true}))(t)
	must(c.AttachPolicy(bg, &iot.AttachPolicyInput{PolicyName: aws.String("thing"), Target: keys.CertificateArn}))(t)
	must(c.AttachThingPrincipal(bg, &iot.AttachThingPrincipalInput{ThingName: aws.String("meter"), Principal: keys.CertificateArn}))(t)

	other := openTestRegistry(t, e.cfg.DataDir)
	if th, ok := other.Thing("meter"); !ok || len(th.Certificates) != 1 || th.Certificates[0] != aws.ToString(keys.CertificateId) {
		t.Fatalf("another registry on the data directory sees thing meter as %+v, %v", th, ok)
	}

	cert := must(tls.X509KeyPair([]byte(aws.ToString(keys.CertificatePem)), []byte(aws.ToString(keys.KeyPair.PrivateKey))))(t)
	id := identity{thing: "meter", certID: aws.ToString(keys.CertificateId), cert: cert}
	dev := dial5(t, e, id, "meter")
	if reasons := dev.subscribe(t, "$aws/things/meter/shadow/update/accepted"); reasons[0] > 1 {
		t.Fatalf("the thing policy refused the own shadow topic: reason %#x", reasons[0])
	}
	if _, err := tryDial5(e, id, "not-meter"); err == nil {
		t.Fatal("connected with a client ID other than the thing name; the thing policy allows only its own")
	}
	must(c.UpdateCertificate(bg, &iot.UpdateCertificateInput{CertificateId: keys.CertificateId, NewStatus: types.CertificateStatusInactive}))(t)
	dev.expectClosed(t)
	if _, err := other.Refresh(); err != nil {
		t.Fatal(err)
	}
	if c, _ := other.Certificate(id.certID); c.Status != StatusInactive {
		t.Errorf("another registry sees the deactivated certificate as %s", c.Status)
	}
	if _, err := tryDial5(e, id, "meter"); err == nil {
		t.Error("an INACTIVE certificate connected")
	}
}
