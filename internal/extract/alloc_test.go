package extract

import (
	"fmt"
	"math"
	"runtime"
	"testing"

	"gotrap/internal/testutil"
)

// TestSmallImageAllocation bounds the memory that the extraction of one
// small image allocates in a fresh Worker, the memory a one-image gotrap
// extract faults in (docs/performance.md "Start-up"): its four planes
// (the image, which becomes D in place, the rms map, the labels, 4 bytes
// a pixel each, and the mask, 1 byte) and one background clipper (the
// image is serial below Options.SerialPixels), plus 320 KB for the rest
// (header, grids, islands, sources: 236 KB measured). No 256 KB read
// chunk (the pixels are read into the image) and no second clipper fit
// in that bound.
func TestSmallImageAllocation(t *testing.T) {
	o := Default()
	o.Threads = 2
	o.SerialPixels = 1 << 17
	_, r, a, b := extractCutout(t, o)
	px := uint64(r.Meta.Naxis1 * r.Meta.Naxis2)
	if px != 256*256 || len(r.Sources) == 0 {
		t.Fatalf("%d pixels, %d sources: not the 256x256 cut-out with sources", px, len(r.Sources))
	}
	// One clipper: clipMain float32 slots (512 buckets of 64) and two per
	// value of a cell (kernels.cellClipper.load).
	clipper := uint64(4 * (512*64 + 2*o.Detect.BackSizeX*o.Detect.BackSizeY))
	limit := 13*px + clipper + 320<<10
	got := b.TotalAlloc - a.TotalAlloc
	t.Logf("%d bytes allocated for %d pixels (limit %d), %d allocations", got, px, limit, b.Mallocs-a.Mallocs)
	if got > limit {
		t.Errorf("the extraction of a 256x256 image allocated %d bytes, more than %d", got, limit)
	}
}

// extractCutout extracts the 256x256 cut-out of ../shared/data with a
// new Worker for o, and returns the Worker, the result and the memory
// statistics before the Worker was made and after the extraction.
func extractCutout(t *testing.T, o Options) (w *Worker, r *Result, before, after runtime.MemStats) {
	t.Helper()
	path := testutil.SharedFile(t, "GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits")
	runtime.GC()
	runtime.ReadMemStats(&before)
	w, err := NewWorker(o)
	if err != nil {
		t.Fatal(err)
	}
	if r, err = w.File(path); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	return w, r, before, after
}

// TestSerialPixelsSameResult checks that extracting an image serially
// (Options.SerialPixels) gives the sources of two goroutines, bit for
// bit, with the maps and a negative-source search.
func TestSerialPixelsSameResult(t *testing.T) {
	path := testutil.SharedFile(t, "GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits")
	var got [2]*Result
	for i, serial := range []int{0, 1 << 17} {
		o := Default()
		o.Threads, o.SerialPixels, o.Maps, o.Negative = 2, serial, true, true
		w, err := NewWorker(o)
		if err != nil {
			t.Fatal(err)
		}
		if got[i], err = w.File(path); err != nil {
			t.Fatal(err)
		}
	}
	a, b := got[0], got[1]
	if len(a.Sources) == 0 || fmt.Sprintf("%#v", a.Sources) != fmt.Sprintf("%#v", b.Sources) {
		t.Fatalf("serial extraction differs: %d sources against %d", len(b.Sources), len(a.Sources))
	}
	for _, m := range []struct {
		name string
		x, y []float32
	}{{"bkg", a.Maps.Background.Pix, b.Maps.Background.Pix}, {"rms", a.Maps.RMS.Pix, b.Maps.RMS.Pix}, {"sig", a.Maps.Sig.Pix, b.Maps.Sig.Pix}} {
		for i := range m.x {
			if math.Float32bits(m.x[i]) != math.Float32bits(m.y[i]) {
				t.Fatalf("%s map pixel %d: %v serially, %v with two goroutines", m.name, i, m.y[i], m.x[i])
			}
		}
	}
}

// TestSmallImageAllocationHugePages is TestSmallImageAllocation with
// Options.HugePages, as gotrap extract runs: the four planes and the
// clipper's values are in the Worker's arena, outside the Go heap, so the
// extraction allocates on the heap only the rest (320 KB, the bound of
// TestSmallImageAllocation for it), and Close unmaps the arena.
func TestSmallImageAllocationHugePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the arena's chunks are Go heap memory outside Linux")
	}
	o := Default()
	o.Threads, o.SerialPixels, o.HugePages = 2, 1<<17, true
	w, r, a, b := extractCutout(t, o)
	if len(r.Sources) == 0 {
		t.Fatal("no sources in the cut-out")
	}
	const limit = 320 << 10
	got := b.TotalAlloc - a.TotalAlloc
	mapped := w.arena.Mapped()
	t.Logf("%d bytes allocated on the Go heap (limit %d), %d mapped by the arena, huge pages %v", got, limit, mapped, w.arena.Huge())
	if got > limit {
		t.Errorf("the extraction allocated %d bytes on the Go heap, more than %d: its planes are not in the arena", got, limit)
	}
	// The planes (13 bytes a pixel) and the clipper fit one chunk.
	if mapped != 2<<20 {
		t.Errorf("the arena maps %d bytes, want one 2 MB chunk", mapped)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if m := w.arena.Mapped(); m != 0 {
		t.Errorf("%d bytes still mapped after Close", m)
	}
}
