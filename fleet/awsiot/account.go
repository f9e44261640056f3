package awsiot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/iot"

	"github.com/shadowload/shadowload/internal/awsdata"
)

// Retry settings of the SDK's standard retryer for fleet operations: more
// attempts and a longer backoff than its defaults, since a provisioning run
// of thousands of things must ride out bursts of throttling, and no retry
// quota, which would end such a run at its first long burst.
const (
	DefaultMaxAttempts = 10
	maxBackoff         = 20 * time.Second
)

// callTimeout bounds one HTTP request to the APIs, so that a server that
// stops answering fails the call (which the retryer may retry) instead of
// hanging the run.
const callTimeout = 60 * time.Second

// MQTTPort is the port of AWS IoT Core's MQTT endpoint over mutual TLS.
const MQTTPort = "8883"

// Environment variables the SDK reads for endpoint overrides.
const (
	envEndpointURL      = "AWS_ENDPOINT_URL"
	envEndpointURLIoT   = "AWS_ENDPOINT_URL_IOT"
	envEndpointURLData  = "AWS_ENDPOINT_URL_IOT_DATA_PLANE"
	envCABundle         = "AWS_CA_BUNDLE"
	dataEndpointTypeATS = "iot:Data-ATS"
)

// ConnectOptions say which account and endpoint to use. The zero value is
// the standard credential chain, the default profile and Region, and AWS's
// endpoints.
type ConnectOptions struct {
	// Region overrides the profile's or AWS_REGION.
	Region string
	// Profile names a shared-config profile; "" is AWS_PROFILE or default.
	Profile string
	// EndpointURL overrides the control plane's URL, and the data plane's
	// unless DataEndpointURL is set: the emulator serves both on one
	// listener. AWS_ENDPOINT_URL_IOT and AWS_ENDPOINT_URL do the same.
	EndpointURL string
	// DataEndpointURL overrides the data plane's URL; otherwise
	// AWS_ENDPOINT_URL_IOT_DATA_PLANE, the control plane's override, or
	// https:// and the account's iot:Data-ATS endpoint.
	DataEndpointURL string
	// CABundle is a PEM file of CAs to trust for the HTTPS APIs (the
	// emulator's root CA); "" is AWS_CA_BUNDLE or the system roots.
	CABundle string
	// MaxAttempts is the SDK retryer's attempts per call; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Getenv reads the environment; nil means os.Getenv.
	Getenv func(string) string
}

// Account is a connection to one account's AWS IoT Core APIs, or to the
// emulator's.
type Account struct {
	// Config is the SDK configuration: credentials, Region, retryer.
	Config aws.Config
	// IoT is the control-plane client.
	IoT *iot.Client

	opts       ConnectOptions
	overridden string // the control plane's endpoint override, "" for AWS's

	mu   sync.Mutex
	data *awsdata.Client
}

// Connect loads the SDK configuration (credentials, profile, Region, CA
// bundle) and makes the clients. It calls no API.
func Connect(ctx context.Context, opts ConnectOptions) (*Account, error) {
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = DefaultMaxAttempts
	}
	attempts := opts.MaxAttempts
	load := []func(*config.LoadOptions) error{
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(callTimeout)),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = maxBackoff
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if opts.Region != "" {
		load = append(load, config.WithRegion(opts.Region))
	}
	if opts.Profile != "" {
		load = append(load, config.WithSharedConfigProfile(opts.Profile))
	}
	if opts.CABundle != "" {
		pem, err := os.ReadFile(opts.CABundle)
		if err != nil {
			return nil, fmt.Errorf("awsiot: CA bundle: %w", err)
		}
		load = append(load, config.WithCustomCABundle(bytes.NewReader(pem)))
	}
	if opts.EndpointURL != "" {
		load = append(load, config.WithBaseEndpoint(opts.EndpointURL))
	}
	cfg, err := config.LoadDefaultConfig(ctx, load...)
	if err != nil {
		return nil, fmt.Errorf("awsiot: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, errors.New("awsiot: no AWS Region: give --region, set AWS_REGION, or set region in the profile")
	}
	a := &Account{Config: cfg, IoT: iot.NewFromConfig(cfg), opts: opts}
	switch {
	case opts.EndpointURL != "":
		a.overridden = opts.EndpointURL
	case opts.Getenv(envEndpointURLIoT) != "":
		a.overridden = opts.Getenv(envEndpointURLIoT)
	case opts.Getenv(envEndpointURL) != "":
		a.overridden = opts.Getenv(envEndpointURL)
	}
	return a, nil
}

// Region returns the account's Region.
func (a *Account) Region() string { return a.Config.Region }

// Overridden returns the control plane's endpoint override (the emulator's
// URL), "" when the calls go to AWS.
func (a *Account) Overridden() string { return a.overridden }

// CABundlePath returns the CA bundle trusted for the APIs: the option's or
// AWS_CA_BUNDLE, "" for the system roots.
func (a *Account) CABundlePath() string {
	if a.opts.CABundle != "" {
		return a.opts.CABundle
	}
	return a.opts.Getenv(envCABundle)
}

// DescribeDataEndpoint returns the account's iot:Data-ATS endpoint address
// as AWS gives it (PREFIX-ats.iot.REGION.amazonaws.com; the emulator's
// carries its port).
func (a *Account) DescribeDataEndpoint(ctx context.Context) (string, error) {
	out, err := a.IoT.DescribeEndpoint(ctx, &iot.DescribeEndpointInput{EndpointType: aws.String(dataEndpointTypeATS)})
	if err != nil {
		return "", fmt.Errorf("awsiot: DescribeEndpoint: %w", err)
	}
	addr := aws.ToString(out.EndpointAddress)
	if addr == "" {
		return "", errors.New("awsiot: DescribeEndpoint returned no address")
	}
	return addr, nil
}

// MQTTEndpoint returns the data endpoint as host:port for MQTT clients:
// AWS's address with port 8883, or the emulator's as it gives it.
func (a *Account) MQTTEndpoint(ctx context.Context) (string, error) {
	addr, err := a.DescribeDataEndpoint(ctx)
	if err != nil {
		return "", err
	}
	return withMQTTPort(addr), nil
}

// withMQTTPort adds port 8883 to an address without a port.
func withMQTTPort(addr string) string {
	if _, _, err := net.SplitHostPort(addr); err == nil {
		return addr
	}
	return net.JoinHostPort(strings.Trim(addr, "[]"), MQTTPort)
}

// Data returns the data-plane client, resolving its endpoint on first use.
func (a *Account) Data(ctx context.Context) (*awsdata.Client, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.data != nil {
		return a.data, nil
	}
	url := a.opts.DataEndpointURL
	if url == "" {
		url = a.opts.Getenv(envEndpointURLData)
	}
	if url == "" {
		url = a.overridden
	}
	if url == "" {
		addr, err := a.DescribeDataEndpoint(ctx)
		if err != nil {
			return nil, err
		}
		url = "https://" + addr
	}
	c, err := awsdata.New(a.Config, url)
	if err != nil {
		return nil, err
	}
	a.data = c
	return c, nil
}
