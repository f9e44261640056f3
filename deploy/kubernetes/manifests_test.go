// Package kubernetes holds the manifests that run shadowload's shards as a
// Kubernetes Indexed Job and merge their reports; its test decodes them
// strictly as the API objects they claim to be.
package kubernetes

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/shadowload/shadowload/scenario"
)

// decode reads a manifest strictly into obj: an unknown or misspelt field
// is an error, and the kind and apiVersion must be the object's.
func decode(t *testing.T, file, apiVersion, kind string, obj any) {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(data, obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var meta struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(data, &meta); err != nil {
		t.Fatal(err)
	}
	if meta.APIVersion != apiVersion || meta.Kind != kind {
		t.Fatalf("%s is %s %s, want %s %s", file, meta.APIVersion, meta.Kind, apiVersion, kind)
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	var cm corev1.ConfigMap
	decode(t, "configmap.yaml", "v1", "ConfigMap", &cm)
	var secret corev1.Secret
	decode(t, "secret.yaml", "v1", "Secret", &secret)
	var pvc corev1.PersistentVolumeClaim
	decode(t, "pvc.yaml", "v1", "PersistentVolumeClaim", &pvc)
	var job, merge batchv1.Job
	decode(t, "job.yaml", "batch/v1", "Job", &job)
	decode(t, "merge-job.yaml", "batch/v1", "Job", &merge)

	// The scenario in the ConfigMap is one shadowload accepts.
	src, ok := cm.Data["scenario.yaml"]
	if !ok {
		t.Fatal("the ConfigMap has no scenario.yaml")
	}
	s, err := scenario.Parse("configmap.yaml:scenario.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}

	// The Indexed Job: N shards, never re-run, each told N.
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion {
		t.Error("the shards' Job is not an Indexed Job")
	}
	n := *spec.Completions
	if spec.Parallelism == nil || *spec.Parallelism != n || spec.BackoffLimitPerIndex == nil || *spec.BackoffLimitPerIndex != 0 {
		t.Errorf("parallelism %v, backoffLimitPerIndex %v: want every shard at once (%d), none re-run", spec.Parallelism, spec.BackoffLimitPerIndex, n)
	}
	if int(n) > s.Fleet.Things {
		t.Errorf("%d shards for %d things", n, s.Fleet.Things)
	}
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Error("the shard pods restart, or may run as root")
	}
	c := pod.Containers[0]
	env := map[string]string{}
	for _, e := range c.Env {
		env[e.Name] = e.Value
	}
	if env["SHADOWLOAD_SHARDS"] != itoa(n) {
		t.Errorf("SHADOWLOAD_SHARDS=%q, the Job has %d completions", env["SHADOWLOAD_SHARDS"], n)
	}
	for _, want := range []string{"SHADOWLOAD_START_AT", "SHADOWLOAD_ENDPOINT", "SHADOWLOAD_BUNDLES", "SHADOWLOAD_OUT"} {
		if env[want] == "" {
			t.Errorf("the shards have no %s", want)
		}
	}
	if !strings.Contains(env["SHADOWLOAD_OUT"], "$(JOB_COMPLETION_INDEX)") {
		t.Errorf("SHADOWLOAD_OUT=%q: every shard would write the same file", env["SHADOWLOAD_OUT"])
	}
	if !slices.Contains(c.Args, "/scenario/scenario.yaml") {
		t.Errorf("the shards run %q, not the ConfigMap's scenario", c.Args)
	}

	// Every shard's Secret is projected, and the placeholder is an archive.
	var projected []string
	for _, v := range pod.Volumes {
		if v.Projected != nil {
			for _, src := range v.Projected.Sources {
				projected = append(projected, src.Secret.Name)
			}
		}
	}
	for i := range int(n) {
		if name := "shadowload-bundles-" + itoa(int32(i)); !slices.Contains(projected, name) {
			t.Errorf("shard %d's Secret %s is not mounted", i, name)
		}
	}
	if !slices.Contains(projected, secret.Name) || len(secret.Data["bundles-0.tgz"]) == 0 {
		t.Errorf("secret %s with keys %v is not the shape the Job mounts", secret.Name, keys(secret.Data))
	}

	// The merge reads what the shards write.
	margs := merge.Spec.Template.Spec.Containers[0].Args
	if margs[0] != "merge" {
		t.Errorf("the merge Job runs %q", margs)
	}
	for i := range int(n) {
		if f := "/reports/shard-" + itoa(int32(i)) + ".json"; !slices.Contains(margs, f) {
			t.Errorf("the merge does not read %s", f)
		}
	}
	for _, j := range []batchv1.Job{job, merge} {
		for _, v := range j.Spec.Template.Spec.Volumes {
			if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName != pvc.Name {
				t.Errorf("%s mounts claim %s, not %s", j.Name, v.PersistentVolumeClaim.ClaimName, pvc.Name)
			}
		}
	}
}

// TestBundleSecretsSplitTheFleetByShard runs make-bundle-secrets.sh on a
// bundles directory and checks that shard i's archive holds the things of
// fleet index i mod N, and shard 0's the observers.
func TestBundleSecretsSplitTheFleetByShard(t *testing.T) {
	for _, tool := range []string{"sh", "tar", "base64", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("no %s", tool)
		}
	}
	dir := t.TempDir()
	for _, name := range []string{"sim-00000", "sim-00001", "sim-00002", "sim-00003", "sim-00004", "app-0"} {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name, "certificate.pem.crt"), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	manifest := `{"version": 1, "things": [
    {"name": "sim-00000"}, {"name": "sim-00001"}, {"name": "sim-00002"}, {"name": "sim-00003"}, {"name": "sim-00004"},
    {
      "name": "app-0",
      "observer": true
    }]}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("sh", "make-bundle-secrets.sh", dir, "2").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"app-0", "sim-00000", "sim-00002", "sim-00004"}, {"sim-00001", "sim-00003"}}
	docs := bytes.Split(out, []byte("---\n"))[1:]
	if len(docs) != 2 {
		t.Fatalf("%d Secrets, want 2:\n%s", len(docs), out)
	}
	for i, doc := range docs {
		var s corev1.Secret
		if err := yaml.UnmarshalStrict(doc, &s); err != nil {
			t.Fatal(err)
		}
		key := "bundles-" + itoa(int32(i)) + ".tgz"
		list := exec.Command("tar", "-tz")
		list.Stdin = bytes.NewReader(s.Data[key])
		names, err := list.Output()
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		var got []string
		for _, l := range strings.Split(string(names), "\n") {
			if d := strings.TrimSuffix(strings.TrimPrefix(l, "./"), "/"); d != "" && d != "." && !strings.Contains(d, "/") {
				got = append(got, d)
			}
		}
		slices.Sort(got)
		if s.Name != "shadowload-bundles-"+itoa(int32(i)) || !slices.Equal(got, want[i]) {
			t.Errorf("secret %s holds %v, want %v", s.Name, got, want[i])
		}
	}
}

func itoa(n int32) string { return strconv.Itoa(int(n)) }

func keys(m map[string][]byte) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
