package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/internal/testutil"
)

func TestCPUAt(t *testing.T) {
	t0 := time.Unix(100, 0)
	tr := &traceResult{samples: []sample{{t: t0, cpu: 1}, {t: t0.Add(time.Second), cpu: 3}, {t: t0.Add(2 * time.Second), cpu: 4}}}
	for _, c := range []struct {
		at   time.Duration
		want float64
	}{{-time.Second, 1}, {0, 1}, {500 * time.Millisecond, 2}, {1500 * time.Millisecond, 3.5}, {5 * time.Second, 4}} {
		if got := tr.cpuAt(t0.Add(c.at)); got != c.want {
			t.Errorf("cpuAt(%v) = %v, want %v", c.at, got, c.want)
		}
	}
}

func TestDatasetDir(t *testing.T) {
	a := DatasetDir("/c", "rsm-mini", 1, nil)
	if a != "/c/rsm-mini-seed1" {
		t.Errorf("DatasetDir = %q", a)
	}
	b := DatasetDir("/c", "rsm-mini", 1, []string{"timesteps=24"})
	c := DatasetDir("/c", "rsm-mini", 1, []string{"timesteps=6"})
	if b == a || b == c || !strings.HasPrefix(b, "/c/rsm-mini-seed1-") {
		t.Errorf("overrides do not key the cache: %q %q %q", a, b, c)
	}
}

// TestPipelineTiny builds gotrap and benchmarks the tiny preset end to
// end: every stage of the manifest is timed, the rates are set, and the
// markdown and the comparison of a result with itself are written.
func TestPipelineTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("builds gotrap and runs the pipeline")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "gotrap")
	build := exec.Command("go", "build", "-o", bin, "./cmd/gotrap")
	build.Dir = testutil.ProjectRoot(t)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cfg := PipelineConfig{Binary: bin, Preset: "tiny", Seed: 1, Data: filepath.Join(dir, "data"),
		Ranks: 1, Queries: []string{"stats"}, QueryRepeats: 1, Report: false}
	r, err := Pipeline(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if r.Dataset.Images == 0 || r.Dataset.Width != 256 || r.Dataset.Reused {
		t.Errorf("dataset %+v", r.Dataset)
	}
	var names []string
	for _, s := range r.Stages {
		names = append(names, s.Name)
	}
	for _, want := range []string{"plan", "timesteps", "tables", "varmetric", "other"} {
		if !strings.Contains(strings.Join(names, " "), want) {
			t.Errorf("stages %v lack %s", names, want)
		}
	}
	if r.Wall <= 0 || r.User+r.Sys <= 0 || r.MaxRSS <= 0 || r.Derived.ImagesPerSec <= 0 || len(r.Parquet) == 0 {
		t.Errorf("result lacks measurements: wall %v cpu %v rss %v rate %v parquet %v", r.Wall, r.User+r.Sys, r.MaxRSS, r.Derived.ImagesPerSec, r.Parquet)
	}
	if len(r.Queries) != 1 || r.Queries[0].Rows == 0 {
		t.Errorf("queries %+v", r.Queries)
	}
	js := filepath.Join(dir, "bench.json")
	if err := r.WriteJSON(js); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON(js)
	if err != nil {
		t.Fatal(err)
	}
	var md, cmp strings.Builder
	back.WriteMarkdown(&md)
	Compare(&cmp, r, back)
	if !strings.Contains(md.String(), "| timesteps |") || !strings.Contains(cmp.String(), "1.000") {
		t.Errorf("markdown:\n%s\ncompare:\n%s", md.String(), cmp.String())
	}
	// The second call reuses the cached dataset.
	cfg.Queries = nil
	r2, err := Pipeline(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !r2.Dataset.Reused {
		t.Error("the dataset was generated again")
	}
}

// TestTraceRSSVanishedChild: the sampled RSS of a process tree counts a
// child while it lives, not after it exits (a live run's exec actions
// left their last samples in the sum, 200 MB each).
func TestTraceRSSVanishedChild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh:", err)
	}
	const mib = 200
	cmd := exec.Command(sh, "-c", `"$0"; sleep 1.5`, exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", holdMemEnv, mib))
	tr, err := traceCmd(cmd, 50*time.Millisecond)
	if err != nil {
		t.Fatalf("%v: %s", err, tr.stderr)
	}
	var peak, last int64
	for _, s := range tr.samples {
		peak = max(peak, s.rss)
	}
	// The last samples are taken in the shell's sleep, the child gone.
	last = tr.samples[len(tr.samples)-2].rss
	if peak < mib<<20 {
		t.Errorf("peak sampled RSS %d MiB, want at least the child's %d MiB", peak>>20, mib)
	}
	// The shell's RSS is a few MiB; 50 MiB is far below the child's.
	if last > 50<<20 {
		t.Errorf("RSS sampled after the child exited %d MiB: the vanished child still counted", last>>20)
	}
}

// TestTracePeakRootWithChild: the peak RSS of a process that starts a
// small child is its own, not the child's (a live run's exec actions made
// the soak report 688 kB).
func TestTracePeakRootWithChild(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("sleep"); err != nil {
		t.Skip("no sleep:", err)
	}
	const mib = 100
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%d", holdMemEnv, mib), holdMemEnv+"_CHILD=1")
	tr, err := traceCmd(cmd, 20*time.Millisecond)
	if err != nil {
		t.Fatalf("%v: %s", err, tr.stderr)
	}
	if tr.maxRSS < mib<<20 {
		t.Errorf("peak RSS %d kB, want at least the root's %d MiB", tr.maxRSS>>10, mib)
	}
}
