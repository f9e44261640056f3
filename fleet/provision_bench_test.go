package fleet

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkProvision provisions a whole fleet of fresh ECDSA bundles per
// iteration, with an in-memory registrar, and reports the cost per thing.
func BenchmarkProvision(b *testing.B) {
	for _, things := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("things=%d", things), func(b *testing.B) {
			ca := newTestCA(b)
			base := b.TempDir()
			var elapsed time.Duration
			n := 0
			for b.Loop() {
				reg := newMemRegistrar(nil)
				out := filepath.Join(base, fmt.Sprint(n))
				n++
				start := time.Now()
				if _, err := Provision(context.Background(), ca, reg, ProvisionOptions{Things: things, OutDir: out}); err != nil {
					b.Fatal(err)
				}
				elapsed += time.Since(start)
			}
			b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n*things), "ns/thing")
		})
	}
}

// BenchmarkProvisionReuse measures a second run over an existing fleet, where
// every bundle is reused and only registered again.
func BenchmarkProvisionReuse(b *testing.B) {
	const things = 1000
	ca := newTestCA(b)
	out := b.TempDir()
	opts := ProvisionOptions{Things: things, OutDir: out}
	if _, err := Provision(context.Background(), ca, newMemRegistrar(nil), opts); err != nil {
		b.Fatal(err)
	}
	var elapsed time.Duration
	n := 0
	for b.Loop() {
		start := time.Now()
		if _, err := Provision(context.Background(), ca, newMemRegistrar(nil), opts); err != nil {
			b.Fatal(err)
		}
		elapsed += time.Since(start)
		n++
	}
	b.ReportMetric(float64(elapsed.Nanoseconds())/float64(n*things), "ns/thing")
}

// BenchmarkIssue measures issuing one client identity.
func BenchmarkIssue(b *testing.B) {
	ca := newTestCA(b)
	for _, kt := range []KeyType{KeyECDSA, KeyRSA} {
		b.Run(string(kt), func(b *testing.B) {
			for b.Loop() {
				if _, err := ca.Issue("sim-00000", kt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkLoadBundles measures loading a provisioned fleet of 1000 things
// through its manifest, as the harness does at start.
func BenchmarkLoadBundles(b *testing.B) {
	const things = 1000
	ca := newTestCA(b)
	out := b.TempDir()
	if _, err := Provision(context.Background(), ca, newMemRegistrar(nil), ProvisionOptions{Things: things, OutDir: out}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_, bundles, err := LoadBundles(out)
		if err != nil {
			b.Fatal(err)
		}
		if len(bundles) != things {
			b.Fatalf("%d bundles", len(bundles))
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*things), "ns/thing")
}
