package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
	"gotrap/reduce"
)

// rankField is a data set of the metamorphic test: a simulated field and
// a monitor position on it.
type rankField struct {
	name    string
	data    string
	monitor [2]float64
	// check asserts that the field covers what it is meant to (so that
	// the test keeps testing the seam or the pole).
	check func(t *testing.T, c *pipetest.Catalogue)
}

// runRanks runs the pipeline on n in-process ranks (1: plain Run).
func runRanks(t testing.TB, data string, cfg config.Config, n int) (string, *Summary) {
	t.Helper()
	run := filepath.Join(t.TempDir(), "run")
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	// 2 CPUs for the job, so the in-process ranks share them as the
	// command shares the machine's.
	sum, err := RunRanks(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, CPUs: 2}, n)
	if err != nil {
		t.Fatalf("%d ranks: %v", n, err)
	}
	return run, sum
}

// sortedCatalogue reads a run's catalogue with the measurements in id
// order (each rank writes the measurements of its own images, so the
// part files hold them in a rank-dependent order).
func sortedCatalogue(t testing.TB, run string) *pipetest.Catalogue {
	c := pipetest.ReadCatalogue(t, run)
	slices.SortFunc(c.Measurements, func(a, b catalog.Measurement) int { return cmp.Compare(a.ID, b.ID) })
	return c
}

// TestRanksMetamorphic is STYLE 17's metamorphic test of the whole
// decomposition: the same data give the same catalogue on 1
// rank and on 2, 3, 4 and 7 in-process ranks: every table row for row,
// ids, integers and floats bit for bit (stronger than the required 1e-12),
// measurements after sorting by id. The fields are the tiny preset, one
// across RA 0/360 and one 0.4 degrees from the north pole (its images
// reach over the pole).
func TestRanksMetamorphic(t *testing.T) {
	fields := []rankField{
		{name: "tiny", data: tiny(t), monitor: [2]float64{150.2, 53.3}},
		{name: "seam", data: pipetest.Simulate(t, "tiny", 3, "centre_ra", "0.1", "centre_dec", "20"), monitor: [2]float64{0.02, 20.1},
			check: func(t *testing.T, c *pipetest.Catalogue) {
				lo, hi := 0, 0
				for _, r := range c.Runcats {
					if r.WmRA < 1 {
						lo++
					} else if r.WmRA > 359 {
						hi++
					}
				}
				if lo == 0 || hi == 0 {
					t.Errorf("seam field: %d runcats just east of RA 0 and %d just west: want both", lo, hi)
				}
			}},
		{name: "pole", data: pipetest.Simulate(t, "tiny", 4, "centre_dec", "89.6"), monitor: [2]float64{200, 89.8},
			check: func(t *testing.T, c *pipetest.Catalogue) {
				n := 0
				for _, r := range c.Runcats {
					if r.WmDecl > 89.4 {
						n++
					}
				}
				if n == 0 {
					t.Error("pole field: no runcat above declination 89.4")
				}
			}},
	}
	ranks := []int{2, 3, 4, 7}
	if testing.Short() {
		ranks = []int{3}
	}
	for _, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Monitor.Positions = [][2]float64{f.monitor}
			ref, _ := runRanks(t, f.data, cfg, 1)
			want := sortedCatalogue(t, ref)
			if len(want.Measurements) == 0 || len(want.Runcats) == 0 {
				t.Fatalf("empty reference catalogue: %d measurements, %d runcats", len(want.Measurements), len(want.Runcats))
			}
			if f.check != nil {
				f.check(t, want)
			}
			for _, n := range ranks {
				run, sum := runRanks(t, f.data, cfg, n)
				got := sortedCatalogue(t, run)
				equalTables(t, fmt.Sprintf("%d ranks", n), want, got)
				// Every rank extracted images and wrote its part.
				for r := range n {
					p := rundir.PartPath(run, catalog.TableMeasurements, r, "blind", 0)
					if _, err := os.Stat(p); err != nil {
						t.Errorf("%d ranks: rank %d wrote no measurement part: %v", n, r, err)
					}
				}
				if sum.Ranks != n {
					t.Errorf("summary: %d ranks, want %d", sum.Ranks, n)
				}
				// Rank 0 received the other ranks' staged files.
				recv := map[string]int64{}
				for _, s := range sum.Comm {
					recv[s.Op] = s.Recv
				}
				if recv["Allgatherv"] == 0 || recv["Alltoallv"] == 0 {
					t.Errorf("%d ranks: rank 0 received %d bytes by Allgatherv, %d by Alltoallv", n, recv["Allgatherv"], recv["Alltoallv"])
				}
			}
		})
	}
}

// equalTables compares two catalogues table by table, row by row.
func equalTables(t testing.TB, what string, a, b *pipetest.Catalogue) {
	t.Helper()
	cmpRows(t, what+": images", a.Images, b.Images)
	cmpRows(t, what+": measurements", a.Measurements, b.Measurements)
	cmpRows(t, what+": associations", a.Associations, b.Associations)
	cmpRows(t, what+": runcat", a.Runcats, b.Runcats)
	cmpRows(t, what+": runcat_flux", a.Fluxes, b.Fluxes)
	cmpRows(t, what+": newsources", a.NewSources, b.NewSources)
	cmpRows(t, what+": skyregions", a.SkyRegions, b.SkyRegions)
	cmpRows(t, what+": bands", a.Bands, b.Bands)
	cmpRows(t, what+": limits", a.Limits, b.Limits)
	if len(a.Limits) == 0 {
		t.Errorf("%s: no limits", what)
	}
}

func cmpRows[T any](t testing.TB, what string, a, b []T) {
	t.Helper()
	if len(a) != len(b) {
		t.Errorf("%s: %d rows vs %d", what, len(a), len(b))
		return
	}
	for r := range a {
		// NaN != NaN: compare the formatted rows (%v prints float64
		// with the shortest representation that round-trips, so equal
		// text is equal bits).
		if x, y := fmt.Sprintf("%+v", a[r]), fmt.Sprintf("%+v", b[r]); x != y {
			t.Errorf("%s row %d differs:\n%s\n%s", what, r, x, y)
			return
		}
	}
}

// TestRankFailure: a rank that fails makes RunRanks return within
// seconds (no rank hangs in a collective) with that rank's error, which
// names the rank and the reason.
func TestRankFailure(t *testing.T) {
	data := tiny(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("disk on fire")
	run := filepath.Join(t.TempDir(), "run")
	t0 := time.Now()
	err = reduce.Run(3, func(c reduce.Comm) error {
		opt := Options{Run: run, Inputs: inputs, Config: testConfig(), CPUs: 1, Comm: c}
		if c.Rank() == 1 {
			opt.AfterStage = func(stage string) error {
				if stage == StageTimesteps {
					return boom
				}
				return nil
			}
		}
		_, err := Run(context.Background(), opt)
		return err
	})
	if dt := time.Since(t0); dt > 20*time.Second {
		t.Errorf("the job took %v to stop", dt)
	}
	var re *reduce.RankError
	if !errors.As(err, &re) || re.Rank != 1 || !errors.Is(err, boom) {
		t.Fatalf("error %v: want rank 1's %v", err, boom)
	}
	if !strings.Contains(err.Error(), "rank 1") {
		t.Errorf("error %q does not name the rank", err)
	}
}

// TestRanksResume: a run on 3 ranks resumed on 2 gives the 1-rank
// catalogue (stale part files of rank 2 are removed).
func TestRanksResume(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	ref, _ := runRanks(t, data, cfg, 1)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	// Stop after the timesteps, on every rank.
	stop := errors.New("stop")
	_, err = RunRanks(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, CPUs: 2,
		AfterStage: func(s string) error {
			if s == StageTimesteps {
				return stop
			}
			return nil
		}}, 3)
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want %v", err, stop)
	}
	// A stale part of an earlier attempt on more ranks.
	stale := rundir.PartPath(run, catalog.TableMeasurements, 5, "blind", 0)
	if err := catalog.WriteFile(stale, []catalog.Measurement{{ID: 1}}); err != nil {
		t.Fatal(err)
	}
	sum, err := RunRanks(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, CPUs: 2, Resume: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Reused != 16 || sum.ExtractedNow != 0 {
		t.Errorf("resume extracted %d and reused %d images, want 0 and 16", sum.ExtractedNow, sum.Reused)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale part %s still there (%v)", stale, err)
	}
	equalTables(t, "3 ranks resumed on 2", sortedCatalogue(t, ref), sortedCatalogue(t, run))
}

// TestRankFailureInForcedFits: an image that fails (a panic) in the
// forced-fit stage, which runs concurrently with the blind association,
// stops every rank within seconds with an error naming the rank and the
// image.
func TestRankFailureInForcedFits(t *testing.T) {
	data := tiny(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	victim := injectFault(t, StepForced)
	t0 := time.Now()
	_, err = RunRanks(context.Background(), Options{Run: filepath.Join(t.TempDir(), "run"), Inputs: inputs, Config: testConfig(), CPUs: 2}, 3)
	if dt := time.Since(t0); dt > 20*time.Second {
		t.Errorf("the job took %v to stop", dt)
	}
	t.Logf("error: %v", err)
	img := victim.Load()
	if img == nil {
		t.Fatalf("no forced fit ran; error %v", err)
	}
	checkImageFailure(t, err, img)
}

// injectFault makes the first image of stage panic with "injected fault"
// (testHookImage, reset when the test ends) and returns where that image
// is stored.
func injectFault(t *testing.T, stage string) *atomic.Pointer[Image] {
	t.Helper()
	var once sync.Once
	var victim atomic.Pointer[Image]
	testHookImage = func(st string, img *Image) {
		if st != stage {
			return
		}
		once.Do(func() {
			victim.Store(img)
			panic("injected fault")
		})
	}
	t.Cleanup(func() { testHookImage = nil })
	return &victim
}

// checkImageFailure asserts that err is a rank's failure of image img by
// the injected fault, naming the rank, the image and each of also.
func checkImageFailure(t *testing.T, err error, img *Image, also ...string) {
	t.Helper()
	var re *reduce.RankError
	if !errors.As(err, &re) || !errors.Is(err, ErrImageFailed) {
		t.Fatalf("error %v: want a rank's image failure", err)
	}
	for _, want := range append([]string{fmt.Sprintf("rank %d", re.Rank), img.Path, "injected fault"}, also...) {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestRanksTiles is the metamorphic test over tile sizes (STYLE 17):
// the association distributed over sky tiles of 0.01 degrees
// dealt to the ranks in turn (every tile edge a rank boundary: runcats
// migrate as their mean positions move), of 0.05 degrees (smaller than
// the search radius: many measurements go to several ranks), 0.3 and 2
// degrees, a
// hemisphere (one tile holds the whole field, so one rank associates),
// and tile_deg = 0 (rank 0 associates) give the 1-rank catalogue, bit for
// bit, on the tiny field, across RA 0/360 and at the pole.
func TestRanksTiles(t *testing.T) {
	fields := []rankField{
		{name: "tiny", data: tiny(t), monitor: [2]float64{150.2, 53.3}},
		{name: "seam", data: pipetest.Simulate(t, "tiny", 3, "centre_ra", "0.1", "centre_dec", "20"), monitor: [2]float64{0.02, 20.1}},
		{name: "pole", data: pipetest.Simulate(t, "tiny", 4, "centre_dec", "89.6"), monitor: [2]float64{200, 89.8}},
	}
	cases := []struct {
		tile    float64
		ranks   int
		scatter bool // tile id mod ranks: every tile edge a rank boundary
	}{{0.01, 3, true}, {0.05, 4, false}, {0.3, 3, false}, {2, 2, false}, {180, 3, false}, {0, 3, false}}
	if testing.Short() {
		cases = cases[:1]
	}
	var mu sync.Mutex
	var got distStats // summed over ranks
	testHookDist = func(_ int, st distStats) {
		mu.Lock()
		defer mu.Unlock()
		got.received += st.received
		got.boundary += st.boundary
		got.emigrants += st.emigrants
	}
	defer func() { testHookDist = nil }()
	// Rank 0 receives the ranks' tables 5 rows at a time: many rounds of
	// the gather, and merges cut anywhere.
	defer func(n int) { chunkRows = n }(chunkRows)
	chunkRows = 5
	migrated := 0
	defer func() {
		// Positions move by arcseconds: some runcats cross a 36" tile.
		if !t.Failed() && migrated == 0 {
			t.Error("no runcat migrated between ranks")
		}
	}()
	for _, f := range fields {
		t.Run(f.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Monitor.Positions = [][2]float64{f.monitor}
			ref, _ := runRanks(t, f.data, cfg, 1)
			want := sortedCatalogue(t, ref)
			if len(want.Runcats) == 0 {
				t.Fatal("empty reference catalogue")
			}
			for _, c := range cases {
				what := fmt.Sprintf("tile_deg %g, %d ranks", c.tile, c.ranks)
				got = distStats{}
				cfg.Pipeline.TileDeg = c.tile
				testScatterTiles = c.scatter
				run, _ := runRanks(t, f.data, cfg, c.ranks)
				testScatterTiles = false
				equalTables(t, what, want, sortedCatalogue(t, run))
				if _, err := os.Stat(rundir.LinksDir(run)); !errors.Is(err, os.ErrNotExist) {
					t.Errorf("%s: the link files' directory is left: %v", what, err)
				}
				s := got
				t.Logf("%s: %+v", what, s)
				if c.scatter {
					migrated += s.emigrants
				}
				switch {
				case s.received < len(want.Measurements)/2:
					t.Errorf("%s: %+v: want the blind measurements received", what, s)
				case c.tile == 0 && (s.boundary != 0 || s.emigrants != 0):
					t.Errorf("%s: %+v: one tile, rank 0's: nothing should cross ranks", what, s)
				case c.scatter && s.boundary == 0:
					t.Errorf("%s: %+v: scattered small tiles should send measurements to several ranks", what, s)
				case c.tile == 0.05 && s.boundary == 0:
					t.Errorf("%s: %+v: small tiles should send measurements to several ranks", what, s)
				case c.tile == 180 && (s.boundary != 0 || s.emigrants != 0):
					t.Errorf("%s: %+v: one tile holds the field: nothing should cross ranks", what, s)
				}
			}
		})
	}
}

// TestDefaultLookahead: one image per worker without a memory limit or
// when it holds them, fewer when the limit is tight, never below one.
func TestDefaultLookahead(t *testing.T) {
	const rsm = 1280 * 1280 // 6.5 MB of float32 pixels, 39 MB held per image
	for _, c := range []struct {
		name       string
		workers    int
		pix, limit int64
		size, want int
	}{
		{"no limit", 4, rsm, math.MaxInt64, 1, 4},
		{"no images", 4, 0, 1 << 30, 1, 4},
		{"roomy: 8 GiB", 4, rsm, 8 << 30, 1, 4},
		// 1 GiB / 4 = 256 MiB: 6 images of 39 MiB; minus 4 being fitted
		// and the one associated leaves 1.
		{"tight: 1 GiB", 4, rsm, 1 << 30, 1, 1},
		// 2 GiB / 4 = 512 MiB: 13 images; 13 - 2 - 1 = 10, capped at 2.
		{"2 GiB, 2 workers", 2, rsm, 2 << 30, 1, 2},
		// The same limit shared by 4 in-process ranks: 3 images a rank,
		// 3 - 2 - 1 = 0, at least 1.
		{"shared by 4 ranks", 2, rsm, 2 << 30, 4, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := defaultLookahead(c.workers, c.pix, c.limit, c.size); got != c.want {
				t.Errorf("defaultLookahead(%d, %d, %d, %d) = %d, want %d", c.workers, c.pix, c.limit, c.size, got, c.want)
			}
		})
	}
}
