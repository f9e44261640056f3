package emulator

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"
	"github.com/aws/smithy-go"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/awsdata"
)

// startAPIEmulator runs an emulator serving the HTTP API on a loopback
// port. CreateKeysAndCertificate makes ECDSA keys, which cost far less
// than AWS's RSA ones, unless mod says otherwise.
func startAPIEmulator(t testing.TB, mod func(*Config)) *Emulator {
	t.Helper()
	return startEmulator(t, func(c *Config) {
		c.APIListen = "127.0.0.1:0"
		c.APIKeyType = fleet.KeyECDSA
		if mod != nil {
			mod(c)
		}
	})
}

// awsConfig is an SDK configuration for the emulator's API: its
// credentials and Region, an HTTP client trusting its CA, and the SDK's
// standard retryer.
func awsConfig(e *Emulator) aws.Config {
	id, secret := e.APICredentials()
	return aws.Config{
		Region:       e.Region(),
		Credentials:  credentials.NewStaticCredentialsProvider(id, secret, ""),
		BaseEndpoint: aws.String(e.APIURL()),
		HTTPClient: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			TLSClientConfig: &tls.Config{RootCAs: e.CA().Pool()},
		}},
		Retryer: func() aws.Retryer { return retry.NewStandard() },
	}
}

// iotClient is the SDK's control-plane client for the emulator.
func iotClient(e *Emulator) *iot.Client { return iot.NewFromConfig(awsConfig(e)) }

// dataClient is the data-plane client for the emulator.
func dataClient(t testing.TB, e *Emulator) *awsdata.Client {
	t.Helper()
	c, err := awsdata.New(awsConfig(e), e.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// apiErrorCode returns the AWS error type of err, "" for none.
func apiErrorCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// httpStatus returns the HTTP status an SDK or awsdata error carries.
func httpStatus(err error) int {
	var hs interface{ HTTPStatusCode() int }
	if errors.As(err, &hs) {
		return hs.HTTPStatusCode()
	}
	return 0
}

// wantAPIError fails the test unless err is the AWS error typ with status.
func wantAPIError(t testing.TB, what string, err error, typ string, status int) {
	t.Helper()
	if apiErrorCode(err) != typ || httpStatus(err) != status {
		t.Errorf("%s: error %v (type %q, status %d), want %s %d", what, err, apiErrorCode(err), httpStatus(err), typ, status)
	}
}

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

// bg is the context of API calls in tests.
var bg = context.Background()
