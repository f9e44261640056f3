package fleet

// ControlPlaneRates are AWS IoT Core's default rate quotas of the
// control-plane operations shadowload uses, in requests per second per
// account and Region: the 2019 quota table of the AWS IoT developer guide,
// the last one published in full (current defaults may be higher).
// Provisioning paces itself below them; the emulator's "aws" limits
// profile enforces them with 400 ThrottlingException.
var ControlPlaneRates = map[string]float64{
	"CreateThing":              15,
	"DescribeThing":            350,
	"ListThings":               10,
	"DeleteThing":              15,
	"CreateKeysAndCertificate": 15, // "device certificates registered per second"
	"DescribeCertificate":      10,
	"UpdateCertificate":        10,
	"DeleteCertificate":        10,
	"ListCertificates":         10,
	"CreatePolicy":             10,
	"GetPolicy":                10,
	"DeletePolicy":             10,
	"AttachPolicy":             15,
	"DetachPolicy":             15,
	"ListAttachedPolicies":     15,
	"AttachThingPrincipal":     15,
	"DetachThingPrincipal":     15,
	"ListThingPrincipals":      10,
	"ListPrincipalThings":      10,
}

// DefaultProvisionRate is how many things per second provisioning and
// deprovisioning handle by default: each thing costs one call of each of
// several operations, so the slowest of them, UpdateCertificate and
// DeleteCertificate at 10 per second, sets the pace.
const DefaultProvisionRate = 10
