package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
	"gotrap/internal/wcs"
)

// partFeed feeds a live run the images of parts, one part per Next,
// skipping the parts whose images the run holds already (as gotrap
// watch skips the files of the run), and ends after stop parts (all
// when stop < 0).
type partFeed struct {
	t     *testing.T
	run   string
	parts []string
	stop  int
	mu    sync.Mutex
	given int
}

func (f *partFeed) Next(ctx context.Context) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	have := map[string]bool{}
	if m, err := rundir.ReadManifest(f.run); err == nil {
		for _, in := range m.Inputs {
			have[inputPath(in)] = true
		}
	}
	for f.stop < 0 || f.given < f.stop {
		if len(f.parts) == 0 {
			return nil, io.EOF
		}
		in, err := ExpandInputs(f.parts[:1])
		if err != nil {
			return nil, err
		}
		f.parts = f.parts[1:]
		if have[in[0]] {
			continue
		}
		f.given++
		return in, nil
	}
	return nil, io.EOF
}

// readyFeed is a partFeed that is also a ReadyFeed: every other Ready
// call gives the next part (the run then extracts it while it publishes
// the one before), the others none (the run waits in Next).
type readyFeed struct {
	*partFeed
	calls, given int
}

func (f *readyFeed) Ready(ctx context.Context) ([]string, error) {
	f.calls++
	if f.calls%2 == 0 {
		return nil, nil
	}
	in, err := f.Next(ctx)
	if errors.Is(err, io.EOF) {
		return nil, nil
	}
	if len(in) > 0 {
		f.given++
	}
	return in, err
}

// timestepParts links the images of data into one folder per timestep
// (splitData cut at every boundary), in time order.
func timestepParts(t *testing.T, data string) (parts []string, timesteps int) {
	t.Helper()
	_, nts := splitData(t, data, nil)
	cuts := make([]int, 0, nts-1)
	for k := 1; k < nts; k++ {
		cuts = append(cuts, k)
	}
	return splitData(t, data, cuts)
}

// TestLiveEqualsBatch is the metamorphic test of the live mode: tiny fed
// timestep by timestep to a live run, on 1 and 2 ranks, and a live run
// stopped after some timesteps and started again, give the catalogue of
// one batch run over all the images, every table row for row; the
// catalogue is published after every timestep.
func TestLiveEqualsBatch(t *testing.T) {
	mergeSoon(t)
	data := tiny(t)
	cfg := testConfig()
	parts, nts := timestepParts(t, data)
	want := oneRun(t, parts, cfg)
	for _, c := range []struct {
		ranks int
		ready bool
		// slowPacks makes each packing last over several publishes,
		// which then leave their timesteps to a later one.
		slowPacks bool
	}{{1, false, false}, {2, false, false}, {1, true, false}, {2, true, false}, {2, true, true}} {
		name := fmt.Sprintf("ranks %d", c.ranks)
		if c.ready {
			name += ", ready"
		}
		if c.slowPacks {
			name += ", slow packs"
		}
		ranks, slowPacks := c.ranks, c.slowPacks
		t.Run(name, func(t *testing.T) {
			if slowPacks {
				testHookPacking = func() { time.Sleep(400 * time.Millisecond) }
				t.Cleanup(func() { testHookPacking = nil })
			}
			run := filepath.Join(t.TempDir(), "live")
			var commits []int
			var last *pipetest.Catalogue // as published after the last timestep
			// The committed images' staged files go into packs in the
			// background of the next timestep: those a publish saw are
			// packed by the next one; with a ReadyFeed, those of the
			// batch extracted during the publish too, by the one after.
			var feed Feed = &partFeed{t: t, run: run, parts: parts, stop: -1}
			lag := 1
			if c.ready {
				feed, lag = &readyFeed{partFeed: feed.(*partFeed)}, 2
			}
			var seen [][]string
			// The rest of each AfterCommit runs in the background of the
			// next timesteps: it reads the catalogue as published (the
			// last one's is the batch run's below), and ends before the
			// next publish (inRest is 0 when the next AfterCommit is
			// called) and before the run's end (rests counts them all).
			var inRest, rests, overlapped atomic.Int64
			opt := Options{Run: run, Config: cfg, CPUs: 2, Feed: feed,
				AfterCommit: func(c rundir.Commit) (func() error, error) {
					commits = append(commits, c.Timesteps)
					if inRest.Load() != 0 {
						overlapped.Add(1)
					}
					if _, err := os.Stat(filepath.Join(run, "runcat.parquet")); err != nil && c.Timesteps > 0 {
						return nil, fmt.Errorf("published without runcat.parquet: %w", err)
					}
					staged, _ := filepath.Glob(filepath.Join(rundir.StepDir(run, StepExtract), "*.blind.parquet"))
					if k := len(seen) - lag; k >= 0 && !slowPacks {
						for _, p := range seen[k] {
							if slices.Contains(staged, p) {
								return nil, fmt.Errorf("commit %d: %s of an earlier commit not packed", c.Timesteps, p)
							}
						}
					}
					seen = append(seen, staged)
					return func() error {
						inRest.Add(1)
						defer inRest.Add(-1)
						defer rests.Add(1)
						// Long enough for the next timestep's extraction
						// and publish to overtake it, were it not waited
						// for (tiny's timestep takes tens of ms here).
						time.Sleep(150 * time.Millisecond)
						if c.Timesteps == nts {
							last = sortedCatalogue(t, run)
							if packs, _ := filepath.Glob(rundir.PackGlob(run)); len(packs) == 0 {
								return fmt.Errorf("after the last commit: no packs")
							}
						}
						return nil
					}, nil
				}}
			// After each publish every timestep is committed: no rank holds
			// an images row or a header's Meta of them (the rows are in
			// the images parts, the geometry in the plan's geom), and rank
			// 0 no manifest entry (they are in the inputs log).
			var held atomic.Int64
			testHookLivePublished = func(rank, rows, metas, inputs int) { held.Add(int64(rows + metas + inputs)) }
			t.Cleanup(func() { testHookLivePublished = nil })
			sum, err := RunRanks(context.Background(), opt, ranks)
			if err != nil {
				t.Fatal(err)
			}
			if n := held.Load(); n != 0 {
				t.Errorf("%d images rows, Meta and manifest entries held after publishes, want 0", n)
			}
			if n := overlapped.Load(); n != 0 {
				t.Errorf("%d commits published while the last AfterCommit's rest ran, want 0", n)
			}
			if rf, ok := feed.(*readyFeed); ok && rf.given == 0 {
				t.Error("no part given by Ready: nothing extracted during a publish")
			}
			if n := rests.Load(); n != int64(len(commits)) {
				t.Errorf("%d AfterCommit rests done when the run returned, want one a commit, %d", n, len(commits))
			}
			equalTables(t, "live", want, sortedCatalogue(t, run))
			// The catalogue published after the last timestep, its
			// associations in parts, is the batch run's (limits come at
			// the end).
			if last == nil {
				t.Fatal("no publish after the last timestep")
			}
			last.Limits = want.Limits
			equalTables(t, "live, published", want, last)
			// The run's end unpacked them.
			if packs, _ := filepath.Glob(rundir.PackGlob(run)); len(packs) != 0 {
				t.Errorf("packs left after the run's end: %v", packs)
			}
			// The parts were merged: rank 0 published nts+1 times. The
			// merges run in the background and a publish puts at most
			// one in place (TestPartMerger checks the levels), so fewer
			// parts than publishes is what is certain.
			files, err := filepath.Glob(filepath.Join(filepath.Dir(rundir.PartPath(run, catalog.TableMeasurements, 0, "blind", 0)), "blind-*.parquet"))
			if err != nil || len(files) == 0 || len(files) >= nts+1 {
				t.Errorf("rank 0 has %d blind parts after %d publishes merged two by two, want 1 to %d (%v)", len(files), nts+1, nts, err)
			}
			// The inputs are in the inputs log (manifest.json holds none),
			// each once, with its file's content hash (recorded at the
			// commit after its extraction).
			man, err := rundir.ReadManifest(run)
			if err != nil || !man.InputsLog || len(man.Inputs) != 16 {
				t.Fatalf("manifest: error %v, inputs log %v, %d inputs; want the log and 16", err, man != nil && man.InputsLog, len(man.Inputs))
			}
			for _, in := range man.Inputs {
				f, err := fingerprint(in.Path)
				if err != nil || in.XXH64 != f.XXH64 {
					t.Errorf("input %s: hash %q recorded, the file's %q (%v)", in.Path, in.XXH64, f.XXH64, err)
				}
			}
			if b, _ := os.ReadFile(rundir.ManifestPath(run)); strings.Contains(string(b), ".fits") {
				t.Errorf("manifest.json names inputs:\n%s", b)
			}
			if sum.ExtractedNow != 16 || sum.Timesteps != nts {
				t.Errorf("%d images extracted in %d timesteps, want 16 in %d", sum.ExtractedNow, sum.Timesteps, nts)
			}
			// Published once before the first timestep (nothing yet), then
			// after each.
			if len(commits) != nts+1 || commits[0] != 0 || commits[nts] != nts {
				t.Errorf("published at %v timesteps committed, want 0, 1, ..., %d", commits, nts)
			}
		})
	}
	t.Run("stopped and started again", func(t *testing.T) {
		run := filepath.Join(t.TempDir(), "live")
		opt := Options{Run: run, Config: cfg, CPUs: 2, Feed: &partFeed{t: t, run: run, parts: parts, stop: 3}}
		if _, err := Run(context.Background(), opt); err != nil {
			t.Fatal(err)
		}
		opt.Append, opt.Feed = true, &partFeed{t: t, run: run, parts: parts, stop: -1}
		sum, err := RunRanks(context.Background(), opt, 2)
		if err != nil {
			t.Fatal(err)
		}
		if sum.ExtractedNow != 16-sum.Reused || sum.Reused < 6 {
			t.Errorf("started again: %d images extracted, %d reused; want the first 3 timesteps' reused", sum.ExtractedNow, sum.Reused)
		}
		equalTables(t, "live, stopped and started again", want, sortedCatalogue(t, run))
	})
}

// TestLiveInterrupted: a live run cancelled at random moments (the
// in-process stand-in of a kill; TestWatchKilled kills the command) and
// started again gives the batch run's catalogue.
func TestLiveInterrupted(t *testing.T) {
	mergeSoon(t)
	data := tiny(t)
	cfg := testConfig()
	parts, nts := timestepParts(t, data)
	want := oneRun(t, parts, cfg)
	const seed = 22
	rng := rand.New(rand.NewPCG(seed, 1))
	for k := range 3 {
		run := filepath.Join(t.TempDir(), "live")
		stopAt := 1 + rng.IntN(nts-1)
		ctx, cancel := context.WithCancel(context.Background())
		opt := Options{Run: run, Config: cfg, CPUs: 2, Feed: &partFeed{t: t, run: run, parts: parts, stop: -1},
			AfterCommit: func(c rundir.Commit) (func() error, error) {
				if c.Timesteps >= stopAt {
					cancel()
				}
				return nil, nil
			}}
		_, err := Run(ctx, opt)
		cancel()
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("attempt %d: cancelled after %d timesteps: error %v, want %v", k, stopAt, err, context.Canceled)
		}
		opt.Append, opt.AfterCommit, opt.Feed = true, nil, &partFeed{t: t, run: run, parts: parts, stop: -1}
		if _, err := Run(context.Background(), opt); err != nil {
			t.Fatalf("attempt %d: started again after %d timesteps: %v", k, stopAt, err)
		}
		equalTables(t, fmt.Sprintf("live, cancelled after %d timesteps (seed %d)", stopAt, seed), want, sortedCatalogue(t, run))
	}
}

// TestPlanExtend: a plan grown timestep by timestep equals the plan of
// all the files at once, and images too early for it are refused.
func TestPlanExtend(t *testing.T) {
	cfg := testConfig()
	inputs := tinyInputs(t)
	ctx := context.Background()
	all, err := NewPlan(ctx, inputs, readOptionsOf(cfg), time.Second, assocConfig(cfg), 2)
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPlan(ctx, nil, readOptionsOf(cfg), time.Second, assocConfig(cfg), 2)
	if err != nil {
		t.Fatal(err)
	}
	for _, ts := range all.Timesteps {
		var paths []string
		for _, i := range ts {
			paths = append(paths, all.Image(i).Path)
		}
		added, bad, err := p.Extend(ctx, paths, readOptionsOf(cfg), Channels{}, time.Second, 2)
		if err != nil || len(bad) > 0 || len(added) != len(ts) {
			t.Fatalf("extend by %d images: %d added, unreadable %v, error %v", len(ts), len(added), bad, err)
		}
		// As a live run does once a timestep is committed.
		p.release(len(p.Timesteps)-1, len(p.Timesteps))
	}
	if p.Len() != all.Len() || len(p.Timesteps) != len(all.Timesteps) {
		t.Fatalf("grown plan: %d images in %d timesteps, want %d in %d", p.Len(), len(p.Timesteps), all.Len(), len(all.Timesteps))
	}
	for i := range all.Len() {
		a, b := all.Image(i), p.Image(i)
		if a.ID != b.ID || a.Path != b.Path || a.Timestep != b.Timestep || a.Band != b.Band || a.Region != b.Region {
			t.Errorf("image %d: grown (%d %s ts %d band %d region %d), want (%d %s ts %d band %d region %d)",
				i, b.ID, b.Path, b.Timestep, b.Band, b.Region, a.ID, a.Path, a.Timestep, a.Band, a.Region)
		}
		// Released, the image keeps what the run reads of it later: the
		// association's image info (the run's end), its row, its cost.
		if b.Meta != nil || !b.hasHeader() {
			t.Fatalf("image %d: Meta %v after release, header %v", i, b.Meta != nil, b.hasHeader())
		}
		ia, ib := imageInfo(a), imageInfo(b)
		for _, q := range [][2]float64{{0, 0}, {ia.CentreRA, ia.CentreDec}, {ia.CentreRA + 5, ia.CentreDec - 3}} {
			if ia.Usable(q[0], q[1]) != ib.Usable(q[0], q[1]) {
				t.Errorf("image %d: usable(%v) differs after release", i, q)
			}
		}
		ia.Usable, ib.Usable = nil, nil
		if !reflect.DeepEqual(ia, ib) {
			t.Errorf("image %d: info after release %+v, before %+v", i, ib, ia)
		}
		if imageCost(a) != imageCost(b) || imageRow(a).Stokes != imageRow(b).Stokes {
			t.Errorf("image %d: cost or Stokes differ after release", i)
		}
	}
	// The images of the field share one WCS (Plan.internWCS), equal to
	// each image's own, and the plan's band-and-region engine keeps none
	// of them: a live run's plan does not hold one per image.
	for _, pl := range []*Plan{all, p} {
		shared := map[*wcs.WCS]bool{}
		for i := range pl.Len() {
			img := pl.Image(i)
			w := img.geo().wcs
			shared[w] = true
			h, err := fitsimg.ReadHeader(img.Path)
			if err != nil {
				t.Fatal(err)
			}
			own, err := wcs.FromHeader(h)
			if err != nil {
				t.Fatal(err)
			}
			if *own != *w {
				t.Errorf("%s: the plan's WCS differs from the image's", img.Path)
			}
		}
		if len(shared) != 1 {
			t.Errorf("%d WCS values for %d images of one field, want 1", len(shared), pl.Len())
		}
		if n := pl.regions.Images(); n != 0 {
			t.Errorf("the plan's engine keeps %d images, want 0", n)
		}
	}
	last := all.Timesteps[len(all.Timesteps)-1]
	_, _, err = p.Extend(ctx, []string{all.Image(last[0]).Path}, readOptionsOf(cfg), Channels{}, time.Second, 2)
	if !errors.Is(err, ErrLate) || !strings.Contains(err.Error(), filepath.Base(all.Image(last[0]).Path)) {
		t.Errorf("extend by an image of the last timestep: error %v, want %v naming it", err, ErrLate)
	}
}

// TestLiveMonitor: a position written to RUN/alerts/monitor.txt (gotrap
// listen) while a live run goes is fitted in every accepted image from
// the run's next timestep on and in none before; a live run stopped and
// started again after it gives the same catalogue.
func TestLiveMonitor(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	parts, _ := timestepParts(t, data)
	const at = 3 // timesteps committed when the alert comes
	alert := func(run string) func(rundir.Commit) (func() error, error) {
		return func(c rundir.Commit) (func() error, error) {
			if c.Timesteps != at {
				return nil, nil
			}
			if err := os.MkdirAll(rundir.AlertsDir(run), 0o755); err != nil {
				return nil, err
			}
			return nil, rundir.WriteFile(rundir.AlertMonitorPath(run), []byte("150.1000000 53.2000000 # ivo://test/alert\n"))
		}
	}
	run := filepath.Join(t.TempDir(), "live")
	opt := Options{Run: run, Config: cfg, CPUs: 2, Feed: &partFeed{t: t, run: run, parts: parts, stop: -1}, AfterCommit: alert(run)}
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	c := sortedCatalogue(t, run)
	ts := map[int64]int64{}
	for _, im := range c.Images {
		ts[im.ID] = im.Timestep
	}
	fitted := map[int64]bool{}
	for _, m := range c.Measurements {
		// The configuration's two monitors are 1 and 2; the alert's is 3.
		if m.ExtractType == catalog.ExtractMonitor && m.FFMonitor.Int64 == 3 {
			if ts[m.Image] < at {
				t.Errorf("monitor fit in image %d of timestep %d, before the alert (timestep %d)", m.Image, ts[m.Image], at)
			}
			fitted[m.Image] = true
		}
	}
	for _, im := range c.Images {
		if im.Timestep >= at && !im.Rejected && !fitted[im.ID] {
			t.Errorf("accepted image %d of timestep %d has no monitor fit", im.ID, im.Timestep)
		}
	}
	if len(fitted) == 0 {
		t.Fatal("no monitor fit at all")
	}
	m, err := rundir.ReadManifest(run)
	if err != nil || len(m.LiveMonitors) != 1 || m.LiveMonitors[0].From != at {
		t.Errorf("manifest live monitors %+v (%v), want one from timestep %d", m.LiveMonitors, err, at)
	}
	// Stopped after the alert's first timestep and started again: the
	// monitor is replayed from the same timestep.
	again := filepath.Join(t.TempDir(), "again")
	opt = Options{Run: again, Config: cfg, CPUs: 2, Feed: &partFeed{t: t, run: again, parts: parts, stop: at + 1}, AfterCommit: alert(again)}
	if _, err := Run(context.Background(), opt); err != nil {
		t.Fatal(err)
	}
	opt.Append, opt.AfterCommit, opt.Feed = true, nil, &partFeed{t: t, run: again, parts: parts, stop: -1}
	if _, err := RunRanks(context.Background(), opt, 2); err != nil {
		t.Fatal(err)
	}
	equalTables(t, "live monitor, stopped and started again", c, sortedCatalogue(t, again))
}

// mergeSoon makes live runs merge their measurement parts two by two
// (partMerger), so that tiny's few commits merge parts at several
// levels, until the test ends.
func mergeSoon(t *testing.T) {
	old := partFanIn
	partFanIn = 2
	t.Cleanup(func() { partFanIn = old })
}

// TestLiveRSMMini: rsm-mini (24 bands a timestep) fed timestep by
// timestep to a live run on 2 ranks, cancelled at a random commit (the
// in-process kill), started again, cancelled again and finished, gives
// the batch run's catalogue; the catalogue published after the last
// timestep (associations in parts) equals it too. The CI size keeps
// the preset's bands, sources and cadence on 4 timesteps of 512^2
// images; GOTRAP_LIVE_RSMMINI=full runs the whole preset (6 timesteps of
// 1280^2, a few minutes here).
func TestLiveRSMMini(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates rsm-mini")
	}
	sets := []string{"timesteps", "4", "size", "512"}
	if os.Getenv("GOTRAP_LIVE_RSMMINI") == "full" {
		sets = nil
	}
	data := pipetest.Simulate(t, "rsm-mini", 1, sets...)
	cfg := config.Default()
	parts, nts := timestepParts(t, data)
	want := oneRun(t, parts, cfg)
	if len(want.Images) < 24*nts || nts < 4 {
		t.Fatalf("%d images in %d timesteps: not rsm-mini's 24 a timestep", len(want.Images), nts)
	}
	const seed = 23
	rng := rand.New(rand.NewPCG(seed, 1))
	run := filepath.Join(t.TempDir(), "live")
	var last *pipetest.Catalogue
	for k, stopAt := range []int{1 + rng.IntN(nts/2), nts/2 + 1 + rng.IntN(nts/2-1), -1} {
		ctx, cancel := context.WithCancel(context.Background())
		opt := Options{Run: run, Config: cfg, CPUs: 2, Append: k > 0, Feed: &partFeed{t: t, run: run, parts: parts, stop: -1},
			AfterCommit: func(c rundir.Commit) (func() error, error) {
				if stopAt > 0 && c.Timesteps >= stopAt {
					cancel()
				}
				if c.Timesteps == nts {
					last = sortedCatalogue(t, run)
				}
				return nil, nil
			}}
		_, err := RunRanks(ctx, opt, 2)
		cancel()
		if stopAt > 0 && !errors.Is(err, context.Canceled) {
			t.Fatalf("run %d: cancelled after %d timesteps: error %v", k, stopAt, err)
		}
		if stopAt < 0 && err != nil {
			t.Fatalf("run %d: %v", k, err)
		}
		if stopAt > 0 {
			t.Logf("run %d: cancelled after %d timesteps (seed %d)", k, stopAt, seed)
		}
	}
	equalTables(t, "rsm-mini live, cancelled twice", want, sortedCatalogue(t, run))
	if last == nil {
		t.Fatal("no publish after the last timestep")
	}
	last.Limits = want.Limits
	equalTables(t, "rsm-mini live, as published", want, last)
}

// TestPlanTimestepOrder: a timestep_tolerance as long as the cadence puts
// consecutive snapshots of a field in one timestep, in an order the
// association cannot take: the plan says so, naming both files and the
// setting, instead of the association's error at run time.
func TestPlanTimestepOrder(t *testing.T) {
	cfg := testConfig()
	inputs := tinyInputs(t)
	ctx := context.Background()
	ok, err := NewPlan(ctx, inputs, readOptionsOf(cfg), time.Second, assocConfig(cfg), 2)
	if err != nil {
		t.Fatal(err)
	}
	cadence := ok.Image(ok.Timesteps[1][0]).Meta.TauStart.Sub(ok.Image(ok.Timesteps[0][0]).Meta.TauStart)
	_, err = NewPlan(ctx, inputs, readOptionsOf(cfg), cadence, assocConfig(cfg), 2)
	if err == nil {
		t.Fatalf("timestep_tolerance = the cadence (%v): no error", cadence)
	}
	for _, want := range []string{"timestep_tolerance", "one sky region", ".fits"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// tinyInputs is the image files of the tiny dataset.
func tinyInputs(t *testing.T) []string {
	t.Helper()
	inputs, err := ExpandInputs([]string{filepath.Join(tiny(t), "images")})
	if err != nil {
		t.Fatal(err)
	}
	return inputs
}

// TestWorkerPoolKept: the extract stage makes its workers once and each
// prefetch (one per batch of a live run) takes the same ones back, so a
// batch does not allocate a worker's planes again; a call that needs
// more makes only the difference.
func TestWorkerPoolKept(t *testing.T) {
	xopt, err := extract.FromConfig(testConfig().Extraction)
	if err != nil {
		t.Fatal(err)
	}
	s := &extractStage{opt: xopt}
	take := func(n, most int) []*worker {
		t.Helper()
		p, err := s.workerPool(n, most)
		if err != nil {
			t.Fatal(err)
		}
		ws := make([]*worker, n)
		for k := range ws {
			ws[k] = <-p.free
		}
		for _, w := range ws {
			p.free <- w // as the prefetch's goroutines do when it ends
		}
		return ws
	}
	first := take(1, 2)
	again := take(1, 2)
	if first[0] != again[0] || s.pool.n != 1 {
		t.Errorf("second prefetch: worker %p, pool of %d; want the first's %p, a pool of 1", again[0], s.pool.n, first[0])
	}
	two := take(2, 2)
	if s.pool.n != 2 || !slices.Contains(two, first[0]) {
		t.Errorf("a prefetch of 2: pool of %d, first worker kept %v; want 2, true", s.pool.n, slices.Contains(two, first[0]))
	}
}

// TestLiveAfterCommitError: an error of AfterCommit's rest, which runs in
// the background of the next timesteps, fails the run (at the next
// publish, or at the run's end for the last commit's).
func TestLiveAfterCommitError(t *testing.T) {
	mergeSoon(t)
	data := tiny(t)
	cfg := testConfig()
	parts, nts := timestepParts(t, data)
	for _, at := range []int{1, nts} {
		t.Run(fmt.Sprintf("commit %d of %d", at, nts), func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "live")
			bad := errors.New("the rest failed")
			var after []int
			opt := Options{Run: run, Config: cfg, CPUs: 2, Feed: &partFeed{t: t, run: run, parts: parts, stop: -1},
				AfterCommit: func(c rundir.Commit) (func() error, error) {
					after = append(after, c.Timesteps)
					if c.Timesteps != at {
						return nil, nil
					}
					return func() error { return bad }, nil
				}}
			_, err := Run(context.Background(), opt)
			if !errors.Is(err, bad) {
				t.Fatalf("error %v, want %v", err, bad)
			}
			// The failure is seen before the next commit is published.
			if n := len(after); n == 0 || after[n-1] != at {
				t.Errorf("AfterCommit called for %v, want the last at %d", after, at)
			}
		})
	}
}
