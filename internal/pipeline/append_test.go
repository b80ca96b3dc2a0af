package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
)

// splitData links the images of data into folders, one per part: part k
// holds the images of the timesteps [cuts[k-1], cuts[k]) of the plan.
// Each part's images are files of their own (hard links), so that one
// run over every part and runs grown part by part name the same files.
func splitData(t *testing.T, data string, cuts []int) (parts []string, timesteps int) {
	t.Helper()
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig()
	plan, err := NewPlan(context.Background(), inputs, readOptionsOf(cfg), time.Second, assocConfig(cfg), 2)
	if err != nil {
		t.Fatal(err)
	}
	root := t.TempDir()
	bounds := append(append([]int{0}, cuts...), len(plan.Timesteps))
	for k := range len(bounds) - 1 {
		dir := filepath.Join(root, fmt.Sprintf("part%d", k))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, ts := range plan.Timesteps[bounds[k]:bounds[k+1]] {
			for _, i := range ts {
				p := plan.Image(i).Path
				if err := linkOrCopy(p, filepath.Join(dir, filepath.Base(p))); err != nil {
					t.Fatal(err)
				}
			}
		}
		parts = append(parts, dir)
	}
	// The images the plan rejected unread (no timestep) go with the
	// last part.
	for i := range plan.Len() {
		if plan.Image(i).Timestep < 0 {
			p := plan.Image(i).Path
			if err := linkOrCopy(p, filepath.Join(parts[len(parts)-1], filepath.Base(p))); err != nil {
				t.Fatal(err)
			}
		}
	}
	return parts, len(plan.Timesteps)
}

func linkOrCopy(src, dst string) error {
	if os.Link(src, dst) == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// oneRun runs every part's images into one run at once, on one rank.
func oneRun(t *testing.T, parts []string, cfg config.Config) *pipetest.Catalogue {
	t.Helper()
	inputs, err := ExpandInputs(parts)
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "one")
	if _, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Workers: 2}); err != nil {
		t.Fatal(err)
	}
	return sortedCatalogue(t, run)
}

// grow runs the parts into one run: the first as a new run on ranks[0]
// ranks, each next one appended on the next number of ranks.
func grow(t *testing.T, parts []string, cfg config.Config, ranks []int) string {
	t.Helper()
	run := filepath.Join(t.TempDir(), "run")
	done := 0 // images in the run
	for k, dir := range parts {
		inputs, err := ExpandInputs([]string{dir})
		if err != nil {
			t.Fatal(err)
		}
		opt := Options{Run: run, Inputs: inputs, Config: cfg, CPUs: 2, Append: k > 0}
		sum, err := RunRanks(context.Background(), opt, ranks[k%len(ranks)])
		if err != nil {
			t.Fatalf("part %d (%s): %v", k, dir, err)
		}
		// Each image is read once: an append extracts its own images
		// and replays the run's from RUN/work.
		if sum.ExtractedNow+sum.Reused != done+len(inputs) || sum.ExtractedNow > len(inputs) || sum.Reused < done-2 {
			t.Errorf("part %d: %d images extracted and %d reused; the run had %d, the part adds %d", k, sum.ExtractedNow, sum.Reused, done, len(inputs))
		}
		done += len(inputs)
	}
	return run
}

// TestAppendEqualsOneRun is the metamorphic test of runs that grow: tiny
// cut at every timestep boundary, and into three parts at random
// boundaries, run part by part with --append on 1, 2 and 3 ranks, gives
// the catalogue of one run over all the images, every table row for row.
func TestAppendEqualsOneRun(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	_, nts := splitData(t, data, nil)
	rankPairs := [][]int{{1, 2}, {2, 3}, {3, 1}, {2, 1}, {1, 3}, {3, 2}, {1, 1}}
	for cut := 1; cut < nts; cut++ {
		ranks := rankPairs[(cut-1)%len(rankPairs)]
		t.Run(fmt.Sprintf("cut after timestep %d, ranks %v", cut, ranks), func(t *testing.T) {
			parts, _ := splitData(t, data, []int{cut})
			run := grow(t, parts, cfg, ranks)
			equalTables(t, "grown", oneRun(t, parts, cfg), sortedCatalogue(t, run))
			if c, err := rundir.ReadCommit(run); err != nil || c.Timesteps != nts || c.Images != 16 {
				t.Errorf("commit record %+v (%v): want %d timesteps, 16 images", c, err, nts)
			}
		})
	}
	const seed = 15
	rng := rand.New(rand.NewPCG(seed, 2))
	for k := range 2 {
		a := 1 + rng.IntN(nts-2)
		b := a + 1 + rng.IntN(nts-a-1)
		ranks := []int{1 + rng.IntN(3), 1 + rng.IntN(3), 1 + rng.IntN(3)}
		t.Run(fmt.Sprintf("random %d: cuts %d %d, ranks %v (seed %d)", k, a, b, ranks, seed), func(t *testing.T) {
			parts, _ := splitData(t, data, []int{a, b})
			equalTables(t, "grown in three", oneRun(t, parts, cfg), sortedCatalogue(t, grow(t, parts, cfg, ranks)))
		})
	}
}

// TestAppendRefusals: images inside or before the run's timesteps are
// refused with an error naming them; images already in the run are
// skipped; a different configuration is refused.
func TestAppendRefusals(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	parts, _ := splitData(t, data, []int{4})
	run := grow(t, parts[1:], cfg, []int{1})
	early, err := ExpandInputs([]string{parts[0]})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Run: run, Inputs: early, Config: cfg, Append: true})
	if !errors.Is(err, ErrAppendOrder) || !strings.Contains(err.Error(), filepath.Base(early[0])) {
		t.Fatalf("appending earlier images: error %v, want %v naming %s", err, ErrAppendOrder, early[0])
	}
	late, err := ExpandInputs([]string{parts[1]})
	if err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), Options{Run: run, Inputs: late, Config: cfg, Append: true})
	if err != nil {
		t.Fatalf("appending the run's own images: %v", err)
	}
	if sum.ExtractedNow != 0 {
		t.Errorf("appending the run's own images extracted %d images, want 0 (skipped)", sum.ExtractedNow)
	}
	other := cfg
	other.Extraction.DetectionThreshold++
	if _, err := Run(context.Background(), Options{Run: run, Inputs: late, Config: other, Append: true}); !errors.Is(err, ErrConfigDiffers) {
		t.Errorf("append with another configuration: error %v, want %v", err, ErrConfigDiffers)
	}
	if _, err := Run(context.Background(), Options{Run: filepath.Join(t.TempDir(), "none"), Inputs: late, Config: cfg, Append: true}); !errors.Is(err, ErrNoRun) {
		t.Errorf("append to no run: error %v, want %v", err, ErrNoRun)
	}
}

// TestAppendKilled: an append killed (SIGKILL) at random moments and run
// again gives the catalogue of an uninterrupted run over all the images.
func TestAppendKilled(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	data := tiny(t)
	cfg := testConfig()
	parts, _ := splitData(t, data, []int{3})
	want := oneRun(t, parts, cfg)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	start := func(run string) *exec.Cmd {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+run+"|"+parts[1], childAppendEnv+"=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	// An uninterrupted append, for the kill times.
	base := grow(t, parts[:1], cfg, []int{1})
	t0 := time.Now()
	if err := start(base).Wait(); err != nil {
		t.Fatalf("append child: %v", err)
	}
	whole1 := time.Since(t0)
	equalTables(t, "append child", want, sortedCatalogue(t, base))
	const seed = 16
	rng := rand.New(rand.NewPCG(seed, 3))
	killed := 0
	for k := range 4 {
		run := grow(t, parts[:1], cfg, []int{1})
		d := time.Duration((0.05 + 0.8*rng.Float64()) * float64(whole1))
		cmd := start(run)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(d):
			cmd.Process.Kill()
			<-done
			killed++
		}
		if err := start(run).Wait(); err != nil {
			t.Fatalf("attempt %d: append again after a kill at %v: %v", k, d, err)
		}
		equalTables(t, fmt.Sprintf("append killed at %v and run again", d), want, sortedCatalogue(t, run))
	}
	if killed == 0 {
		t.Error("no append was killed mid-run")
	}
}
