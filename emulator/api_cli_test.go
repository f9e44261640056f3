package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/shadowload/shadowload/fleet"
)

// awsCLI is the path of Debian's AWS CLI v2 (package awscli, 2.9.19),
// which .ci/run installs. Another "aws" may come first on PATH.
const awsCLI = "/usr/bin/aws"

// cliRunner runs the AWS CLI against one emulator with a private
// configuration: its own config and credentials files, the emulator's
// credentials and Region, and nothing from the caller's environment.
type cliRunner struct {
	e   *Emulator
	env []string
	dir string
}

func newCLIRunner(t *testing.T, e *Emulator) *cliRunner {
	t.Helper()
	if _, err := os.Stat(awsCLI); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing; .ci/run installs Debian's awscli", awsCLI)
		}
		t.Skipf("%s is missing (apt-get install awscli); CI runs this test", awsCLI)
	}
	dir := t.TempDir()
	id, secret := e.APICredentials()
	config := filepath.Join(dir, "config")
	creds := filepath.Join(dir, "credentials")
	if err := os.WriteFile(config, []byte("[default]\nregion = "+e.Region()+"\noutput = json\ncli_binary_format = raw-in-base64-out\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = "+id+"\naws_secret_access_key = "+secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &cliRunner{e: e, dir: dir, env: []string{
		"PATH=/usr/bin:/bin",
		"HOME=" + dir,
		"AWS_CONFIG_FILE=" + config,
		"AWS_SHARED_CREDENTIALS_FILE=" + creds,
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
	}}
}

// run runs "aws SERVICE OP ARGS... --endpoint-url URL --ca-bundle CA" and
// returns its exit code, stdout and stderr.
func (c *cliRunner) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	args = append(args, "--endpoint-url", c.e.APIURL(), "--ca-bundle", c.e.RootCAPath())
	cmd := exec.Command(awsCLI, args...)
	cmd.Env = c.env
	cmd.Dir = c.dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			return ee.ExitCode(), out.String(), errb.String()
		case err != nil:
			t.Fatalf("aws %v: %v", args, err)
		}
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("aws %v did not finish in 60s", args)
	}
	return 0, out.String(), errb.String()
}

// ok runs the CLI, fails the test unless it exits 0, and decodes its JSON
// output into v (when v is not nil).
func (c *cliRunner) ok(t *testing.T, v any, args ...string) {
	t.Helper()
	code, stdout, stderr := c.run(t, args...)
	if code != 0 {
		t.Fatalf("aws %s: exit %d\n%s", strings.Join(args, " "), code, stderr)
	}
	if v != nil {
		if err := json.Unmarshal([]byte(stdout), v); err != nil {
			t.Fatalf("aws %s: output %q: %v", strings.Join(args, " "), stdout, err)
		}
	}
}

// fails runs the CLI and checks it reports the AWS error typ of op, exit
// code 254, with a message starting with msg.
func (c *cliRunner) fails(t *testing.T, typ, op, msg string, args ...string) {
	t.Helper()
	code, _, stderr := c.run(t, args...)
	want := "An error occurred (" + typ + ") when calling the " + op + " operation: " + msg
	if code != 254 || !strings.Contains(stderr, want) {
		t.Errorf("aws %s: exit %d, stderr %q; want 254 and %q", strings.Join(args, " "), code, stderr, want)
	}
}

// outfile reads a file the CLI wrote (iot-data writes shadow documents to
// the positional outfile).
func (c *cliRunner) outfile(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, name))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %q: %v", name, data, err)
	}
	return m
}

// TestAWSCLIRunsAgainstTheEmulator drives the emulator with the real AWS
// CLI v2, as a user would with --endpoint-url and --ca-bundle: the control
// plane from an empty account to a device with a policy, then the shadow
// REST API, classic and named side by side, each with AWS's outputs and
// error codes. Each CLI call costs about a CPU-second of Python start-up,
// so the test makes each point once.
func TestAWSCLIRunsAgainstTheEmulator(t *testing.T) {
	// The CLI's certificates are AWS's: RSA 2048.
	e := startEmulator(t, func(c *Config) { c.APIListen = "127.0.0.1:0" })
	aws := newCLIRunner(t, e)

	var thing struct{ ThingName, ThingArn, ThingId string }
	aws.ok(t, &thing, "iot", "create-thing", "--thing-name", "cli-thing")
	if thing.ThingName != "cli-thing" || thing.ThingArn != "arn:aws:iot:us-east-1:123456789012:thing/cli-thing" || len(thing.ThingId) != 36 {
		t.Errorf("create-thing printed %+v", thing)
	}
	var keys struct {
		CertificateArn, CertificateId, CertificatePem string
		KeyPair                                       struct{ PublicKey, PrivateKey string }
	}
	aws.ok(t, &keys, "iot", "create-keys-and-certificate", "--set-as-active")
	if len(keys.CertificateId) != 64 || !strings.Contains(keys.KeyPair.PrivateKey, "PRIVATE KEY") || !strings.HasSuffix(keys.CertificateArn, ":cert/"+keys.CertificateId) {
		t.Fatalf("create-keys-and-certificate printed id %q arn %q", keys.CertificateId, keys.CertificateArn)
	}
	if err := e.Registry().EnsurePolicy(bg, "cli-policy", fleet.DefaultThingPolicy); err != nil {
		t.Fatal(err)
	}
	aws.ok(t, nil, "iot", "attach-policy", "--policy-name", "cli-policy", "--target", keys.CertificateArn)
	aws.ok(t, nil, "iot", "attach-thing-principal", "--thing-name", "cli-thing", "--principal", keys.CertificateArn)
	aws.fails(t, "ResourceNotFoundException", "AttachThingPrincipal", "Thing nope cannot be found.",
		"iot", "attach-thing-principal", "--thing-name", "nope", "--principal", keys.CertificateArn)
	var ep struct{ EndpointAddress string }
	aws.ok(t, &ep, "iot", "describe-endpoint", "--endpoint-type", "iot:Data-ATS")
	if ep.EndpointAddress != e.Addr() {
		t.Errorf("describe-endpoint printed %q, want %q", ep.EndpointAddress, e.Addr())
	}
	if c, _ := e.Registry().Certificate(keys.CertificateId); c.Status != StatusActive || c.Thing != "cli-thing" || len(c.Policies) != 1 {
		t.Errorf("registry after the CLI's attachments: %+v", c)
	}
	aws.ok(t, nil, "iot", "update-certificate", "--certificate-id", keys.CertificateId, "--new-status", "INACTIVE")
	if c, _ := e.Registry().Certificate(keys.CertificateId); c.Status != StatusInactive {
		t.Errorf("update-certificate left the certificate %s", c.Status)
	}

	t.Run("classic shadow", func(t *testing.T) {
		t.Parallel()
		shadow := []string{"--thing-name", "cli-thing"}
		aws.ok(t, nil, cliArgs("update-thing-shadow", shadow, "--payload", `{"state":{"reported":{"on":true}},"clientToken":"cli"}`, "classic-update.json")...)
		if up := aws.outfile(t, "classic-update.json"); up["version"] != 1.0 || up["clientToken"] != "cli" {
			t.Errorf("update-thing-shadow wrote %v", up)
		}
		aws.fails(t, "ConflictException", "UpdateThingShadow", "Version conflict",
			cliArgs("update-thing-shadow", shadow, "--payload", `{"state":{"reported":{"on":false}},"version":9}`, "classic-conflict.json")...)
		aws.ok(t, nil, cliArgs("get-thing-shadow", shadow, "classic-get.json")...)
		if got := aws.outfile(t, "classic-get.json"); got["version"] != 1.0 || !strings.Contains(mustMarshal(t, got["state"]), `"on":true`) {
			t.Errorf("get-thing-shadow wrote %v", got)
		}
		aws.ok(t, nil, cliArgs("delete-thing-shadow", shadow, "classic-delete.json")...)
		if del := aws.outfile(t, "classic-delete.json"); del["version"] != 1.0 {
			t.Errorf("delete-thing-shadow wrote %v", del)
		}
	})
	t.Run("named shadow", func(t *testing.T) {
		t.Parallel()
		shadow := []string{"--thing-name", "cli-thing", "--shadow-name", "cfg"}
		aws.ok(t, nil, cliArgs("update-thing-shadow", shadow, "--payload", `{"state":{"desired":{"fw":"2.1"}}}`, "named-update.json")...)
		if up := aws.outfile(t, "named-update.json"); up["version"] != 1.0 {
			t.Errorf("update-thing-shadow wrote %v", up)
		}
		aws.ok(t, nil, cliArgs("get-thing-shadow", shadow, "named-get.json")...)
		if got := aws.outfile(t, "named-get.json"); got["version"] != 1.0 || !strings.Contains(mustMarshal(t, got["state"]), `"delta":{"fw":"2.1"}`) {
			t.Errorf("get-thing-shadow wrote %v", got)
		}
		aws.ok(t, nil, cliArgs("delete-thing-shadow", shadow, "named-delete.json")...)
		if del := aws.outfile(t, "named-delete.json"); del["version"] != 1.0 {
			t.Errorf("delete-thing-shadow wrote %v", del)
		}
		aws.fails(t, "ResourceNotFoundException", "GetThingShadow", "No shadow exists with name: 'cfg'",
			cliArgs("get-thing-shadow", shadow, "named-gone.json")...)
	})
}

// cliArgs builds "iot-data OP SHADOW-ARGS REST...".
func cliArgs(op string, shadow []string, rest ...string) []string {
	return append(append([]string{"iot-data", op}, shadow...), rest...)
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
