package awsiot

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
)

var bg = context.Background()

// startEmulator runs an emulator with its HTTP API on loopback ports.
func startEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	em, err := emulator.New(emulator.Config{DataDir: t.TempDir(), Listen: "127.0.0.1:0", APIListen: "127.0.0.1:0",
		APIKeyType: fleet.KeyECDSA, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	return em
}

// connect connects to the emulator's API the way the commands do: the
// standard chain, here the environment's credentials, and the endpoint and
// CA bundle overrides.
func connect(t *testing.T, em *emulator.Emulator) *Account {
	t.Helper()
	id, secret := em.APICredentials()
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_CONFIG_FILE": filepath.Join(dir, "none"), "AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "none"),
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_IOT": "", "AWS_ENDPOINT_URL_IOT_DATA_PLANE": "", "AWS_CA_BUNDLE": "",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	a, err := Connect(bg, ConnectOptions{Region: em.Region(), EndpointURL: em.APIURL(), CABundle: em.RootCAPath()})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// rootCA reads the emulator's root CA.
func rootCA(t *testing.T, em *emulator.Emulator) []byte {
	t.Helper()
	b, err := os.ReadFile(em.RootCAPath())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fleetOf returns the things and certificates the registry holds.
func fleetOf(em *emulator.Emulator) (things []emulator.Thing, certs []emulator.Certificate) {
	return em.Registry().ThingList(), em.Registry().CertificateList()
}

func TestProvisionWritesWorkingBundlesAndDeprovisionEmptiesTheAccount(t *testing.T) {
	em := startEmulator(t)
	a := connect(t, em)
	out := filepath.Join(t.TempDir(), "bundles")
	var progress []int
	res, err := Provision(bg, a, ProvisionOptions{Things: 12, OutDir: out, RootCAPEM: rootCA(t, em), Rate: 1000,
		Progress: func(done, _ int) { progress = append(progress, done) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Created != 12 || res.Complete != 0 || !res.PolicyCreated || len(progress) != 12 || progress[11] != 12 {
		t.Errorf("result %+v, progress %v", res, progress)
	}
	m := res.Manifest
	if m.Endpoint != em.Addr() || m.Region != em.Region() || m.RootCA != fleet.RootCAFileName || !slices.Equal(m.CreatedPolicies, []string{fleet.DefaultThingPolicyName}) {
		t.Errorf("manifest endpoint %q region %q root %q created %v", m.Endpoint, m.Region, m.RootCA, m.CreatedPolicies)
	}
	roots, bundles, err := fleet.LoadBundles(out)
	if err != nil || roots == nil || len(bundles) != 12 {
		t.Fatalf("LoadBundles: %d bundles, roots %v, %v", len(bundles), roots != nil, err)
	}
	info, err := os.Stat(filepath.Join(out, "sim-00000", fleet.PrivateKeyFileName))
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("private key mode %v, %v; want 0600", info.Mode().Perm(), err)
	}
	things, certs := fleetOf(em)
	if len(things) != 12 || len(certs) != 12 {
		t.Fatalf("registry holds %d things and %d certificates, want 12 and 12", len(things), len(certs))
	}
	for _, b := range bundles {
		c, ok := em.Registry().Certificate(b.CertificateID)
		if !ok || c.Status != emulator.StatusActive || c.Thing != b.Thing || !slices.Equal(c.Policies, []string{fleet.DefaultThingPolicyName}) {
			t.Errorf("%s: registry certificate %+v", b.Thing, c)
		}
	}
	if _, err := os.Stat(filepath.Join(out, JournalFileName)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a finished run left its journal: %v", err)
	}

	again, err := Provision(bg, a, ProvisionOptions{Things: 12, OutDir: out, RootCAPEM: rootCA(t, em), Rate: 1000})
	if err != nil || again.Complete != 12 || again.Created != 0 || again.PolicyCreated {
		t.Fatalf("second run: %+v, %v; want every thing complete", again, err)
	}
	if _, certs := fleetOf(em); len(certs) != 12 {
		t.Fatalf("second run: %d certificates, want 12", len(certs))
	}

	data := must(a.Data(bg))(t)
	for _, thing := range []string{"sim-00001", "sim-00007"} {
		for _, name := range []string{"", "cfg", "fw"} {
			must(data.UpdateThingShadow(bg, thing, name, []byte(`{"state":{"reported":{"shadowload_ns":1}}}`)))(t)
		}
	}
	rep, err := Deprovision(bg, a, DeprovisionOptions{OutDir: out, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Things != 12 || rep.Certificates != 12 || rep.Shadows != 6 || rep.Policies != 1 || rep.Remaining != 0 || len(rep.Failures) != 0 {
		t.Errorf("deprovision report %+v", rep)
	}
	things, certs = fleetOf(em)
	if len(things) != 0 || len(certs) != 0 {
		t.Errorf("after deprovision the registry holds %d things and %d certificates", len(things), len(certs))
	}
	if _, ok := em.Registry().Policy(fleet.DefaultThingPolicyName); ok {
		t.Error("the created policy is still there")
	}
	if _, err := data.GetThingShadow(bg, "sim-00001", "cfg"); !isNotFound(err) {
		t.Errorf("named shadow after deprovision: %v, want not found", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the emptied bundles directory is still there: %v", err)
	}
}

// TestProvisionDeletesTheCertificateAnInterruptedRunLost sets the scene a
// run killed during CreateKeysAndCertificate leaves, a journal entry and a
// certificate nobody has the key of, and checks that the next run deletes
// that certificate and ends with one certificate per thing.
func TestProvisionDeletesTheCertificateAnInterruptedRunLost(t *testing.T) {
	em := startEmulator(t)
	a := connect(t, em)
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, JournalFileName),
		[]byte(`{"op":"pending","thing":"sim-00002","time":`+itoa(time.Now().Unix())+`}`+"\n"+`{"op":"pend`), 0o600); err != nil {
		t.Fatal(err)
	}
	lost := must(a.IoT.CreateKeysAndCertificate(bg, &iot.CreateKeysAndCertificateInput{SetAsActive: true}))(t)
	var logs []string
	res, err := Provision(bg, a, ProvisionOptions{Things: 4, OutDir: out, Rate: 1000,
		Logf: func(f string, args ...any) { logs = append(logs, f) }})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.OrphansDeleted, []string{aws.ToString(lost.CertificateId)}) || len(res.OrphansLeft) != 0 {
		t.Errorf("orphans deleted %v left %v, want the lost certificate deleted (logs %q)", res.OrphansDeleted, res.OrphansLeft, logs)
	}
	things, certs := fleetOf(em)
	if len(things) != 4 || len(certs) != 4 {
		t.Errorf("registry holds %d things and %d certificates, want 4 and 4", len(things), len(certs))
	}
}

func TestProvisionLeavesUnattachedCertificatesItCannotTellFromAnotherUsers(t *testing.T) {
	em := startEmulator(t)
	a := connect(t, em)
	out := t.TempDir()
	if err := os.WriteFile(filepath.Join(out, JournalFileName),
		[]byte(`{"op":"pending","thing":"sim-00000","time":`+itoa(time.Now().Unix())+`}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		must(a.IoT.CreateKeysAndCertificate(bg, &iot.CreateKeysAndCertificateInput{SetAsActive: true}))(t)
	}
	res, err := Provision(bg, a, ProvisionOptions{Things: 2, OutDir: out, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.OrphansDeleted) != 0 || len(res.OrphansLeft) != 2 {
		t.Errorf("orphans deleted %v left %v, want none deleted and both reported", res.OrphansDeleted, res.OrphansLeft)
	}
	if _, certs := fleetOf(em); len(certs) != 4 {
		t.Errorf("registry holds %d certificates, want the 2 unknown ones and 2 new", len(certs))
	}
}

func TestProvisionRefusesAnExistingPolicyWithAnotherDocument(t *testing.T) {
	em := startEmulator(t)
	a := connect(t, em)
	must(a.IoT.CreatePolicy(bg, &iot.CreatePolicyInput{PolicyName: aws.String("shadowload-thing"),
		PolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"iot:Connect","Resource":"*"}]}`)}))(t)
	_, err := Provision(bg, a, ProvisionOptions{Things: 1, OutDir: t.TempDir(), Rate: 1000})
	if err == nil || !strings.Contains(err.Error(), "already exists with another document") {
		t.Fatalf("err %v, want a refusal naming the other document", err)
	}
	if things, _ := fleetOf(em); len(things) != 0 {
		t.Errorf("%d things made despite the refusal", len(things))
	}
	// The same document, formatted otherwise, is accepted and not deleted
	// by deprovisioning, which did not create it.
	must(a.IoT.DeletePolicy(bg, &iot.DeletePolicyInput{PolicyName: aws.String("shadowload-thing")}))(t)
	compact := strings.Join(strings.Fields(fleet.DefaultThingPolicy), "")
	must(a.IoT.CreatePolicy(bg, &iot.CreatePolicyInput{PolicyName: aws.String("shadowload-thing"), PolicyDocument: aws.String(compact)}))(t)
	out := t.TempDir()
	res, err := Provision(bg, a, ProvisionOptions{Things: 1, OutDir: out, Rate: 1000})
	if err != nil || res.PolicyCreated {
		t.Fatalf("existing equal policy: %+v, %v", res, err)
	}
	rep, err := Deprovision(bg, a, DeprovisionOptions{OutDir: out, Rate: 1000})
	if err != nil || rep.Policies != 0 || rep.Things != 1 {
		t.Fatalf("deprovision: %+v, %v", rep, err)
	}
	if _, ok := em.Registry().Policy("shadowload-thing"); !ok {
		t.Error("deprovision deleted a policy it did not create")
	}
}

// TestDeprovisionReportsWhatItCannotRemoveAndFinishesOnARerun attaches a
// certificate of someone else's to a provisioned thing: the thing cannot
// be deleted, stays in the manifest and is reported; once the stranger's
// certificate is detached, a second run removes it.
func TestDeprovisionReportsWhatItCannotRemoveAndFinishesOnARerun(t *testing.T) {
	conflictAttempts = 2
	t.Cleanup(func() { conflictAttempts = 9 })
	em := startEmulator(t)
	a := connect(t, em)
	out := t.TempDir()
	must(Provision(bg, a, ProvisionOptions{Things: 3, OutDir: out, Rate: 1000}))(t)
	stranger := must(a.IoT.CreateKeysAndCertificate(bg, &iot.CreateKeysAndCertificateInput{}))(t)
	must(a.IoT.AttachThingPrincipal(bg, &iot.AttachThingPrincipalInput{ThingName: aws.String("sim-00001"), Principal: stranger.CertificateArn}))(t)

	rep, err := Deprovision(bg, a, DeprovisionOptions{OutDir: out, Rate: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Things != 2 || rep.Remaining != 1 || len(rep.Failures) != 1 || !strings.Contains(rep.Failures[0], "thing sim-00001") {
		t.Fatalf("report %+v, want sim-00001 reported and kept", rep)
	}
	m, err := fleet.ReadManifest(out)
	if err != nil || len(m.Things) != 1 || m.Things[0].Name != "sim-00001" || len(m.CreatedPolicies) != 1 {
		t.Fatalf("manifest after a partial deprovision: %+v, %v", m, err)
	}
	must(a.IoT.DetachThingPrincipal(bg, &iot.DetachThingPrincipalInput{ThingName: aws.String("sim-00001"), Principal: stranger.CertificateArn}))(t)
	rep, err = Deprovision(bg, a, DeprovisionOptions{OutDir: out, Rate: 1000})
	if err != nil || rep.Things != 1 || rep.AlreadyGone != 1 || rep.Policies != 1 || len(rep.Failures) != 0 {
		t.Fatalf("second run: %+v, %v; want the thing removed, its certificate already gone and the policy deleted", rep, err)
	}
	if things, _ := fleetOf(em); len(things) != 0 {
		t.Errorf("%d things left", len(things))
	}
}

// TestProvisionRunsAtTheRateItIsGiven checks the pacing: 6 things at 20
// per second take at least the 5 intervals between their calls of each
// operation.
func TestProvisionRunsAtTheRateItIsGiven(t *testing.T) {
	em := startEmulator(t)
	a := connect(t, em)
	start := time.Now()
	must(Provision(bg, a, ProvisionOptions{Things: 6, OutDir: t.TempDir(), Rate: 20}))(t)
	if took := time.Since(start); took < 5*time.Second/20 {
		t.Errorf("6 things at 20/s took %v, want at least %v", took, 5*time.Second/20)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// must takes a call's results and returns a function that fails the test
// on its error or else returns its value: must(c.Op(ctx, in))(t).
func must[T any](v T, err error) func(testing.TB) T {
	return func(t testing.TB) T {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
}
