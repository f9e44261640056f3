package emulator

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/shadowload/shadowload/internal/awsdata"
)

// signedRequest is a request signed with the SDK's signer, as a client
// would send it, with its fields open to tampering before the send.
type signedRequest struct {
	method, path, body string
	service, region    string
	key, secret        string
	at                 time.Time
	// tamper changes the request after signing.
	tamper func(*http.Request)
}

// send signs and sends r to the emulator's API and returns the status,
// the error type and the message of the answer.
func (r signedRequest) send(t *testing.T, e *Emulator) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(r.method, e.APIURL()+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	sum := sha256.Sum256([]byte(r.body))
	creds := aws.Credentials{AccessKeyID: r.key, SecretAccessKey: r.secret}
	if err := v4.NewSigner().SignHTTP(bg, creds, req, hex.EncodeToString(sum[:]), r.service, r.region, r.at); err != nil {
		t.Fatal(err)
	}
	if r.tamper != nil {
		r.tamper(req)
	}
	resp, err := awsConfig(e).HTTPClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var doc struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &doc)
	typ, _, _ := strings.Cut(resp.Header.Get("X-Amzn-Errortype"), ":")
	return resp.StatusCode, typ, doc.Message
}

func TestAPISigV4RefusesWhatAWSRefuses(t *testing.T) {
	e := startAPIEmulator(t, nil)
	key, secret := e.APICredentials()
	now := time.Now()
	control := signedRequest{method: "POST", path: "/things/sig-test", body: "{}", service: "iot", region: e.Region(), key: key, secret: secret, at: now}
	data := signedRequest{method: "POST", path: "/things/sig-test/shadow", body: `{"state":{"reported":{"a":1}}}`, service: "iotdata", region: e.Region(), key: key, secret: secret, at: now}
	with := func(r signedRequest, f func(*signedRequest)) signedRequest { f(&r); return r }
	tests := []struct {
		name   string
		req    signedRequest
		status int
		typ    string
		msg    string
	}{
		{"control plane signed right", control, 200, "", ""},
		{"control plane signed as execute-api (CLI 2.9.19)", with(control, func(r *signedRequest) { r.service = "execute-api" }), 200, "", ""},
		{"data plane signed right", data, 200, "", ""},
		{"data plane signed as iotdevicegateway", with(data, func(r *signedRequest) { r.service = "iotdevicegateway" }), 200, "", ""},
		{"wrong secret", with(control, func(r *signedRequest) { r.secret = "wrong" }), 403, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"unknown access key", with(control, func(r *signedRequest) { r.key = "AKIAUNKNOWN" }), 403, "UnrecognizedClientException", "The security token included in the request is invalid."},
		{"signed ten minutes ago", with(control, func(r *signedRequest) { r.at = now.Add(-10 * time.Minute) }), 403, "InvalidSignatureException", "Signature expired: "},
		{"signed ten minutes ahead", with(control, func(r *signedRequest) { r.at = now.Add(10 * time.Minute) }), 403, "InvalidSignatureException", "Signature not yet current: "},
		{"another region", with(control, func(r *signedRequest) { r.region = "eu-west-1" }), 403, "InvalidSignatureException", "Credential should be scoped to a valid region, not 'eu-west-1'."},
		{"control plane signed for the data plane", with(control, func(r *signedRequest) { r.service = "iotdata" }), 403, "InvalidSignatureException", "Credential should be scoped to correct service: 'iot'."},
		{"body changed after signing", with(control, func(r *signedRequest) {
			r.tamper = func(req *http.Request) {
				req.Body = io.NopCloser(bytes.NewReader([]byte(`{"x":1}`)))
				req.ContentLength = 7
			}
		}), 403, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"path changed after signing", with(control, func(r *signedRequest) {
			r.tamper = func(req *http.Request) { req.URL.Path = "/things/other" }
		}), 403, "InvalidSignatureException", "The request signature we calculated does not match"},
		{"no signature", with(control, func(r *signedRequest) {
			r.tamper = func(req *http.Request) { req.Header.Del("Authorization") }
		}), 403, "MissingAuthenticationTokenException", "Missing Authentication Token"},
		{"data plane with the wrong secret", with(data, func(r *signedRequest) { r.secret = "wrong" }), 403, "ForbiddenException", "The request signature we calculated does not match"},
		{"data plane signed for the control plane", with(data, func(r *signedRequest) { r.service = "iot" }), 403, "ForbiddenException", "Credential should be scoped to correct service: 'iotdata'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, typ, msg := tt.req.send(t, e)
			if status != tt.status || typ != tt.typ || !strings.HasPrefix(msg, tt.msg) {
				t.Errorf("answer %d %q %q, want %d %q %q…", status, typ, msg, tt.status, tt.typ, tt.msg)
			}
		})
	}
}

// TestAPIWrongCredentialsFailThroughTheClients checks what the SDK and the
// data-plane client make of the refusals: AWS's error types.
func TestAPIWrongCredentialsFailThroughTheClients(t *testing.T) {
	e := startAPIEmulator(t, nil)
	cfg := awsConfig(e)
	cfg.Credentials = credentials.NewStaticCredentialsProvider(DefaultAccessKeyID, "not-the-secret", "")
	_, err := iot.NewFromConfig(cfg).DescribeEndpoint(bg, &iot.DescribeEndpointInput{})
	wantAPIError(t, "SDK with the wrong secret", err, "InvalidSignatureException", 403)
	dc, err := awsdata.New(cfg, e.APIURL())
	if err != nil {
		t.Fatal(err)
	}
	_, err = dc.GetThingShadow(bg, "t", "")
	wantAPIError(t, "data plane with the wrong secret", err, "ForbiddenException", 403)
}
