package pipeline

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"

	"gotrap/decomp"
	"gotrap/internal/wire"
	"gotrap/reduce"
)

// RunRanks runs Run on n in-process ranks (reduce.Run, goroutines over
// a shared-memory Comm) and returns rank 0's summary. opt.CPUs is the
// CPUs of the whole job; each rank gets max(1, CPUs/n) (0: GOMAXPROCS).
// Only rank 0 reports progress. When a rank fails, the others are
// cancelled (their stages stop at the next image) and unblocked from
// their collectives; the error is the failing rank's, as a
// *reduce.RankError naming the rank.
func RunRanks(ctx context.Context, opt Options, n int) (*Summary, error) {
	if n <= 1 {
		return Run(ctx, opt)
	}
	cpus := opt.CPUs
	if cpus <= 0 {
		cpus = defaultCPUs()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var sum *Summary
	// cause is the first failure that is not a cancellation, recorded
	// before this function cancels the other ranks: they then fail with
	// context.Canceled, and one of them may reach the group first.
	var mu sync.Mutex
	var cause *reduce.RankError
	err := reduce.RunContext(ctx, n, func(c reduce.Comm) error {
		o := opt
		o.Comm = c
		o.CPUs = max(1, cpus/n)
		o.processRanks = n
		if c.Rank() != 0 {
			o.Progress = nil
		}
		s, err := Run(ctx, o)
		if err != nil {
			if !errors.Is(err, context.Canceled) {
				mu.Lock()
				if cause == nil {
					cause = &reduce.RankError{Rank: c.Rank(), Err: err}
				}
				mu.Unlock()
			}
			cancel()
			return err
		}
		if c.Rank() == 0 {
			sum = s
		}
		return nil
	})
	if err != nil {
		mu.Lock()
		defer mu.Unlock()
		if cause != nil {
			return nil, cause
		}
		return nil, err
	}
	return sum, nil
}

// formatStats renders stats for the rank log.
func formatStats(st []reduce.CommStat) string {
	var b strings.Builder
	for i, s := range st {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s %d calls, %d B sent, %d B received, %.2f s", s.Op, s.Calls, s.Sent, s.Recv, s.Seconds)
	}
	return b.String()
}

// imageCosts returns the extraction cost of every image of plan: its
// pixels (an unreadable header costs 1: the image is only rejected).
func imageCosts(plan *Plan) []float64 {
	c := make([]float64, plan.Len())
	for i := range plan.Len() {
		c[i] = imageCost(plan.Image(i))
	}
	return c
}

// imageCost is an image's pixel count (1 for an unreadable header).
func imageCost(img *Image) float64 {
	if !img.hasHeader() {
		return 1
	}
	g := img.geo()
	return float64(max(1, g.nx*g.ny))
}

// mine returns the indices i with owner[i] == rank, in order.
func mine(owner []int, rank int) []int {
	var out []int
	for i, r := range owner {
		if r == rank {
			out = append(out, i)
		}
	}
	return out
}

// A bundle is what one rank contributes to a gather of staged files: for
// each image index, a fixed number of byte blobs (the staged files'
// contents, bit for bit). Encoding (package wire): the item count, then
// per item Int index, Uint32 blob count and each blob as Bytes.
type bundleItem struct {
	index int
	blobs [][]byte
}

func encodeBundle(items []bundleItem) []byte {
	n := 0
	for _, it := range items {
		n += 12
		for _, b := range it.blobs {
			n += 8 + len(b)
		}
	}
	e := wire.NewEncoder(make([]byte, 0, n+10))
	e.Count(len(items))
	for _, it := range items {
		e.Int(it.index)
		e.Uint32(uint32(len(it.blobs)))
		for _, b := range it.blobs {
			e.Bytes(b)
		}
	}
	return e.Data()
}

func decodeBundle(b []byte) ([]bundleItem, error) {
	d := wire.NewDecoder(b)
	items := make([]bundleItem, 0, d.Count(12))
	for range cap(items) {
		it := bundleItem{index: d.Int()}
		k := int(d.Uint32())
		if k > d.Remaining() { // a blob is at least its 1-byte length
			return nil, fmt.Errorf("%w: %d blobs in %d bytes", errBundle, k, d.Remaining())
		}
		for range k {
			it.blobs = append(it.blobs, d.Bytes())
		}
		if d.Err() != nil {
			break
		}
		items = append(items, it)
	}
	if err := d.Done(); err != nil {
		return nil, fmt.Errorf("%w: %w", errBundle, err)
	}
	return items, nil
}

var errBundle = errors.New("pipeline: corrupt bundle from another rank")

// gatherFiles is a collective: every rank reads, for each image index in
// its own list, the files path(i, k) for k < nfiles, and every rank
// returns every rank's contents, by image index (Allgatherv). With
// toRoot, only rank 0 receives them (Alltoallv) and returns everything;
// the others return their own. A missing file is an error naming it.
func gatherFiles(c reduce.Comm, own []int, nfiles int, path func(i, k int) string, toRoot bool) (map[int][][]byte, error) {
	files, err := readFiles(own, nfiles, path)
	if err != nil {
		// Fail before the collective: the group is told by the engine
		// (reduce.Run, or MPI_Abort under MPI).
		return nil, fmt.Errorf("pipeline: rank %d: %w", c.Rank(), err)
	}
	items := make([]bundleItem, 0, len(own))
	for _, i := range own {
		items = append(items, bundleItem{index: i, blobs: files[i]})
	}
	var parts [][]byte
	if toRoot {
		send := make([][]byte, c.Size())
		send[0] = encodeBundle(items)
		parts, err = c.Alltoallv(send)
	} else {
		parts, err = c.Allgatherv(encodeBundle(items))
	}
	if err != nil {
		return nil, fmt.Errorf("pipeline: gathering staged files: %w", err)
	}
	out := map[int][][]byte{}
	if toRoot && c.Rank() != 0 {
		for _, it := range items {
			out[it.index] = it.blobs
		}
		return out, nil
	}
	for r, p := range parts {
		its, err := decodeBundle(p)
		if err != nil {
			return nil, fmt.Errorf("%w (rank %d)", err, r)
		}
		for _, it := range its {
			if len(it.blobs) != nfiles {
				return nil, fmt.Errorf("%w (rank %d: %d files, want %d)", errBundle, r, len(it.blobs), nfiles)
			}
			out[it.index] = it.blobs
		}
	}
	return out, nil
}

// readFiles reads, for each image index i of own, the files path(i, k)
// for k < nfiles.
func readFiles(own []int, nfiles int, path func(i, k int) string) (map[int][][]byte, error) {
	out := make(map[int][][]byte, len(own))
	for _, i := range own {
		blobs := make([][]byte, 0, nfiles)
		for k := range nfiles {
			b, err := os.ReadFile(path(i, k))
			if err != nil {
				return nil, err
			}
			blobs = append(blobs, b)
		}
		out[i] = blobs
	}
	return out, nil
}

// sumInts is a collective: element-wise sums over ranks of v (in place).
func sumInts(c reduce.Comm, v ...*int) error {
	buf := make([]int64, len(v))
	for k, p := range v {
		buf[k] = int64(*p)
	}
	if err := c.AllreduceInt64(buf, reduce.Sum); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	for k, p := range v {
		*p = int(buf[k])
	}
	return nil
}

// assignImages returns owner[i], the rank that extracts image i, fits
// its requests and writes its measurements: the images of each timestep,
// in plan order, by decomp.AssignLPTFrom over their pixel counts with the
// loads carried from one timestep to the next, so that every timestep is
// shared among the ranks and the whole run is balanced. Images outside
// every timestep (unreadable headers) go to rank 0.
func assignImages(plan *Plan, size int) []int {
	var as imageAssigner
	return as.assign(plan, size, nil, 0)
}

// imageAssigner is assignImages over a plan that grows (Plan.Extend):
// it carries the ranks' loads from one call to the next.
type imageAssigner struct {
	loads []float64
}

// assign extends owner (the owners of the images before plan.Timesteps[from])
// to every image of plan, as assignImages over the whole plan would.
func (as *imageAssigner) assign(plan *Plan, size int, owner []int, from int) []int {
	if as.loads == nil {
		as.loads = make([]float64, size)
	}
	owner = append(owner, make([]int, plan.Len()-len(owner))...)
	for _, ts := range plan.Timesteps[from:] {
		c := make([]float64, len(ts))
		for k, i := range ts {
			c[k] = imageCost(plan.Image(i))
		}
		for k, r := range decomp.AssignLPTFrom(c, as.loads) {
			owner[ts[k]] = r
		}
	}
	return owner
}

// defaultCPUs is the CPUs a run may use when Options.CPUs is 0.
func defaultCPUs() int { return runtime.GOMAXPROCS(0) }
