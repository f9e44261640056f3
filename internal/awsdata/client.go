package awsdata

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/smithy-go/encoding/httpbinding"
)

// SigningName is the service name data-plane requests are signed for.
const SigningName = "iotdata"

// maxResponseBytes bounds a response body: a shadow document is at most a
// few tens of kilobytes, an error body far less.
const maxResponseBytes = 1 << 20

// Client calls the AWS IoT data plane of one endpoint. It is safe for
// concurrent use.
type Client struct {
	base    *url.URL
	region  string
	creds   aws.CredentialsProvider
	http    aws.HTTPClient
	retryer func() aws.Retryer
	signer  *v4.Signer
	now     func() time.Time
}

// New returns a client of the data endpoint, an https URL such as
// https://a1b2c3-ats.iot.us-east-1.amazonaws.com (the address
// DescribeEndpoint gives for iot:Data-ATS) or the emulator's API URL.
// cfg gives the region, credentials, HTTP client and retryer.
func New(cfg aws.Config, endpoint string) (*Client, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("awsdata: endpoint %q: %w", endpoint, err)
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("awsdata: endpoint %q: want an https URL such as https://PREFIX-ats.iot.REGION.amazonaws.com", endpoint)
	}
	if cfg.Region == "" {
		return nil, errors.New("awsdata: no region: set one in the AWS config, AWS_REGION or a flag")
	}
	if cfg.Credentials == nil {
		return nil, errors.New("awsdata: no credentials provider in the AWS config")
	}
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	c := &Client{
		base:    u,
		region:  cfg.Region,
		creds:   cfg.Credentials,
		http:    cfg.HTTPClient,
		retryer: cfg.Retryer,
		signer:  v4.NewSigner(),
		now:     time.Now,
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.retryer == nil {
		c.retryer = func() aws.Retryer { return retry.NewStandard() }
	}
	return c, nil
}

// Endpoint returns the endpoint URL the client calls.
func (c *Client) Endpoint() string { return c.base.String() }

// request is one data-plane call.
type request struct {
	op     string
	method string
	// labels are the path segments, unescaped; each is escaped whole, so a
	// label holding "/" stays one segment.
	labels []string
	query  url.Values
	header http.Header
	body   []byte
}

// do sends r, retrying what the retryer deems retryable with its backoff,
// and returns the response body of a 2xx answer.
func (c *Client) do(ctx context.Context, r request) ([]byte, error) {
	retryer := c.retryer()
	for attempt := 1; ; attempt++ {
		body, err := c.once(ctx, r)
		if err == nil {
			return body, nil
		}
		if ctx.Err() != nil || attempt >= retryer.MaxAttempts() || !retryer.IsErrorRetryable(err) {
			return nil, err
		}
		delay, derr := retryer.RetryDelay(attempt, err)
		if derr != nil {
			return nil, err
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("awsdata: %s: %w (after %v)", r.op, ctx.Err(), err)
		case <-t.C:
		}
	}
}

// once signs and sends r once.
func (c *Client) once(ctx context.Context, r request) ([]byte, error) {
	u := *c.base
	var raw, plain strings.Builder
	raw.WriteString(c.base.EscapedPath())
	plain.WriteString(c.base.Path)
	for _, l := range r.labels {
		raw.WriteString("/" + httpbinding.EscapePath(l, true))
		plain.WriteString("/" + l)
	}
	u.Path, u.RawPath = plain.String(), raw.String()
	u.RawQuery = r.query.Encode()

	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), bytes.NewReader(r.body))
	if err != nil {
		return nil, fmt.Errorf("awsdata: %s: %w", r.op, err)
	}
	req.URL = &u
	req.ContentLength = int64(len(r.body))
	if len(r.body) == 0 && r.method == http.MethodGet {
		req.Body = http.NoBody
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if len(r.body) > 0 {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	creds, err := c.creds.Retrieve(ctx)
	if err != nil {
		return nil, fmt.Errorf("awsdata: %s: retrieve credentials: %w", r.op, err)
	}
	sum := sha256.Sum256(r.body)
	if err := c.signer.SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), SigningName, c.region, c.now()); err != nil {
		return nil, fmt.Errorf("awsdata: %s: sign: %w", r.op, err)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, &RequestError{Op: r.op, Err: err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return nil, &RequestError{Op: r.op, Err: fmt.Errorf("read response: %w", err)}
	}
	if len(body) > maxResponseBytes {
		return nil, &RequestError{Op: r.op, Err: fmt.Errorf("response body exceeds %d bytes", maxResponseBytes)}
	}
	if resp.StatusCode/100 != 2 {
		return nil, parseError(r.op, resp, body)
	}
	return body, nil
}

// RequestError is a call that got no answer from the service: the
// connection failed or broke. The SDK's retryer retries these.
type RequestError struct {
	Op  string
	Err error
}

func (e *RequestError) Error() string { return "awsdata: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the transport's error.
func (e *RequestError) Unwrap() error { return e.Err }
