package emulator

import (
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/shadowload/shadowload/fleet"
	"github.com/shadowload/shadowload/internal/iotcore"
)

// LimitsProfile selects which AWS limits the emulator enforces beyond the
// protocol limits it always applies.
type LimitsProfile string

// Limits profiles.
const (
	// LimitsDefault adds the shadow service limits (20 requests/s per shadow,
	// 10 in-flight requests per connection) to the protocol limits.
	LimitsDefault LimitsProfile = "default"
	// LimitsAWS adds, per connection, 100 publishes/s (in + out) and
	// 512 KiB/s to LimitsDefault.
	LimitsAWS LimitsProfile = "aws"
	// LimitsNone enforces the protocol limits only.
	LimitsNone LimitsProfile = "none"
)

// Default values for Config fields left zero.
const (
	DefaultListen         = "127.0.0.1:8883"
	DefaultConnectTimeout = 10 * time.Second
	// DefaultAPIListen is the address the command line suggests for the
	// HTTP API; Config serves no API unless APIListen is set.
	DefaultAPIListen = "127.0.0.1:8443"
	// DefaultAccessKeyID and DefaultSecretAccessKey are the credentials
	// the HTTP API accepts by default: AWS's documented example pair.
	DefaultAccessKeyID     = "AKIAIOSFODNN7EXAMPLE"
	DefaultSecretAccessKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
	// DefaultRegion is the Region of the emulated account.
	DefaultRegion = "us-east-1"
	// DefaultAccountID is the emulated account, as it appears in ARNs.
	DefaultAccountID = "123456789012"
	// DefaultAPIClockSkew is how far a request's signing time may be from
	// the emulator's clock: SigV4's general rule. Whether AWS IoT uses it
	// or 15 minutes is not documented.
	DefaultAPIClockSkew = 5 * time.Minute
)

// AWS protocol limits the broker applies in every profile.
const (
	MaxPayload         = iotcore.MaxPayload                    // bytes of PUBLISH payload
	MaxTopicLength     = iotcore.MaxTopicBytes                 // bytes of topic name or filter
	MaxTopicSlashes    = iotcore.MaxTopicSlashes               // forward slashes in a topic or filter
	MaxFiltersPerSub   = iotcore.MaxFiltersPerSubscribe        // topic filters in one SUBSCRIBE
	MaxSubscriptions   = iotcore.MaxSubscriptionsPerConnection // subscriptions held by one connection
	MinKeepAlive       = iotcore.MinKeepAlive                  // seconds; lower values are raised
	MaxKeepAlive       = iotcore.MaxKeepAlive                  // seconds; higher values and 0 become this
	MaxClientIDLength  = iotcore.MaxClientIDBytes              // bytes
	awsPublishesPerSec = iotcore.PublishesPerSecond            // LimitsAWS: publishes per second per connection, in + out
	awsBytesPerSec     = iotcore.BytesPerSecond                // LimitsAWS: bytes per second per connection, in + out
)

// Config configures an Emulator. Only DataDir is required; the zero value of
// every other field means the default its comment gives.
type Config struct {
	// DataDir holds the registry (registry.log), the CA (ca/) and the shadows.
	DataDir string
	// Listen is the TCP address for MQTT over TLS; default DefaultListen.
	// Tests use "127.0.0.1:0".
	Listen string
	// Hosts are extra DNS names or IP addresses for the server certificate,
	// which always covers localhost, 127.0.0.1 and ::1.
	Hosts []string
	// Limits is "default" (or ""), "aws" or "none".
	Limits LimitsProfile
	// Durability says when an accepted shadow change reaches the disk:
	// "sync" (or ""), "async" or "off"; see DurabilitySync.
	Durability Durability
	// Latency and Stall are calibration specs passed to the shadow service,
	// e.g. "uniform:5ms-50ms" and "10s:1s"; "" means none.
	Latency, Stall string
	// HashMatchesDollar makes a network subscription whose first level is a
	// wildcard ("#", "+/…") also match $aws topics, as the AWS console's test
	// client showed. The zero value follows the MQTT spec, where it does not.
	HashMatchesDollar bool
	// DisconnectOnDeniedPublish makes an MQTT 5 connection close after a
	// PUBLISH its policy denies, besides the PUBACK 0x87. MQTT 3.1.1
	// connections are always closed.
	DisconnectOnDeniedPublish bool
	// DisconnectOnThrottle closes a connection that publishes over the
	// per-connection rate of the "aws" limits profile (MQTT 5 DISCONNECT
	// 0x97 Quota exceeded, lifecycle reason THROTTLED, will published).
	// The zero value follows AWS's documented behaviour: the publish is
	// discarded and the connection stays up.
	DisconnectOnThrottle bool
	// WillOnDisconnectWithWill publishes the Last Will of an MQTT 5 client
	// that disconnects with reason 0x04, as MQTT 5 asks. The zero value
	// follows AWS, where any client DISCONNECT discards the will.
	WillOnDisconnectWithWill bool
	// WillDelay honours the MQTT 5 Will Delay Interval. The zero value
	// publishes wills at once: AWS does not list the property.
	WillDelay bool
	// SessionExpiry is the account's persistent-session expiry: how long
	// an MQTT 3.1.1 persistent session outlives its connection, and the
	// cap on MQTT 5 Session Expiry Intervals (announced in CONNACK when a
	// client asks for more). Default iotcore.DefaultSessionExpiry, at most
	// iotcore.MaxSessionExpiry.
	SessionExpiry time.Duration
	// ConnectTimeout closes sockets that do not finish the TLS handshake and
	// send CONNECT in time; default DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// APIListen is the TCP address of the HTTPS API (control plane and
	// data plane, SigV4-signed, served with the emulator's CA); "" serves
	// none.
	APIListen string
	// APIAccessKeyID and APISecretAccessKey are the only credentials the
	// API accepts; default DefaultAccessKeyID and DefaultSecretAccessKey.
	APIAccessKeyID, APISecretAccessKey string
	// Region is the emulated account's Region: in ARNs and the only one a
	// SigV4 credential scope may name; default DefaultRegion.
	Region string
	// AccountID is the emulated account's ID in ARNs; default
	// DefaultAccountID.
	AccountID string
	// APIClockSkew bounds the difference between a request's X-Amz-Date
	// and the emulator's clock; default DefaultAPIClockSkew.
	APIClockSkew time.Duration
	// APIKeyType is the key CreateKeysAndCertificate makes; default
	// fleet.KeyRSA (2048 bits), as AWS's.
	APIKeyType fleet.KeyType
	// EventLoops is how many epoll event loops serve the broker's
	// established connections on Linux: 0 means one per CPU the Go runtime
	// uses but one (none on one CPU); negative means none, a goroutine per
	// connection, the choice when a load generator shares the emulator's
	// process (a loop blocked in epoll_wait holds a scheduler slot until
	// the runtime's monitor takes it back, up to 10 ms later, and the
	// generator would measure that as latency).
	EventLoops int
	// DataEndpoint is the address DescribeEndpoint returns for the data
	// endpoint; default the MQTT listener's address (an unspecified host
	// becomes 127.0.0.1). Unlike AWS's, it carries the port.
	DataEndpoint string
	// Logger receives the emulator's and the broker's logs; the default
	// writes Warn and above to standard error and discards the rest. Broker
	// records are sampled so that rejections under load cannot flood it.
	Logger *slog.Logger
}

// withDefaults returns cfg with zero fields replaced by their defaults, or an
// error naming the first invalid field.
func (cfg Config) withDefaults() (Config, error) {
	if cfg.DataDir == "" {
		return cfg, fmt.Errorf("emulator: Config.DataDir is empty, want the data directory")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	switch cfg.Limits {
	case "":
		cfg.Limits = LimitsDefault
	case LimitsDefault, LimitsAWS, LimitsNone:
	default:
		return cfg, fmt.Errorf("emulator: limits profile %q: want default, aws or none", cfg.Limits)
	}
	if cfg.DisconnectOnThrottle && cfg.Limits != LimitsAWS {
		return cfg, fmt.Errorf("emulator: disconnect on throttle needs the aws limits profile (the only one with a per-connection publish rate), not %q", cfg.Limits)
	}
	d, err := parseDurability(cfg.Durability)
	if err != nil {
		return cfg, fmt.Errorf("emulator: %w", err)
	}
	cfg.Durability = d
	if cfg.ConnectTimeout < 0 {
		return cfg, fmt.Errorf("emulator: connect timeout %v: want a positive duration", cfg.ConnectTimeout)
	}
	if cfg.SessionExpiry < 0 || cfg.SessionExpiry > iotcore.MaxSessionExpiry {
		return cfg, fmt.Errorf("emulator: session expiry %v: want at most %v", cfg.SessionExpiry, iotcore.MaxSessionExpiry)
	}
	if cfg.SessionExpiry == 0 {
		cfg.SessionExpiry = iotcore.DefaultSessionExpiry
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.APIAccessKeyID == "" {
		cfg.APIAccessKeyID = DefaultAccessKeyID
	}
	if cfg.APISecretAccessKey == "" {
		cfg.APISecretAccessKey = DefaultSecretAccessKey
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if !validRegion(cfg.Region) {
		return cfg, fmt.Errorf("emulator: region %q: want a Region name such as us-east-1", cfg.Region)
	}
	if cfg.AccountID == "" {
		cfg.AccountID = DefaultAccountID
	}
	if len(cfg.AccountID) != 12 || strings.Trim(cfg.AccountID, "0123456789") != "" {
		return cfg, fmt.Errorf("emulator: account ID %q: want 12 digits", cfg.AccountID)
	}
	if cfg.APIClockSkew < 0 {
		return cfg, fmt.Errorf("emulator: API clock skew %v: want a positive duration", cfg.APIClockSkew)
	}
	if cfg.APIClockSkew == 0 {
		cfg.APIClockSkew = DefaultAPIClockSkew
	}
	if cfg.APIKeyType == "" {
		cfg.APIKeyType = fleet.KeyRSA
	}
	kt, err := fleet.ParseKeyType(string(cfg.APIKeyType))
	if err != nil {
		return cfg, fmt.Errorf("emulator: API key type: %w", err)
	}
	cfg.APIKeyType = kt
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return cfg, nil
}

// validRegion reports whether r looks like a Region name: lowercase
// letters, digits and dashes, such as us-east-1.
func validRegion(r string) bool {
	if r == "" || len(r) > 64 || r[0] == '-' || r[len(r)-1] == '-' {
		return false
	}
	for i := 0; i < len(r); i++ {
		if c := r[i]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
