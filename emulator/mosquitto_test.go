package emulator

import (
	"context"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// mosquittoArgs are the connection arguments of mosquitto_pub/mosquitto_sub
// for id over MQTT version v ("mqttv311" or "mqttv5").
func mosquittoArgs(t *testing.T, e *Emulator, id identity, clientID, v string) []string {
	t.Helper()
	certFile, keyFile := writeIdentityFiles(t, id)
	host, port := splitAddr(t, e.Addr())
	return []string{"-h", host, "-p", port, "--cafile", e.RootCAPath(), "--cert", certFile, "--key", keyFile,
		"-i", clientID, "-V", v, "-q", "1"}
}

func splitAddr(t *testing.T, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	if _, err := strconv.Atoi(addr[i+1:]); err != nil {
		t.Fatalf("address %q", addr)
	}
	return addr[:i], addr[i+1:]
}

func needMosquitto(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not installed (Debian package mosquitto-clients): %v", bin, err)
		}
	}
}

// waitSubscribed waits until some client subscribes to a filter matching topic.
func waitSubscribed(t *testing.T, e *Emulator, topic string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if e.srv.HasSubscribers(topic) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("nobody subscribed to %s", topic)
}

// waitNoSubscriber waits until no subscription matches topic.
func waitNoSubscriber(t *testing.T, e *Emulator, topic string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for e.srv.HasSubscribers(topic) {
		if time.Now().After(deadline) {
			t.Fatalf("a subscription to %s outlived its client", topic)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestMosquittoClientsPublishAndSubscribe(t *testing.T) {
	needMosquitto(t)
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	b := provision(t, e, "thing-b", "open", openPolicy)
	topic := "$aws/things/thing-a/shadow/custom"
	for _, v := range []string{"mqttv311", "mqttv5"} {
		t.Run(v, func(t *testing.T) {
			// The previous round's subscriber, same client ID, must be gone,
			// or its subscription would pass for this one's.
			waitNoSubscriber(t, e, topic)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			sub := exec.CommandContext(ctx, "mosquitto_sub", append(mosquittoArgs(t, e, a, "thing-a", v), "-t", topic, "-C", "1", "-W", "15")...)
			var out strings.Builder
			sub.Stdout, sub.Stderr = &out, &out
			if err := sub.Start(); err != nil {
				t.Fatal(err)
			}
			waitSubscribed(t, e, topic)
			pub := exec.CommandContext(ctx, "mosquitto_pub", append(mosquittoArgs(t, e, b, "thing-b", v), "-t", topic, "-m", "hello "+v)...)
			if msg, err := pub.CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_pub: %v: %s", err, msg)
			}
			if err := sub.Wait(); err != nil {
				t.Fatalf("mosquitto_sub: %v: %s", err, out.String())
			}
			if got := strings.TrimSpace(out.String()); got != "hello "+v {
				t.Fatalf("mosquitto_sub printed %q", got)
			}
		})
	}
}

func TestMosquittoClientsAreRefused(t *testing.T) {
	needMosquitto(t)
	e := startEmulator(t, nil)
	a := provision(t, e, "thing-a", "thing", perThingPolicy)
	revoked := provision(t, e, "thing-r", "thing", perThingPolicy)
	if err := e.Registry().SetCertificateStatus(revoked.certID, StatusRevoked); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		id       identity
		clientID string
		topic    string
	}{
		{"publish on another thing's topic", a, "thing-a", "$aws/things/thing-b/shadow/update"},
		{"client ID is not the thing name", a, "intruder", "$aws/things/thing-a/shadow/update"},
		{"REVOKED certificate", revoked, "thing-r", "$aws/things/thing-r/shadow/update"},
	}
	for _, tt := range tests {
		for _, v := range []string{"mqttv311", "mqttv5"} {
			t.Run(tt.name+"/"+v, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				pub := exec.CommandContext(ctx, "mosquitto_pub", append(mosquittoArgs(t, e, tt.id, tt.clientID, v), "-t", tt.topic, "-m", "{}")...)
				msg, err := pub.CombinedOutput()
				if err == nil && !strings.Contains(strings.ToLower(string(msg)), "not authorized") {
					t.Fatalf("mosquitto_pub succeeded: %s", msg)
				}
			})
		}
	}
}
