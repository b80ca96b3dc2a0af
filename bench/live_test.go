package bench

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/internal/watch"
)

// t0 is the start of the sample commits (2024-03-01T21:00:00Z).
var t0 = time.Date(2024, 3, 1, 21, 0, 0, 0, time.UTC)

func TestPercentiles(t *testing.T) {
	x := make([]float64, 0, 20)
	for i := 20; i >= 1; i-- {
		x = append(x, float64(i))
	}
	// Nearest rank: p50 of 1..20 is the 10th value, p95 the 19th.
	if p := percentiles(x); p.N != 20 || p.P50 != 10 || p.P95 != 19 || p.Max != 20 {
		t.Errorf("percentiles(1..20) = %+v, want 10, 19, 20", p)
	}
	if p := percentiles([]float64{3}); p.P50 != 3 || p.P95 != 3 || p.Max != 3 {
		t.Errorf("percentiles([3]) = %+v", p)
	}
	if p := percentiles(nil); p != (Percentiles{}) {
		t.Errorf("percentiles(nil) = %+v", p)
	}
}

func TestLatencies(t *testing.T) {
	at := func(s float64) int64 {
		return time.Unix(1709326800, 0).Add(time.Duration(s * float64(time.Second))).UnixNano()
	}
	cs := []Commit{
		{Timestep: 0, Images: 8, Start: t0, Committed: at(0.5)},
		{Timestep: 1, Images: 8, Start: t0.Add(time.Second), Committed: at(1.4), VOEvents: at(1.6)},
		{Timestep: 2, Images: 7, Start: t0.Add(2 * time.Second), Committed: at(3)},
		{Timestep: 3, Images: 7, Start: t0.Add(2 * time.Second), Committed: at(9)}, // a second commit of a start: ignored
	}
	land := func(s float64) time.Time {
		return time.Unix(1709326800, 0).Add(time.Duration(s * float64(time.Second)))
	}
	steps := []ReplayTimestep{
		{Index: 0, Start: t0, Landed: land(0.2)},                  // committed at .5: 0.3 s
		{Index: 1, Start: t0.Add(time.Second), Landed: land(1.2)}, // committed 1.4: 0.2 s; VOEvents 1.6: 0.4 s
		{Index: 2, Start: t0.Add(2 * time.Second), Landed: land(2.0)},
		{Index: 3, Start: t0.Add(3 * time.Second), Landed: land(3.1)}, // not committed
	}
	l := Latencies(steps, cs)
	const eps = 1e-6 // the times are exact to the nanosecond
	near := func(a, b float64) bool { return a-b < eps && b-a < eps }
	if l.Matched != 3 || l.Uncommitted != 1 || l.Images != 23 {
		t.Errorf("matched %d, uncommitted %d, images %d: want 3, 1, 23", l.Matched, l.Uncommitted, l.Images)
	}
	if !near(l.Commit.P50, 0.3) || !near(l.Commit.P95, 1.0) || !near(l.Commit.Max, 1.0) || l.Commit.N != 3 {
		t.Errorf("commit latency %+v, want p50 0.3, p95 1.0, max 1.0 of 3", l.Commit)
	}
	if l.VOEvent.N != 1 || !near(l.VOEvent.Max, 0.4) {
		t.Errorf("VOEvent latency %+v, want 0.4 s of 1", l.VOEvent)
	}
	if !l.First.Equal(land(0.2)) || !l.Last.Equal(land(3.0)) {
		t.Errorf("first landing %v, last commit %v", l.First, l.Last)
	}
}

// TestReplay replays a small aartfaac-mini stack twice over (a loop) into
// a directory followed by a watch.Follower: every image arrives whole
// (renamed in, or written slowly in place), on schedule, with DATE-OBS
// moved on by the stack's span in the second loop.
func TestReplay(t *testing.T) {
	cfg, err := sim.Preset(sim.PresetAARTFAACMini)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{"timesteps": "3", "bands": "2", "transients": "0"} {
		if err := cfg.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	src := t.TempDir()
	if _, err := sim.Generate(context.Background(), cfg, src, sim.Options{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Settle 1 s: far above the 100 ms pauses of the slow writes, even on
	// a loaded machine.
	fol, err := watch.Follow(ctx, watch.Options{Dirs: []string{dst}, Settle: time.Second, Interval: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	const cadence = 150 * time.Millisecond
	steps, err := Replay(ctx, ReplayConfig{
		Src: src, Dst: dst, Cadence: cadence, Duration: 5*cadence + cadence/2,
		SlowEvery: 3, SlowChunks: 3, SlowPause: 100 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The timesteps due within 825 ms, at 0, 150, ..., 750 ms: the stack
	// of 3, twice.
	if len(steps) != 6 {
		t.Fatalf("%d timesteps replayed, want 6", len(steps))
	}
	for i, s := range steps {
		if len(s.Images) != 2 || s.Landed.Before(s.Due) {
			t.Errorf("timestep %d: %d images, due %v, landed %v", i, len(s.Images), s.Due, s.Landed)
		}
		if i > 0 && s.Due.Sub(steps[i-1].Due) != cadence {
			t.Errorf("timestep %d due %v after the one before, want %v", i, s.Due.Sub(steps[i-1].Due), cadence)
		}
		// The stack spans 3 s (3 snapshots 1 s apart): loop 1 starts 3 s on.
		if want := t0.Add(time.Duration(i) * time.Second); !s.Start.Equal(want) {
			t.Errorf("timestep %d starts %v, want %v", i, s.Start, want)
		}
	}
	got := map[string]watch.File{}
	for len(got) < 12 {
		select {
		case f := <-fol.Files():
			got[f.Path] = f
		case <-time.After(10 * time.Second):
			t.Fatalf("the follower took %d of 12 images", len(got))
		}
	}
	slow := 0
	for _, s := range steps {
		for _, p := range s.Images {
			f, ok := got[p]
			if !ok {
				t.Errorf("%s not taken", p)
				continue
			}
			st, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if f.Size != st.Size() {
				t.Errorf("%s taken at %d bytes, it has %d: a partial file", p, f.Size, st.Size())
			}
			if !f.Renamed {
				slow++
			}
			m, err := fitsimg.ReadMeta(p, fitsimg.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !m.TauStart.Equal(s.Start) {
				t.Errorf("%s: DATE-OBS %v, want %v", p, m.TauStart, s.Start)
			}
		}
	}
	// Every third image of 12 is written slowly, in place.
	if slow != 4 {
		t.Errorf("%d images taken by the settle rule, want the 4 written slowly", slow)
	}
	if tmp, _ := filepath.Glob(filepath.Join(dst, ".*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
}

// TestDefaultLiveJob: the job gotrap bench live writes is a valid
// configuration with the tolerance and [watch] settings it says.
func TestDefaultLiveJob(t *testing.T) {
	c, err := config.Parse("live.toml", []byte(defaultLiveJob))
	if err != nil {
		t.Fatal(err)
	}
	if c.Pipeline.TimestepTolerance != 0.5 || c.Watch.Settle != 0.5 || c.Watch.Timeout != 5 || c.Watch.PollInterval != 0.25 {
		t.Errorf("pipeline %+v, watch %+v", c.Pipeline, c.Watch)
	}
}

func TestLiveMarkdown(t *testing.T) {
	r := &LiveResult{Dataset: Dataset{Preset: "aartfaac-mini", Images: 80, Width: 256, Height: 256}, Rate: 8,
		Replayed: 20, ImagesReplayed: 80, ReplayWall: 9.5, OfferedRate: 8.4, SustainedRate: 3.7, Exit: "0",
		PeakRSS: 151_000_000, WorkBytes: 1_985_680, WorkPerTimestep: 99284, Catalogue: 823_280, CataloguePerTimestep: 41164,
		Latency: Latency{Matched: 20, Images: 80, Commit: Percentiles{N: 20, P50: 4.91, P95: 11.14, Max: 11.94}},
		Points: []LivePoint{{T: 1, RSS: 92_000_000}, {T: 12, RSS: 133_000_000, Committed: 11, WorkBytes: 1_000_000,
			GoResident: 70_000_000, GoHeapLive: 40_000_000, DuckDB: 12_000_000, Malloc: 5_000_000}}}
	var b strings.Builder
	r.WriteMarkdown(&b)
	for _, want := range []string{
		"| sustained rate | 3.7 images/s committed (20 timesteps committed, 0 not; 80 of 80 images in commits) |",
		"| latency to commit | p50 4.91 s, p95 11.14 s, max 11.94 s (20 timesteps) |",
		"| peak RSS | 151.0 MB |",
		"| RUN/work | 2.0 MB, 99.3 kB per committed timestep |",
		"| catalogue (Parquet) | 823.3 kB, 41.2 kB per committed timestep |",
		"| 12 | 133.0 MB | 70.0 MB | 40.0 MB | 12.0 MB | 5.0 MB | 11 | 1.0 MB | 0.0 kB |",
	} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("markdown lacks %q:\n%s", want, b.String())
		}
	}
}

// TestLiveSlopes: growth per committed timestep from the first sample
// with a tenth of the commits to the last; nothing to say with fewer
// than two samples past the start-up.
func TestLiveSlopes(t *testing.T) {
	pts := []LivePoint{
		{Committed: 0, WorkBytes: 1000, CatalogueBytes: 10},
		{Committed: 5, WorkBytes: 9000, CatalogueBytes: 500}, // start-up: 5*10 < 100
		{Committed: 20, WorkBytes: 10000, CatalogueBytes: 2000},
		{Committed: 100, WorkBytes: 18000, CatalogueBytes: 10000},
	}
	if w, c := LiveSlopes(pts); w != 100 || c != 100 {
		t.Errorf("slopes %v, %v; want 100, 100 bytes per timestep", w, c)
	}
	if w, c := LiveSlopes(pts[:1]); w != 0 || c != 0 {
		t.Errorf("one point: %v, %v", w, c)
	}
}
