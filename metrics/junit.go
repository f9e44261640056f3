package metrics

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
)

// junitSuites is the root of a JUnit XML report, as Jenkins, GitLab,
// GitHub Actions reporters and Surefire read it.
type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Skipped  int          `xml:"skipped,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name      string      `xml:"name,attr"`
	Tests     int         `xml:"tests,attr"`
	Failures  int         `xml:"failures,attr"`
	Errors    int         `xml:"errors,attr"`
	Skipped   int         `xml:"skipped,attr"`
	Time      string      `xml:"time,attr"`
	Timestamp string      `xml:"timestamp,attr"`
	Cases     []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

// WriteJUnit writes the verdict of r as JUnit XML: one suite named for the
// scenario, a test case "validity" that fails when the run is invalid (so
// an invalid run is never green), one case per threshold (failed when it
// failed, skipped when the run is invalid and thresholds were not judged)
// and, when an abortOnFail threshold stopped the run, a failed case
// "aborted".
func WriteJUnit(w io.Writer, r *Report) error {
	name := "shadowload"
	if sc := r.ScenarioName(); sc != "" {
		name += " " + sc
	}
	if r.Shard != nil {
		name += " shard " + r.Shard.String()
	}
	secs := fmt.Sprintf("%.3f", r.Duration.Seconds())
	suite := junitSuite{Name: name, Time: secs, Timestamp: r.Start.UTC().Format(time.RFC3339)}
	valid := junitCase{Name: "validity: the run can be trusted", ClassName: "shadowload.validity", Time: secs}
	if len(r.Invalid) > 0 {
		valid.Failure = &junitFailure{Message: "invalid run: " + r.Invalid[0], Type: "invalid", Text: strings.Join(r.Invalid, "\n")}
	}
	suite.Cases = append(suite.Cases, valid)
	for _, t := range r.Thresholds {
		c := junitCase{Name: t.Metric + ": " + t.Expr, ClassName: "shadowload.thresholds", Time: "0", SystemOut: t.Actual}
		switch {
		case len(r.Invalid) > 0:
			c.Skipped = &junitSkipped{Message: "not judged: the run is invalid (" + t.Actual + ")"}
		case !t.Pass:
			c.Failure = &junitFailure{Message: t.Actual, Type: "threshold", Text: fmt.Sprintf("%s %s: %s", t.Metric, t.Expr, t.Actual)}
		}
		suite.Cases = append(suite.Cases, c)
	}
	if r.Aborted != "" {
		suite.Cases = append(suite.Cases, junitCase{Name: "aborted", ClassName: "shadowload.thresholds", Time: "0",
			Failure: &junitFailure{Message: r.Aborted, Type: "aborted", Text: r.Aborted}})
	}
	for _, c := range suite.Cases {
		suite.Tests++
		switch {
		case c.Failure != nil:
			suite.Failures++
		case c.Skipped != nil:
			suite.Skipped++
		}
	}
	doc := junitSuites{Name: name, Tests: suite.Tests, Failures: suite.Failures, Skipped: suite.Skipped, Time: secs, Suites: []junitSuite{suite}}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	if _, err := io.WriteString(w, "\n"); err != nil {
		return fmt.Errorf("write junit: %w", err)
	}
	return nil
}

// ScenarioName is the "name" the run recorded in Config, or "" when it
// recorded none.
func (r *Report) ScenarioName() string {
	var c struct {
		Name string `json:"name"`
	}
	if len(r.Config) == 0 || json.Unmarshal(r.Config, &c) != nil {
		return ""
	}
	return c.Name
}
