package pipeline

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
// 1.1 per square degree (about 45 per image, the RSM's density per beam
// area; 15 per image are detected), isolation of variables and transients scaled by 3 (30'), no bad
// images. bands keeps the first bands of the RSM's four.
func wideSky(tb testing.TB, timesteps, bands int) string {
	tb.Helper()
	return pipetest.Simulate(tb, "rsm-mini", 15, "beams", "7", "size", "384", "pixel_arcsec", "60",
		"bmaj_arcsec", "420", "bmin_arcsec", "336", "steady_density", "1.1", "isolation_arcmin", "30",
		"bad_images", "0", "timesteps", strconv.Itoa(timesteps), "bands", strconv.Itoa(bands))
}

// wideConfig is the job configuration of the wide sky: tiles of 0.5
// degrees (1,165 tiles carry images, 18 per rank at 64 ranks; the
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
	cpu   float64 // CPU seconds of this process during the run
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
	t0, c0 := time.Now(), cpuSeconds(tb)
	run, _ := runRanks(tb, data, cfg, n)
	res.wall, res.cpu = time.Since(t0), cpuSeconds(tb)-c0
	for r, k := range seen {
		if k != 2 {
			tb.Fatalf("%d ranks: rank %d reported its counts %d times, want 2", n, r, k)
		}
	}
	res.cat = sortedCatalogue(tb, run)
	return res
}

// cpuSeconds is the user and system CPU time of this process so far.
func cpuSeconds(tb testing.TB) float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}

// purposes is the bytes a rank sent in the timesteps stage by purpose.
func (r *commRank) purposes() int64 {
	d := &r.dist
	return int64(d.sentMeas + d.sentRuncats + d.sentFacts + d.sentReqs + d.sentFits + d.sentRows)
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
// rank), per timestep: the collectives (every rank takes part in the
// same), the bytes sent per rank by purpose (the mean over the ranks;
// headers are the rest of the timesteps stage's payload: the parts'
// lengths and flags; tables is the run's gather of the catalogue to rank
// 0, spread over its timesteps), all bytes sent (mean and largest rank),
// the bytes received by Allgatherv and Alltoallv (mean) and in all
// (largest rank), the halo copies of blind measurements (deliveries
// beyond one per measurement), and the CPU and wall time of the run.
func writeCommTable(w io.Writer, runs []commRun) {
	tw := tabwriter.NewWriter(w, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
	fmt.Fprintln(tw, "ranks\ttiles/rank\tAGv/ts\tA2Av/ts\tblind meas\truncats\tfacts\treqs+holders\tforced fits\timages rows\theaders\ttables\tsent mean\tsent max\trecv AGv\trecv A2Av\trecv max\thalo copies\tcpu s\twall s\t")
	m1 := runs[0].sum(func(r *commRank) int64 { return int64(r.dist.received) })
	for _, c := range runs {
		d0 := c.ranks[0].dist
		ts := float64(d0.timesteps)
		mean := func(f func(*commRank) int64) string {
			m, _ := c.perRank(f)
			return fmt.Sprintf("%.0f", m)
		}
		sentMean, sentMax := c.perRank(func(r *commRank) int64 { return r.dist.comm.total().sent + r.tables.total().sent })
		_, recvMax := c.perRank(func(r *commRank) int64 { return r.dist.comm.total().recv + r.tables.total().recv })
		copies := c.sum(func(r *commRank) int64 { return int64(r.dist.received) }) - m1
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.1f\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t%s\t%s\t%.0f\t%.1f%%\t%.1f\t%.1f\t\n",
			c.n, float64(d0.tiles)/float64(c.n), float64(d0.comm.allgatherv.calls)/ts, float64(d0.comm.alltoallv.calls)/ts,
			mean(func(r *commRank) int64 { return int64(r.dist.sentMeas) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentRuncats) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentFacts) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentReqs) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentFits) }),
			mean(func(r *commRank) int64 { return int64(r.dist.sentRows) }),
			mean(func(r *commRank) int64 { return r.dist.comm.total().sent - r.purposes() }),
			mean(func(r *commRank) int64 { return r.tables.total().sent }),
			sentMean, sentMax,
			mean(func(r *commRank) int64 { return r.dist.comm.allgatherv.recv }),
			mean(func(r *commRank) int64 { return r.dist.comm.alltoallv.recv }),
			recvMax, 100*float64(copies)/float64(m1), c.cpu, c.wall.Seconds())
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
//     accepted image and at most one more per timestep (the fits); per
//     timestep, one to one per image Allgatherv of images rows, and per
//     accepted image one (requests) and at most two more (facts), and one
//     per timestep (holders);
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
	accepted, timesteps, images := int64(0), int64(ref.ranks[0].dist.timesteps), int64(len(ref.cat.Images))
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
			d := k.dist
			if d.comm.allgatherv.calls != d0.comm.allgatherv.calls || d.comm.alltoallv.calls != d0.comm.alltoallv.calls || d.comm.other.calls != d0.comm.other.calls {
				t.Errorf("%s: rank %d took part in %v, rank 0 in %v", what, r, d.comm, d0.comm)
			}
			if p := k.purposes(); p > d.comm.total().sent {
				t.Errorf("%s: rank %d: %d bytes by purpose, more than the %d reduce.Counting counted", what, r, p, d.comm.total().sent)
			}
			if c.n == 1 && (k.purposes() != 0 || d.comm.total().sent != 0 || k.tables.total().sent != 0) {
				t.Errorf("1 rank: %d bytes by purpose, %d counted, %d of tables sent: want none", k.purposes(), d.comm.total().sent, k.tables.total().sent)
			}
		}
		a2a, agv := d0.comm.alltoallv.calls, d0.comm.allgatherv.calls
		if a2a < accepted || a2a > accepted+timesteps {
			t.Errorf("%s: %d Alltoallv in %d timesteps of %d accepted images: want %d to %d", what, a2a, timesteps, accepted, accepted, accepted+timesteps)
		}
		if lo, hi := 2*timesteps+accepted, images+3*accepted+timesteps; agv < lo || agv > hi {
			t.Errorf("%s: %d Allgatherv in %d timesteps of %d images, %d accepted: want %d to %d", what, agv, timesteps, images, accepted, lo, hi)
		}
		// One Barrier per timestep on several ranks: every rank's staged
		// files are durable before rank 0 records the commit
		// (stream.timesteps).
		if want := timesteps * int64(min(1, c.n-1)); d0.comm.other.calls != want {
			t.Errorf("%s: %d other collectives in %d timesteps: want %d (a Barrier per timestep on several ranks)", what, d0.comm.other.calls, timesteps, want)
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
		// The share of deliveries to another rank than the image's
		// owner: the owners (decomp.AssignLPTFrom over the images) do
		// not depend on the sky, so an image's owner holds 1/N of the
		// tiles its measurements fall on, on average over the images,
		// and the share is (N-1)/N. Tolerance: the mean over the 42
		// images of a share in [0, 1] (standard deviation at most 0.5)
		// has a standard error of at most 0.08; 0.15 is about 2 of them.
		if c.n > 1 {
			share, want := float64(sent)/float64(w*recv), float64(c.n-1)/float64(c.n)
			t.Logf("%s: %.3f of the blind-measurement deliveries went to another rank (expected %.3f)", what, share, want)
			if math.Abs(share-want) > 0.15 {
				t.Errorf("%s: %.3f of the blind-measurement deliveries went to another rank than the image's owner: want %.3f +- 0.15", what, share, want)
			}
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
		writeProjection(os.Stdout, runs, len(runs[0].cat.Images)/runs[0].ranks[0].dist.timesteps)
	}
}

// The model of docs/performance.md "Communication at scale": the
// measured collectives and bytes per timestep, projected to N ranks of
// one core on a cluster network.

// commNet is a cluster network of the model.
type commNet struct {
	name  string
	alpha float64 // seconds per step of a collective (MPI latency between nodes)
	o     float64 // seconds per message of an Alltoallv (the inverse of the message rate)
	beta  float64 // bytes per second per rank (the node's link shared by its ranks)
}

// commNets: a fast network (InfiniBand HDR: 1-2 us MPI latency, a few
// million messages per second per core, 12.5 GB/s per node shared by
// about 12 ranks) and a slow one (2-5 us Ethernet/RoCE-class latency,
// 1 M messages per second, 25 Gb/s per node for 12 ranks). Sources in
// docs/performance.md.
var commNets = []commNet{
	{name: "fast (alpha 2 us, 0.3 us/message, 1 GB/s per rank)", alpha: 2e-6, o: 0.3e-6, beta: 1e9},
	{name: "slow (alpha 5 us, 1 us/message, 0.25 GB/s per rank)", alpha: 5e-6, o: 1e-6, beta: 0.25e9},
}

// commWork is a workload of the model.
type commWork struct {
	name    string
	images  int     // images per timestep
	mpix    float64 // Mpixel per image
	meas    float64 // blind measurements per image
	skyFrac float64 // the fraction of the tiled sky one image covers
	cadence float64 // seconds between timesteps: the real-time budget
}

// commWorks: the RSM (24 images of 1280x1280 per timestep with 127
// blind measurements each, as rsm-mini gives (18,093 in 142 accepted
// images, docs/pipeline.md), 6 fields of 50 square degrees on a ring:
// one image on a fifth of the tiles, a snapshot every 15 minutes) and an
// AARTFAAC-like all-sky monitor (64 sub-band images of 1024x1024 px per
// 1-s timestep, each of the whole sky, 300 sources each: an assumption,
// see docs/performance.md).
var commWorks = []commWork{
	{name: "RSM", images: 24, mpix: 1.6384, meas: 127, skyFrac: 0.2, cadence: 900},
	{name: "AARTFAAC-like", images: 64, mpix: 1.048576, meas: 300, skyFrac: 1, cadence: 1},
}

// CPU seconds per Mpixel on one core of the development machine, from the
// rsm run of docs/performance.md ("Run 4": 3408 images of 1.6384
// Mpixel; 117.22 CPU s extracting, 63.32 fitting 3373 images, 22.20
// associating).
const (
	cpuExtractMpix = 117.22 / (3408 * 1.6384)
	cpuFitMpix     = 63.32 / (3373 * 1.6384)
	cpuAssocMpix   = 22.20 / (3408 * 1.6384)
)

// commProjection is the model at n ranks.
type commProjection struct {
	n                      int
	work, comm, chain      float64 // seconds per timestep: CPU work / n, collectives, the timestep's critical path
	pipelined, unpipelined float64 // efficiency
	step                   float64 // seconds per timestep, pipelined
}

// headerBytes is the model's bytes per rank per timestep (sent and
// received) that grow with the ranks, for a images and f facts rounds
// per timestep on n ranks: gotrap's own (distImage's 3-byte part header
// to and from every other rank: the emigrants' length, the boundary
// flag, the measurements' count, one byte each as wire varints when
// empty; gatherRequests' 2 bytes per image from every other rank but the
// owner, gatherRows' 1 byte (an empty list) per image from every other
// rank but the owner, the facts rounds' flag byte from every other rank)
// and, with mpi, the 8-byte lengths that reduce/mpi exchanges before each
// MPI_Allgatherv and MPI_Alltoallv (from every other rank; to every
// other rank too for an Alltoallv), for nA2A Alltoallv and nAGv
// Allgatherv.
func headerBytes(a, f float64, n int, mpi bool, nA2A, nAGv float64) float64 {
	h := float64(n-1) * (2*3*a + 2*a + a + f)
	if mpi {
		h += float64(n-1) * 8 * (2*nA2A + nAGv)
	}
	return h
}

// project applies the model (docs/performance.md "Communication at
// scale") to workload w on net at n ranks, from the measured runs (the
// wide sky, wideImages images per timestep): the collectives per image,
// the payload per blind measurement and the halo copies come from the
// measured run with the most ranks up to n.
func project(runs []commRun, wideImages int, w commWork, net commNet, n int) commProjection {
	m := runs[0]
	for _, c := range runs {
		if c.n <= n {
			m = c
		}
	}
	d0 := m.ranks[0].dist
	ts := float64(d0.timesteps)
	a, aw := float64(w.images), float64(wideImages)
	measW := float64(runs[0].ranks[0].dist.received) / ts // blind measurements per timestep
	// Collectives per timestep: one Alltoallv per image and one for the
	// fits; per image two Allgatherv (its row, its requests) and the
	// facts rounds as measured, and one per timestep (holders).
	facts := max(0, float64(d0.comm.allgatherv.calls)/ts-1-2*aw) / aw
	nA2A, nAGv := a+1, 1+(2+facts)*a
	// Halo copies of blind measurements, as measured.
	copies := float64(m.sum(func(r *commRank) int64 { return int64(r.dist.received) }))/(measW*ts) - 1
	var lat, bytes float64
	if n > 1 {
		// Bytes per rank per timestep: the measured payload (sent and
		// received, the headers that grow with the ranks taken out),
		// scaled by blind measurements per timestep, and the headers.
		sent, _ := m.perRank(func(r *commRank) int64 { return r.dist.comm.total().sent })
		recv, _ := m.perRank(func(r *commRank) int64 { return r.dist.comm.total().recv })
		payload := max(0, sent+recv-headerBytes(aw, facts*aw, m.n, false, 0, 0))
		bytes = payload*w.meas*a/measW + headerBytes(a, facts*a, n, true, nA2A, nAGv)
		// Allgatherv: MPI_Allgather of the lengths and MPI_Allgatherv,
		// log2 n steps each (recursive doubling, Bruck). Alltoallv:
		// MPI_Alltoall of the lengths (Bruck, log2 n steps) and
		// MPI_Alltoallv, one message to every other rank (gotrap's
		// parts are never empty).
		lg := math.Ceil(math.Log2(float64(n)))
		lat = nAGv*2*lg*net.alpha + nA2A*(lg*net.alpha+float64(n-1)*net.o)
	}
	p := commProjection{n: n}
	p.comm = lat + bytes/net.beta
	work := a * w.mpix * (cpuExtractMpix + cpuFitMpix + cpuAssocMpix)
	p.work = work / float64(n)
	// The critical path of a timestep: its collectives, the fits of one
	// rank's images of the timestep (they wait for the requests), and
	// the association of each image in turn by the ranks holding its
	// tiles, halo copies included.
	perRank := math.Ceil(a / float64(n))
	assoc := a * w.mpix * cpuAssocMpix * (1 + copies) / max(1, float64(n)*w.skyFrac)
	p.chain = p.comm + perRank*w.mpix*cpuFitMpix + assoc
	// Pipelined: the extraction of later timesteps fills the waits
	// (prefetch), and a timestep takes the longer of the work and the
	// chain. Not pipelined: each rank extracts its images, then the
	// chain.
	p.step = max(p.work, p.chain)
	p.pipelined = work / (float64(n) * p.step)
	p.unpipelined = work / (float64(n) * (perRank*w.mpix*cpuExtractMpix + p.chain))
	return p
}

// writeProjection prints the model for every workload and network, from
// the measured runs.
func writeProjection(out io.Writer, runs []commRun, wideImages int) {
	big := runs[len(runs)-1]
	for _, w := range commWorks {
		for _, net := range commNets {
			fmt.Fprintf(out, "\n%s (%d images of %.2f Mpixel per timestep, every %g s), %s network, measured up to %d ranks:\n",
				w.name, w.images, w.mpix, w.cadence, net.name, big.n)
			tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight|tabwriter.Debug)
			fmt.Fprintln(tw, "ranks\twork/N ms\tcomm ms\tchain ms\ttimestep ms\tefficiency\tnot pipelined\treal time\t")
			for _, n := range []int{1, 2, 4, 8, 16, 24, 32, 64, 128, 256, 512, 1000} {
				p := project(runs, wideImages, w, net, n)
				fmt.Fprintf(tw, "%d\t%.2f\t%.2f\t%.2f\t%.2f\t%.0f%%\t%.0f%%\t%v\t\n", n, 1e3*p.work, 1e3*p.comm, 1e3*p.chain, 1e3*p.step,
					100*p.pipelined, 100*p.unpipelined, p.step <= w.cadence)
			}
			tw.Flush()
		}
	}
}
