package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/emulator"
	"github.com/shadowload/shadowload/fleet"
)

// apiEmulator serves an emulator with its HTTP API on loopback ports and
// puts its credentials in the environment, where the AWS SDK's standard
// chain finds them; nothing of the caller's AWS configuration is read.
// CreateKeysAndCertificate makes ECDSA keys, far cheaper than AWS's RSA.
func apiEmulator(t *testing.T) *emulator.Emulator {
	t.Helper()
	em, err := emulator.New(emulator.Config{DataDir: filepath.Join(t.TempDir(), "data"), Listen: "127.0.0.1:0",
		APIListen: "127.0.0.1:0", APIKeyType: fleet.KeyECDSA, HashMatchesDollar: true,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := em.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { em.Close() })
	id, secret := em.APICredentials()
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID": id, "AWS_SECRET_ACCESS_KEY": secret, "AWS_SESSION_TOKEN": "",
		"AWS_PROFILE": "", "AWS_REGION": "", "AWS_DEFAULT_REGION": "",
		"AWS_CONFIG_FILE": none, "AWS_SHARED_CREDENTIALS_FILE": none,
		"AWS_ENDPOINT_URL": "", "AWS_ENDPOINT_URL_IOT": "", "AWS_ENDPOINT_URL_IOT_DATA_PLANE": "", "AWS_CA_BUNDLE": "",
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
	return em
}

// apiArgs are the flags that point an AWS command at the emulator.
func apiArgs(em *emulator.Emulator) []string {
	return []string{"--endpoint-url", em.APIURL(), "--ca-bundle", em.RootCAPath(), "--region", em.Region()}
}

// TestAWSTargetProvisionsRunsAndDeprovisionsFiftyThings is the whole
// journey through the SDK code path against the emulator's API: provision
// 50 things, run a short scenario with the bundles it wrote, deprovision,
// and find the registry without any of them.
func TestAWSTargetProvisionsRunsAndDeprovisionsFiftyThings(t *testing.T) {
	em := apiEmulator(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "bundles")
	code, stdout, stderr := runCLI(t, append([]string{"provision", "--target", "aws", "--things", "50", "--out", out, "--rate", "1000/s", "--quiet"}, apiArgs(em)...)...)
	if code != exitOK || !strings.Contains(stdout, "50 things in "+out+" (50 made now") || !strings.Contains(stdout, "endpoint "+em.Addr()) {
		t.Fatalf("provision: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if things, certs := em.Registry().ThingList(), em.Registry().CertificateList(); len(things) != 50 || len(certs) != 50 {
		t.Fatalf("registry holds %d things and %d certificates, want 50 and 50", len(things), len(certs))
	}
	if strings.Contains(stdout+stderr, "PRIVATE KEY") {
		t.Error("provision printed a private key")
	}

	scenarioFile := writeFile(t, dir, "short.yaml", "name: short\nfleet: {things: 50}\nphases:\n  - {duration: 2s, rate: 50/s}\n"+lateIsNoise)
	report := filepath.Join(dir, "report.json")
	code, stdout, stderr = runCLI(t, "run", "--quiet", "--endpoint", em.Addr(), "--bundles", out, "--out", report, scenarioFile)
	if code != exitOK {
		t.Fatalf("run with the provisioned bundles: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if rep := readReport(t, report); rep.Latencies["update.accepted"].Count == 0 || rep.Counters["things.connected"] != 50 {
		t.Fatalf("the run connected %d things and had %d accepted updates, want 50 and some:\n%s",
			rep.Counters["things.connected"], rep.Latencies["update.accepted"].Count, stdout)
	}

	code, stdout, stderr = runCLI(t, append([]string{"deprovision", "--bundles", out, "--rate", "1000/s", "--quiet"}, apiArgs(em)...)...)
	if code != exitOK || !strings.Contains(stdout, "removed 50 things, 50 certificates, ") || !strings.Contains(stdout, "and 1 policy from") {
		t.Fatalf("deprovision: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if things, certs := em.Registry().ThingList(), em.Registry().CertificateList(); len(things) != 0 || len(certs) != 0 {
		t.Errorf("after deprovision the registry holds %d things and %d certificates", len(things), len(certs))
	}
	if _, ok := em.Registry().Policy(fleet.DefaultThingPolicyName); ok {
		t.Error("after deprovision the registry holds the policy provision created")
	}
	code, stdout, _ = runCLI(t, append([]string{"deprovision", "--bundles", out}, apiArgs(em)...)...)
	if code != exitOK || !strings.Contains(stdout, "nothing to deprovision") {
		t.Errorf("deprovision again: exit %d, %q", code, stdout)
	}
}

// TestKilledAWSProvisioningResumesToExactlyNThings kills a provisioning
// process (SIGKILL) twice while it runs, then runs it again to the end:
// the registry holds exactly N things and N certificates, each attached
// to its thing, and the bundles load.
func TestKilledAWSProvisioningResumesToExactlyNThings(t *testing.T) {
	const n = 40
	em := apiEmulator(t)
	out := filepath.Join(t.TempDir(), "bundles")
	args := append([]string{"provision", "--target", "aws", "--things", strconv.Itoa(n), "--out", out, "--rate", "40/s"}, apiArgs(em)...)
	for _, at := range []int{8, 24} {
		killAfter(t, args, "provisioned "+strconv.Itoa(at)+"/")
	}
	complete := 0
	for _, c := range em.Registry().CertificateList() {
		if len(c.Things) > 0 {
			complete++
		}
	}
	if complete >= n {
		t.Fatalf("the killed runs completed all %d things; the test needs them stopped midway", complete)
	}
	code, stdout, stderr := runCLI(t, append(args, "--quiet")...)
	if code != exitOK {
		t.Fatalf("resumed provision: exit %d\n%s\n%s", code, stdout, stderr)
	}
	t.Logf("resumed: %s%s", stdout, stderr)
	things, certs := em.Registry().ThingList(), em.Registry().CertificateList()
	if len(things) != n || len(certs) != n {
		t.Fatalf("registry holds %d things and %d certificates, want exactly %d and %d", len(things), len(certs), n, n)
	}
	for _, th := range things {
		if len(th.Certificates) != 1 {
			t.Errorf("thing %s has %d certificates, want 1", th.Name, len(th.Certificates))
		}
	}
	_, bundles, err := fleet.LoadBundles(out)
	if err != nil || len(bundles) != n {
		t.Fatalf("LoadBundles: %d bundles, %v", len(bundles), err)
	}
	for _, b := range bundles {
		if c, ok := em.Registry().Certificate(b.CertificateID); !ok || c.Thing != b.Thing || c.Status != emulator.StatusActive {
			t.Errorf("bundle %s: registry certificate %+v, %v", b.Thing, c, ok)
		}
	}
}

// killAfter starts the command as a process and kills it with SIGKILL once
// its stderr shows want.
func killAfter(t *testing.T, args []string, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], args...)
	cmd.Env = append(os.Environ(), asCLI+"=1")
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	seen := stderr.waitFor(regexpQuote(want))
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-seen:
		_ = cmd.Process.Kill()
		<-exited
	case err := <-exited:
		t.Fatalf("provision ended before %q: %v\n%s", want, err, stderr.String())
	case <-ctx.Done():
		t.Fatalf("no %q in 60s:\n%s", want, stderr.String())
	}
}

func regexpQuote(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`\.+*?()|[]{}^$`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func TestProvisionFlagsBelongToTheirTarget(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"aws flags for the emulator", []string{"provision", "--data", "d", "--things", "1", "--region", "us-east-1"}, "--region is for --target aws"},
		{"rate for the emulator", []string{"provision", "--data", "d", "--things", "1", "--rate", "5/s"}, "--rate is for --target aws"},
		{"data for aws", []string{"provision", "--target", "aws", "--data", "d", "--things", "1"}, "--data and --key are for --target emulator"},
		{"unknown target", []string{"provision", "--target", "gcp", "--things", "1"}, `--target "gcp"`},
		{"bad rate", []string{"provision", "--target", "aws", "--things", "1", "--rate", "fast"}, `--rate "fast"`},
		{"deprovision without a directory", []string{"deprovision"}, "--bundles DIR or --manifest FILE is required"},
		{"deprovision with both", []string{"deprovision", "--bundles", "a", "--manifest", "a/manifest.json"}, "not both"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tt.want)
			}
		})
	}
}

func TestPolicyAndEndpointCommands(t *testing.T) {
	code, stdout, _ := runCLI(t, "policy")
	if code != exitOK || stdout != fleet.DefaultThingPolicy {
		t.Errorf("policy: exit %d, printed %q", code, stdout)
	}
	code, stdout, _ = runCLI(t, "policy", "--observer")
	if code != exitOK || stdout != fleet.DefaultObserverPolicy {
		t.Errorf("policy --observer: exit %d, printed %q", code, stdout)
	}
	em := apiEmulator(t)
	code, stdout, stderr := runCLI(t, append([]string{"endpoint"}, apiArgs(em)...)...)
	if code != exitOK || stdout != em.Addr()+"\n" {
		t.Errorf("endpoint: exit %d, printed %q, want %q (%s)", code, stdout, em.Addr(), stderr)
	}
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wrong")
	code, _, stderr = runCLI(t, append([]string{"endpoint"}, apiArgs(em)...)...)
	if code != exitFailed || !strings.Contains(stderr, "InvalidSignatureException") {
		t.Errorf("endpoint with the wrong secret: exit %d, %s", code, stderr)
	}
}

// TestEnvironmentPointsTheAWSCommandsAtTheEmulator uses the SDK's own
// conventions instead of flags: AWS_ENDPOINT_URL_IOT, AWS_CA_BUNDLE and
// AWS_REGION send provisioning, its data-plane calls and deprovisioning to
// the emulator, and the bundles trust its CA.
func TestEnvironmentPointsTheAWSCommandsAtTheEmulator(t *testing.T) {
	em := apiEmulator(t)
	t.Setenv("AWS_ENDPOINT_URL_IOT", em.APIURL())
	t.Setenv("AWS_CA_BUNDLE", em.RootCAPath())
	t.Setenv("AWS_REGION", em.Region())
	out := filepath.Join(t.TempDir(), "bundles")
	cli := func(args ...string) (int, string, string) {
		var stdout, stderr strings.Builder
		e := &env{stdout: &stdout, stderr: &stderr, getenv: os.Getenv}
		return dispatch(e, args), stdout.String(), stderr.String()
	}
	if code, stdout, stderr := cli("provision", "--target", "aws", "--things", "3", "--out", out, "--rate", "1000/s", "--quiet"); code != exitOK {
		t.Fatalf("provision: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m, err := fleet.ReadManifest(out)
	if err != nil || m.RootCA != fleet.RootCAFileName || m.Endpoint != em.Addr() || len(m.Things) != 3 {
		t.Fatalf("manifest %+v, %v: want the emulator's CA, endpoint and 3 things", m, err)
	}
	if code, stdout, stderr := cli("deprovision", "--bundles", out, "--rate", "1000/s", "--quiet"); code != exitOK || !strings.Contains(stdout, "removed 3 things") {
		t.Fatalf("deprovision: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if things := em.Registry().ThingList(); len(things) != 0 {
		t.Errorf("%d things left", len(things))
	}
}
