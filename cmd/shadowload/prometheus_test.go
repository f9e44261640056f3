package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// tool finds a binary from a Debian package; under CI (CI set) a missing
// one fails the test, since .ci/run installs it.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv("CI") != "" {
		t.Fatalf("%s is not installed; .ci/run installs Debian's %s", name, pkg)
	}
	t.Skipf("%s is not installed (apt-get install %s); CI runs this test", name, pkg)
	return ""
}

// TestLiveMetricsPassPromtoolAndAPrometheusScrapesThem runs a scenario with
// --metrics-addr on a port-0 address, checks its /metrics with "promtool
// check metrics", and has a real Prometheus (Debian's, on a free loopback
// port with its own config and storage) scrape it until it sees the run's
// final update.sent count.
func TestLiveMetricsPassPromtoolAndAPrometheusScrapesThem(t *testing.T) {
	promtool := tool(t, "promtool", "prometheus")
	prometheus := tool(t, "prometheus", "prometheus")
	dir := t.TempDir()
	file := writeFile(t, dir, "s.yaml", lateIsNoise+"name: live\nfleet: {things: 4}\nphases:\n  - {name: steady, duration: 3s, rate: 40/s}\n")
	out := filepath.Join(dir, "r.json")

	stderr := &syncBuffer{}
	sigs := make(chan os.Signal, 1)
	e := &env{stdout: io.Discard, stderr: stderr, getenv: func(string) string { return "" },
		notify: func() (<-chan os.Signal, func()) { return sigs, func() {} }}
	done := make(chan int, 1)
	go func() {
		done <- dispatch(e, []string{"run", "--metrics-addr", "127.0.0.1:0", "--metrics-linger", "2m", "--out", out, file})
	}()
	waitText := func(pattern string) {
		t.Helper()
		select {
		case <-stderr.waitFor(pattern):
		case code := <-done:
			t.Fatalf("run ended with exit %d before %q:\n%s", code, pattern, stderr.String())
		case <-time.After(60 * time.Second):
			t.Fatalf("no %q in 60s:\n%s", pattern, stderr.String())
		}
	}
	waitText(`metrics on http://\S+/metrics`)
	target := regexp.MustCompile(`metrics on http://(\S+)/metrics`).FindStringSubmatch(stderr.String())[1]

	promAddr := freePort(t)
	cfg := writeFile(t, dir, "prometheus.yml", fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: shadowload
    static_configs:
      - targets: [%q]
`, target))
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var promLog bytes.Buffer
	prom := exec.CommandContext(ctx, prometheus, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+promAddr, "--log.level=warn")
	prom.Stdout, prom.Stderr = &promLog, &promLog
	if err := prom.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = prom.Process.Kill()
		_ = prom.Wait()
	}()

	waitText(`report written to`)
	want := readReport(t, out).Counters["update.sent"]
	if want == 0 {
		t.Fatal("the run sent nothing")
	}

	resp, err := http.Get("http://" + target + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	for _, series := range []string{`shadowload_events_total{metric="update.sent",phase=""} ` + strconv.FormatInt(want, 10),
		`shadowload_latency_seconds_bucket{metric="update.accepted",phase=""`, `shadowload_level{metric="things.up"} 4`} {
		if !bytes.Contains(body, []byte(series)) {
			t.Errorf("/metrics lacks %s", series)
		}
	}
	check := exec.CommandContext(ctx, promtool, "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if msg, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, msg)
	}

	query := "http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(`shadowload_events_total{metric="update.sent",phase=""}`)
	var seen string
	deadline := time.Now().Add(45 * time.Second)
	for time.Now().Before(deadline) {
		seen = scrapeValue(query)
		if seen == strconv.FormatInt(want, 10) {
			break
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
		}
	}
	if seen != strconv.FormatInt(want, 10) {
		t.Errorf("Prometheus sees update.sent = %q, the run sent %d\nprometheus log:\n%s", seen, want, promLog.String())
	}

	// Every query of the Grafana dashboard is PromQL this Prometheus
	// accepts over the exporter's series.
	for _, expr := range dashboardQueries(t) {
		q := strings.ReplaceAll(expr, "$job", ".*")
		if v := scrapeAny("http://" + promAddr + "/api/v1/query?query=" + url.QueryEscape(q)); v != "" {
			t.Errorf("dashboard query %s: %s", q, v)
		}
	}

	sigs <- syscall.SIGTERM // ends the linger
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("run: exit %d:\n%s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the run did not end when its linger was interrupted")
	}
}

// scrapeValue asks Prometheus's query API for one series and returns its
// value, or what went wrong.
func scrapeValue(query string) string {
	resp, err := http.Get(query)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value [2]any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err.Error()
	}
	if r.Status != "success" || len(r.Data.Result) != 1 {
		return fmt.Sprintf("%s with %d series", r.Status, len(r.Data.Result))
	}
	s, _ := r.Data.Result[0].Value[1].(string)
	return strings.TrimSpace(s)
}

// dashboardQueries lists the PromQL of every panel of the Grafana
// dashboard.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "grafana", "shadowload-dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Panels []struct {
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			out = append(out, tg.Expr)
		}
	}
	if len(out) < 10 {
		t.Fatalf("the dashboard has %d queries", len(out))
	}
	return out
}

// scrapeAny runs a query and returns "" when it succeeded, what went wrong
// otherwise. A query of metrics the run did not record (such as delta or
// fan-out here) succeeds with no series.
func scrapeAny(query string) string {
	resp, err := http.Get(query)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Error  string `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return err.Error()
	}
	if r.Status != "success" {
		return r.Status + ": " + r.Error
	}
	return ""
}
