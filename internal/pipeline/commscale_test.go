package pipeline

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/tabwriter"
	"time"

	"gotrap/catalog/assoc"
	"gotrap/internal/config"
	"gotrap/internal/pipeline/pipetest"
)

// The communication of the engine as the ranks grow (docs/performance.md
// "Communication at scale"): the bytes each rank sends per timestep, by
// purpose, and the collectives per timestep, on a wide simulated sky.

// wideSky simulates the wide field of the communication measurements
// (seed 15): the RSM layout of 7 beams (the centre and the ring at 5
// degrees, about 16 degrees across) at a third of its resolution, so
// that the images are small: 384x384 px of 60" (6.4 degrees, as the
// RSM's 1280 px of 20" are 7.1), a restoring beam of 420" x 336" (7 x 5.6
// px at 150 MHz, as the RSM's 140" x 112" is at 20"), steady sources at
// 1.1 per square degree (about 45 per image: the RSM's density per beam
// area), isolation of variables and transients scaled by 3 (30'), no bad
// images. bands keeps the first bands of the RSM's four.
func wideSky(tb testing.TB, timesteps, bands int) string {
	tb.Helper()
	return pipetest.Simulate(tb, "rsm-mini", 15, "beams", "7", "size", "384", "pixel_arcsec", "60",
		"bmaj_arcsec", "420", "bmin_arcsec", "336", "steady_density", "1.1", "isolation_arcmin", "30",
		"bad_images", "0", "timesteps", strconv.Itoa(timesteps), "bands", strconv.Itoa(bands))
}

// wideConfig is the job configuration of the wide sky: tiles of 0.5
// degrees (about 860 tiles carry images, 13 per rank at 64 ranks; the
// association's search radius, the halo, is 3 x 210" = 0.175 degrees),
// and a monitor at the field centre.
func wideConfig() config.Config {
	cfg := config.Default()
	cfg.Pipeline.TileDeg = 0.5
	cfg.Monitor.Positions = [][2]float64{{150, 52.91}}
	return cfg
}

// commRank is one rank's counts of a run.
type commRank struct {
	dist   distStats // the timesteps stage
	tables commUse   // the catalogue tables gathered to rank 0
}

// commRun is one run of the communication measurement.
type commRun struct {
	n     int
	ranks []commRank
	wall  time.Duration
	cat   *pipetest.Catalogue
}

// measureComm runs the pipeline on data with n in-process ranks and
// returns every rank's counts (through testHookDist and testHookTables)
// and the catalogue.
func measureComm(tb testing.TB, data string, cfg config.Config, n int) commRun {
	tb.Helper()
	res := commRun{n: n, ranks: make([]commRank, n)}
	var mu sync.Mutex
	seen := make([]int, n)
	testHookDist = func(r int, st distStats) {
		mu.Lock()
		defer mu.Unlock()
		res.ranks[r].dist = st
		seen[r]++
	}
	testHookTables = func(r int, u commUse) {
		mu.Lock()
		defer mu.Unlock()
		res.ranks[r].tables = u
		seen[r]++
	}
	defer func() { testHookDist, testHookTables = nil, nil }()
	t0 := time.Now()
	run, _ := runRanks(tb, data, cfg, n)
	res.wall = time.Since(t0)
	for r, k := range seen {
		if k != 2 {
			tb.Fatalf("%d ranks: rank %d reported its counts %d times, want 2", n, r, k)
		}
	}
	res.cat = sortedCatalogue(tb, run)
	return res
}

// perRank returns the mean and the largest over the ranks of f, per
// timestep.
func (c *commRun) perRank(f func(*commRank) int64) (mean, most float64) {
	ts := float64(c.ranks[0].dist.timesteps)
	var sum int64
	for r := range c.ranks {
		v := f(&c.ranks[r])
		sum += v
		most = max(most, float64(v)/ts)
	}
	return float64(sum) / float64(len(c.ranks)) / ts, most
}

// sum returns f summed over the ranks.
func (c *commRun) sum(f func(*commRank) int64) int64 {
	var s int64
	for r := range c.ranks {
		s += f(&c.ranks[r])
	}
	return s
}

// writeCommTable prints the measurements of runs (the first with one
// rank): bytes sent per rank per timestep by purpose (the mean over the
// ranks), all bytes sent and received (mean and largest rank), the
// collectives per timestep and the halo copies of blind measurements.
func writeCommTable(w io.Writer, runs []commRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "ranks\ttiles/rank\tcollectives/ts (AGv+A2Av+other)\tblind meas\truncats\tfacts\trequests+holders\tforced fits\timages rows\ttables\tsent mean\tsent max\trecv mean\trecv max\thalo copies\twall s\t")
	m1 := runs[0].sum(func(r *commRank) int64 { return int64(r.dist.received) })
	for _, c := range runs {
		d0 := c.ranks[0].dist
		ts := float64(d0.timesteps)
		mean := func(f func(*commRank) int64) string {
			m, _ := c.perRank(f)
			return fmt.Sprintf("%.0f", m)
		}
		sentMean, sentMax := c.perRank(func(r *commRank) int64 { return r.dist.comm.sent + r.tables.sent })
		recvMean, recvMax := c.perRank(func(r *commRank) int64 { return r.dist.comm.recv + r.tables.recv })
		copies := c.sum(func(r *commRank) int64 { return int64(r.dist.received) }) - m1
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f (%.1f+%.1f+%.1f)\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%.0f\t%.0f\t%.1f%%\t%.1f\t\n",
			c.n, float64(d0.tiles)/float64(c.n),
			float64(d0.comm.calls())/ts, float64(d0.comm.allgatherv)/ts, float64(d0.comm.alltoallv)/ts, float64(d0.comm.other)/ts,
			mean(func(r *commRank) int64 { return int64(r.dist.sentMeas) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentRuncats) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentFacts) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentReqs) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentFits) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentRows) }),
			mean(func(r *commRank) int64 { return r.tables.sent }),
			sentMean, sentMax, recvMean, recvMax, 100*float64(copies)/float64(m1), c.wall.Seconds())
	}
	tw.Flush()
}

// TestCommScale measures the communication on a small wide sky (3
// timesteps of 7 beams in 2 bands: 42 images) with 1, 2 and 4 ranks and
// checks what the protocol (dist.go) fixes:
//   - every rank count gives the catalogue of one rank, table for table;
//   - one rank sends nothing;
//   - every rank takes part in the same collectives, and their number per
//     timestep is set by the images, not the ranks: one Alltoallv per
//     accepted image and at most one more per timestep (the fits), one
//     Allgatherv per timestep (images rows), one more with accepted
//     images (requests) and at most two per image (facts) and one per
//     timestep (holders);
//   - the halo copies: every blind measurement reaches its home rank and
//     each rank of a tile whose halo holds it; those sent to several
//     ranks (boundary) reach at least two, so with M measurements, B the
//     boundary deliveries summed over the ranks and R all deliveries,
//     B/2 <= R - M <= B (R - M = B - (distinct boundary measurements));
//   - the blind-measurement bytes: each delivery to another rank than the
//     image's owner is one wire record and one flag byte, and the owner
//     keeps at most M of them: (W+1)(R-M) <= sent <= (W+1)R;
//   - the bytes by purpose are part of what reduce.Counting counts (the
//     rest: the messages' headers);
//   - the halo copies grow with the ranks: the tile blocks of 4 ranks
//     are cut from the same serpentine order as those of 2, with three
//     boundaries for one.
func TestCommScale(t *testing.T) {
	data := wideSky(t, 3, 2)
	cfg := wideConfig()
	var runs []commRun
	for _, n := range []int{1, 2, 4} {
		runs = append(runs, measureComm(t, data, cfg, n))
	}
	var tab strings.Builder
	writeCommTable(&tab, runs)
	t.Log("bytes per rank per timestep:\n" + tab.String())
	ref := runs[0]
	m := int64(ref.ranks[0].dist.received)
	if m < 500 {
		t.Fatalf("1 rank: %d blind measurements associated; the wide sky should give over 500", m)
	}
	accepted, timesteps := int64(0), int64(ref.ranks[0].dist.timesteps)
	for _, img := range ref.cat.Images {
		if !img.Rejected {
			accepted++
		}
	}
	for _, c := range runs {
		what := fmt.Sprintf("%d ranks", c.n)
		if c.n > 1 {
			equalTables(t, what, ref.cat, c.cat)
		}
		d0 := c.ranks[0].dist
		for r, k := range c.ranks {
			if k.dist.comm.allgatherv != d0.comm.allgatherv || k.dist.comm.alltoallv != d0.comm.alltoallv || k.dist.comm.other != d0.comm.other {
				t.Errorf("%s: rank %d took part in %v, rank 0 in %v", what, r, k.dist.comm, d0.comm)
			}
			d := k.dist
			parts := int64(d.sentMeas + d.sentRuncats + d.sentFacts + d.sentReqs + d.sentFits + d.sentRows)
			if parts > d.comm.sent {
				t.Errorf("%s: rank %d: %d bytes by purpose, more than the %d reduce.Counting counted", what, r, parts, d.comm.sent)
			}
			if c.n == 1 && (parts != 0 || d.comm.sent != 0 || k.tables.sent != 0) {
				t.Errorf("1 rank: %d bytes by purpose, %d counted, %d of tables sent: want none", parts, d.comm.sent, k.tables.sent)
			}
		}
		a2a, agv := d0.comm.alltoallv, d0.comm.allgatherv
		if a2a < accepted || a2a > accepted+timesteps {
			t.Errorf("%s: %d Alltoallv in %d timesteps of %d accepted images: want %d to %d", what, a2a, timesteps, accepted, accepted, accepted+timesteps)
		}
		if agv < timesteps+1 || agv > 2*timesteps+2*accepted+timesteps {
			t.Errorf("%s: %d Allgatherv in %d timesteps of %d accepted images: want %d to %d", what, agv, timesteps, accepted, timesteps+1, 3*timesteps+2*accepted)
		}
		if d0.comm.other != 0 {
			t.Errorf("%s: %d other collectives in the timesteps: want none", what, d0.comm.other)
		}
		recv := c.sum(func(r *commRank) int64 { return int64(r.dist.received) })
		bnd := c.sum(func(r *commRank) int64 { return int64(r.dist.boundary) })
		if copies := recv - m; copies < 0 || 2*copies < bnd || copies > bnd {
			t.Errorf("%s: %d deliveries of %d measurements, %d of them boundary: want B/2 <= R-M <= B", what, recv, m, bnd)
		}
		w := int64(assoc.WireSize() + 1)
		sent := c.sum(func(r *commRank) int64 { return int64(r.dist.sentMeas) })
		if sent%w != 0 || sent < w*(recv-m) || sent > w*recv {
			t.Errorf("%s: %d bytes of blind measurements sent for %d deliveries of %d measurements (%d B each): want (W+1)(R-M) <= sent <= (W+1)R",
				what, sent, recv, m, w)
		}
	}
	c2 := runs[1].sum(func(r *commRank) int64 { return int64(r.dist.received) }) - m
	c4 := runs[2].sum(func(r *commRank) int64 { return int64(r.dist.received) }) - m
	if c2 <= 0 || c4 <= c2 {
		t.Errorf("halo copies: %d with 2 ranks, %d with 4: want 0 < copies(2) < copies(4)", c2, c4)
	}
}

// BenchmarkCommScale prints the communication table of the wide sky (8
// timesteps of 7 beams in 4 bands: 224 images, 28 per timestep as the
// RSM's 24) for 1 to 64 in-process ranks, after checking that every rank
// count gives the catalogue of one rank. Run it alone; the in-process
// ranks share the machine's CPUs (the wall times are not a scaling
// measurement):
//
//	go test ./internal/pipeline -run '^$' -bench CommScale -benchtime 1x
//
// GOTRAP_COMM_RANKS (e.g. "1,2,4") chooses the rank counts.
func BenchmarkCommScale(b *testing.B) {
	data := wideSky(b, 8, 4)
	cfg := wideConfig()
	ns := []int{1, 2, 4, 8, 16, 32, 64}
	if v := os.Getenv("GOTRAP_COMM_RANKS"); v != "" {
		ns = nil
		for _, f := range strings.Split(v, ",") {
			n, err := strconv.Atoi(f)
			if err != nil || n < 1 {
				b.Fatalf("GOTRAP_COMM_RANKS=%q: want rank counts", v)
			}
			ns = append(ns, n)
		}
	}
	for b.Loop() {
		var runs []commRun
		for _, n := range ns {
			c := measureComm(b, data, cfg, n)
			if len(runs) > 0 {
				equalTables(b, fmt.Sprintf("%d ranks", n), runs[0].cat, c.cat)
			}
			runs = append(runs, c)
		}
		fmt.Fprintf(os.Stdout, "wide sky: %d images in %d timesteps, %d blind measurements; bytes per rank per timestep:\n",
			len(runs[0].cat.Images), runs[0].ranks[0].dist.timesteps, runs[0].ranks[0].dist.received)
		writeCommTable(os.Stdout, runs)
	}
}
