package awsdata

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
)

// newTestClient is a client of srv with fixed credentials and a retryer
// that does not wait between attempts.
func newTestClient(t *testing.T, srv *httptest.Server) *Client {
	t.Helper()
	c, err := New(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
		HTTPClient:  srv.Client(),
		Retryer: func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) { o.Backoff = noBackoff{} })
		},
	}, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type noBackoff struct{}

func (noBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

func TestErrorsAreReadAsTheSDKReadsThem(t *testing.T) {
	tests := []struct {
		name     string
		header   string
		body     string
		status   int
		wantCode string
		wantMsg  string
	}{
		{"type from the header, cut at the colon", "ResourceNotFoundException:", `{"message":"No shadow exists with name: 'x'"}`, 404, "ResourceNotFoundException", "No shadow exists with name: 'x'"},
		{"header beats a body code", "ConflictException:http://internal", `{"code":"Other","message":"Version conflict"}`, 409, "ConflictException", "Version conflict"},
		{"body __type after the #", "", `{"__type":"com.amazon#ThrottlingException","Message":"Rate exceeded"}`, 429, "ThrottlingException", "Rate exceeded"},
		{"no type at all: the status", "", `oops`, 503, "ServiceUnavailable", "oops"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header != "" {
					w.Header().Set("X-Amzn-ErrorType", tt.header)
				}
				w.Header().Set("X-Amzn-RequestId", "req-1")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			}))
			defer srv.Close()
			c := newTestClient(t, srv)
			c.retryer = func() aws.Retryer { return aws.NopRetryer{} }
			_, err := c.GetThingShadow(context.Background(), "t", "")
			var ae *APIError
			if !errors.As(err, &ae) || ae.Code != tt.wantCode || ae.Message != tt.wantMsg || ae.StatusCode != tt.status || ae.RequestID != "req-1" {
				t.Errorf("error %#v, want %s %q", err, tt.wantCode, tt.wantMsg)
			}
		})
	}
}

func TestThrottlingIsRetriedWithTheSDKsRetryer(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) < 3 {
			w.Header().Set("X-Amzn-ErrorType", "ThrottlingException:")
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`{"message":"Rate exceeded"}`))
			return
		}
		_, _ = w.Write([]byte(`{"version":1}`))
	}))
	defer srv.Close()
	body, err := newTestClient(t, srv).UpdateThingShadow(context.Background(), "t", "", []byte(`{"state":{}}`))
	if err != nil || string(body) != `{"version":1}` || calls.Load() != 3 {
		t.Errorf("after two throttles: %q, %v, %d calls; want the third call's answer", body, err, calls.Load())
	}
}

func TestRequestsAreSignedAndLabelsEscapedWhole(t *testing.T) {
	var path, auth, query string
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, auth, query = r.URL.EscapedPath(), r.Header.Get("Authorization"), r.URL.RawQuery
		_, _ = w.Write([]byte(`{}`))
	}))
	defer srv.Close()
	c := newTestClient(t, srv)
	if err := c.Publish(context.Background(), PublishInput{Topic: "$aws/things/t1/shadow/update", QoS: 1}); err != nil {
		t.Fatal(err)
	}
	if path != "/topics/%24aws%2Fthings%2Ft1%2Fshadow%2Fupdate" || query != "qos=1" {
		t.Errorf("publish went to %s?%s, want the topic as one escaped label", path, query)
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains(auth, "/us-east-1/iotdata/aws4_request") {
		t.Errorf("Authorization %q, want SigV4 for iotdata in us-east-1", auth)
	}
	if _, err := c.GetThingShadow(context.Background(), "t:1", "cfg"); err != nil {
		t.Fatal(err)
	}
	if path != "/things/t%3A1/shadow" || query != "name=cfg" {
		t.Errorf("get went to %s?%s", path, query)
	}
}
