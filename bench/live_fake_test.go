package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/internal/watch"
)

// fakeWatchEnv makes the test binary act as "gotrap watch" (TestMain).
const fakeWatchEnv = "GOTRAP_BENCH_FAKE_WATCH"

// fakeDieEnv makes the fake watch fail after that many commits, as a
// crash does (TestLiveWatchDies).
const fakeDieEnv = "GOTRAP_BENCH_FAKE_DIE"

// holdMemEnv makes the test binary hold that many MiB resident for 1 s
// (TestMain; TestTraceRSSVanishedChild).
const holdMemEnv = "GOTRAP_BENCH_HOLD_MIB"

func TestMain(m *testing.M) {
	if os.Getenv(fakeWatchEnv) == "1" {
		os.Exit(fakeWatch(os.Args[1:]))
	}
	if n, err := strconv.Atoi(os.Getenv(holdMemEnv)); err == nil {
		b := make([]byte, n<<20)
		for i := range b {
			b[i] = byte(i)
		}
		if os.Getenv(holdMemEnv+"_CHILD") != "" {
			// A small child, as a watch's exec action.
			exec.Command("sleep", "0.3").Run()
		}
		time.Sleep(time.Second)
		runtime.KeepAlive(b)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// fakeWatch is a stand-in for the engine's "gotrap watch --out RUN -c JOB
// DIR" that keeps its contract with Live: it follows DIR (package watch),
// closes timesteps (learned count, 2 s timeout), and per closed timestep
// appends a line to RUN/logs/commits.jsonl (VOEvents 1 ms later for odd
// timesteps), 60 bytes to RUN/work/links and 100 to RUN/runcat.parquet;
// it writes RUN/status.json and exits 0 on SIGTERM.
func fakeWatch(args []string) int {
	if len(args) != 6 || args[0] != "watch" || args[1] != "--out" || args[3] != "-c" {
		fmt.Fprintf(os.Stderr, "fake watch: unexpected arguments %q\n", args)
		return 2
	}
	run, dir := args[2], args[5]
	for _, d := range []string{"logs", "work"} {
		if err := os.MkdirAll(filepath.Join(run, d), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	fol, err := watch.Follow(ctx, watch.Options{Dirs: []string{dir}, Settle: 500 * time.Millisecond, Interval: 50 * time.Millisecond})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	tr := watch.NewTracker("inotify", nil)
	watch.WriteStatus(run, tr.Status())
	cl := &watch.Closer{Tolerance: 500 * time.Millisecond, Timeout: 2 * time.Second}
	appendTo := func(name string, b []byte) {
		f, err := os.OpenFile(filepath.Join(run, name), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			f.Write(b)
			f.Close()
		}
	}
	n := 0
	die, _ := strconv.Atoi(os.Getenv(fakeDieEnv))
	commit := func(steps []watch.Timestep) {
		for _, ts := range steps {
			if die > 0 && n == die {
				fmt.Fprintf(os.Stderr, "fake watch: panic after %d commits\n", n)
				os.Exit(3)
			}
			now := time.Now()
			c := Commit{Timestep: n, Images: len(ts.Images), Start: ts.Start, Committed: now.UnixNano()}
			if n%2 == 1 {
				c.VOEvents = now.Add(time.Millisecond).UnixNano()
			}
			if err := watch.AppendCommit(run, c); err != nil {
				fmt.Fprintln(os.Stderr, err)
			}
			appendTo("work/links", make([]byte, 60))
			appendTo("runcat.parquet", make([]byte, 100))
			var paths []string
			for _, im := range ts.Images {
				paths = append(paths, im.Path)
			}
			n++
			tr.Committed(int64(n), paths)
		}
		watch.WriteStatus(run, tr.Status())
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return 0
		case <-tick.C:
			commit(cl.Tick())
		case f, ok := <-fol.Files():
			if !ok {
				return 0
			}
			tr.Landed(f.Path, f.Landed)
			m, err := fitsimg.ReadMeta(f.Path, fitsimg.Options{})
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			closed, late := cl.Add(watch.Image{Path: f.Path, Start: m.TauStart})
			if late != nil {
				tr.Late(f.Path)
			}
			commit(closed)
		}
	}
}

// TestLiveFakeWatch runs Live end to end against fakeWatch: a reused
// dataset replayed at 2 images/s (a timestep of 2 images every second,
// longer than a slow image's 150 ms of writing plus the fake's 500 ms
// settle time, so no image is late; the pauses of 50 ms are far below
// the settle time, so none is taken partial),
// the child started and stopped with SIGTERM (exit 0), every
// replayed timestep matched with its commit, and the sizes per timestep
// that the fake writes.
func TestLiveFakeWatch(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeWatchEnv, "1")
	data, sets := fakeDataset(t)
	res, err := Live(context.Background(), LiveConfig{
		Binary: bin, Preset: sim.PresetAARTFAACMini, Seed: 1, Sets: sets, Data: data,
		Rate: 2, SlowEvery: 4, Drain: 20 * time.Second, Sample: 50 * time.Millisecond, Probe: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Dataset.Reused || res.Replayed != 4 || res.ImagesReplayed != 8 {
		t.Errorf("dataset reused %v, %d timesteps and %d images replayed: want the cached 4 and 8", res.Dataset.Reused, res.Replayed, res.ImagesReplayed)
	}
	l := res.Latency
	// The fake learns 2 images per timestep after two timesteps, so the
	// last closes by count: all 4 commit within the drain.
	if l.Matched != 4 || l.Uncommitted != 0 || l.Images != 8 || l.Commit.N != 4 || l.VOEvent.N != 2 {
		t.Errorf("latency %+v: want 4 timesteps committed (8 images), 2 with VOEvents", l)
	}
	// A latency is positive (commit after landing) and below the fake's
	// slowest path: the settle time of a slow image plus the 2 s timeout.
	if !(l.Commit.P50 > 0) || l.Commit.Max > 5 || l.VOEvent.Max < l.Commit.P50/2 {
		t.Errorf("commit latency %+v, VOEvents %+v", l.Commit, l.VOEvent)
	}
	if res.Exit != "0" {
		t.Errorf("gotrap watch exit %q after SIGTERM, want 0", res.Exit)
	}
	if res.WorkPerTimestep != 60 || res.CataloguePerTimestep != 100 {
		t.Errorf("bytes per timestep: work %v, catalogue %v; want 60 and 100 (what the fake writes)", res.WorkPerTimestep, res.CataloguePerTimestep)
	}
	if len(res.Points) == 0 || res.Points[len(res.Points)-1].RSS <= 0 || res.PeakRSS <= 0 {
		t.Errorf("no RSS sampled over time: %+v, peak %d", res.Points, res.PeakRSS)
	}
	if !(res.SustainedRate > 0) || !(res.OfferedRate > 0) {
		t.Errorf("rates: sustained %v, offered %v", res.SustainedRate, res.OfferedRate)
	}
}

// TestLiveWatchDies: a watch that fails during the replay stops the
// bench at once (not after --duration) with an error that quotes its
// stderr.
func TestLiveWatchDies(t *testing.T) {
	bin, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(fakeWatchEnv, "1")
	t.Setenv(fakeDieEnv, "2")
	data, sets := fakeDataset(t)
	start := time.Now()
	_, err = Live(context.Background(), LiveConfig{
		Binary: bin, Preset: sim.PresetAARTFAACMini, Seed: 1, Sets: sets, Data: data,
		Rate: 4, Duration: 2 * time.Minute, Drain: 20 * time.Second, Sample: 50 * time.Millisecond, Probe: 200 * time.Millisecond,
	})
	// The fake dies at its third timestep, a few seconds in (2 images a
	// timestep at 4 images/s, the 2 s timeout of the first timesteps).
	if err == nil || !strings.Contains(err.Error(), "panic after 2 commits") || !strings.Contains(err.Error(), "ended during the replay") {
		t.Fatalf("error %v, want the watch's end during the replay with its stderr", err)
	}
	if d := time.Since(start); d > time.Minute {
		t.Errorf("the bench returned after %v, not at the watch's end", d)
	}
}

// fakeDataset generates a cached aartfaac-mini dataset of 4 timesteps of
// 2 bands, no transients, and returns the cache root and the settings.
func fakeDataset(t *testing.T) (data string, sets []string) {
	t.Helper()
	data = t.TempDir()
	sets = []string{"timesteps=4", "bands=2", "transients=0"}
	dir := DatasetDir(data, sim.PresetAARTFAACMini, 1, sets)
	cfg, err := sim.Preset(sim.PresetAARTFAACMini)
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range [][2]string{{"timesteps", "4"}, {"bands", "2"}, {"transients", "0"}} {
		if err := cfg.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := sim.Generate(context.Background(), cfg, dir, sim.Options{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, readyFile), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return data, sets
}
