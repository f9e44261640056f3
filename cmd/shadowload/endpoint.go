package main

import (
	"context"
	"fmt"

	"github.com/shadowload/shadowload/fleet/awsiot"
	"github.com/shadowload/shadowload/scenario"
)

// awsHelp is the paragraph of every AWS command's help on how it finds the
// account and how to point it at the emulator.
const awsHelp = `Credentials, profile and Region come from the AWS SDK's standard chain
(AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile, SSO, the
shared config and credentials files, instance roles); --region beats them.
--endpoint-url (or AWS_ENDPOINT_URL_IOT) sends every call, control plane and
data plane, to another server, such as the emulator's API started with
"shadowload emulator --api-listen 127.0.0.1:8443"; --ca-bundle (or
AWS_CA_BUNDLE) trusts its CA, DATA/ca/root-ca.pem.`

// awsFlags are the flags that say which account and endpoint to use.
type awsFlags struct {
	region, profile, endpointURL, caBundle *string
}

// addAWSFlags declares the account and endpoint flags on fs.
func addAWSFlags(fs *flagSet) *awsFlags {
	return &awsFlags{
		region:      fs.String("region", "", "AWS Region (default: AWS_REGION or the profile's)"),
		profile:     fs.String("profile", "", "shared-config profile (default: AWS_PROFILE or default)"),
		endpointURL: fs.String("endpoint-url", "", "send the API calls here instead of AWS, e.g. the emulator's https://127.0.0.1:8443"),
		caBundle:    fs.String("ca-bundle", "", "PEM file of CAs to trust for --endpoint-url (the emulator's DATA/ca/root-ca.pem)"),
	}
}

// given reports whether any account flag was set, for commands that
// refuse them for another target.
func (f *awsFlags) given(fs *flagSet) string {
	for _, name := range []string{"region", "profile", "endpoint-url", "ca-bundle"} {
		if fs.Changed(name) {
			return name
		}
	}
	return ""
}

// connect loads the SDK configuration; region, when not empty, is the
// Region to use when --region is not given.
func (f *awsFlags) connect(ctx context.Context, e *env, region string) (*awsiot.Account, error) {
	if *f.region != "" {
		region = *f.region
	}
	a, err := awsiot.Connect(ctx, awsiot.ConnectOptions{
		Region:      region,
		Profile:     *f.profile,
		EndpointURL: *f.endpointURL,
		CABundle:    *f.caBundle,
		Getenv:      e.getenv,
	})
	if err != nil {
		return nil, usageError{err}
	}
	return a, nil
}

// parseCallRate reads --rate: API calls per second of each operation.
func parseCallRate(cmd, s string) (float64, error) {
	r, err := scenario.ParseRate(s)
	if err != nil || r <= 0 {
		return 0, usagef("%s: --rate %q: want calls per second of each API operation, such as 10/s", cmd, s)
	}
	return float64(r), nil
}

// signalContext is a context that ends on SIGINT or SIGTERM, when the
// environment delivers them.
func signalContext(e *env) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	if e.notify == nil {
		return ctx, cancel
	}
	sigs, stop := e.notify()
	go func() {
		select {
		case <-sigs:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, func() { stop(); cancel() }
}

func runEndpoint(e *env, args []string) error {
	fs := newFlagSet(e, "endpoint",
		"shadowload endpoint [--region R] [flags]",
		`Print the account's MQTT data endpoint (DescribeEndpoint, iot:Data-ATS) as
host:port for "shadowload run --endpoint": AWS's address with port 8883, or
the emulator's MQTT address.

`+awsHelp,
		`  shadowload endpoint --region eu-west-1
  shadowload run scenarios/aws-example.yaml --endpoint "$(shadowload endpoint)" --bundles ./bundles
  shadowload endpoint --endpoint-url https://127.0.0.1:8443 --ca-bundle data/ca/root-ca.pem`)
	af := addAWSFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("endpoint: unexpected argument %q", fs.Arg(0))
	}
	ctx, stop := signalContext(e)
	defer stop()
	a, err := af.connect(ctx, e, "")
	if err != nil {
		return err
	}
	addr, err := a.MQTTEndpoint(ctx)
	if err != nil {
		return fmt.Errorf("endpoint: %w", err)
	}
	fmt.Fprintln(e.stdout, addr)
	return nil
}
