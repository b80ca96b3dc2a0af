package extract

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"testing"

	"gotrap/internal/testutil"
)

// realImages are the three real images of ../shared/data, in an order
// that makes a Worker's planes grow (256x256, then 512x512) and be reused.
var realImages = []string{
	"GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits",
	"GRB120422A-120429.fits",
	"SWIFT_554620-130504.fits",
}

// TestHugePagesSameResult checks that a Worker with Options.HugePages
// (its planes in internal/hugemem's arena) extracts the three real
// images (detection 5, 32x32 cells) exactly as one without: sources, image facts and maps bit for
// bit, with one and two goroutines; that its memory is released by Close
// (the arena unmaps every chunk); and that a closed Worker refuses work.
func TestHugePagesSameResult(t *testing.T) {
	var paths []string
	for _, name := range realImages {
		paths = append(paths, testutil.SharedFile(t, name))
	}
	for _, threads := range []int{1, 2} {
		t.Run(fmt.Sprintf("threads=%d", threads), func(t *testing.T) {
			var ws [2]*Worker
			for i, huge := range []bool{false, true} {
				o := pyseOptions(5, 32) // GRB120422A has no source at 8 sigma
				o.Threads, o.Maps, o.HugePages = threads, true, huge
				w, err := NewWorker(o)
				if err != nil {
					t.Fatal(err)
				}
				ws[i] = w
			}
			plain, huge := ws[0], ws[1]
			if huge.arena == nil || plain.arena != nil {
				t.Fatal("HugePages did not give the Worker an arena (or the plain one has one)")
			}
			for _, path := range paths {
				a, err := plain.File(path)
				if err != nil {
					t.Fatal(err)
				}
				b, err := huge.File(path)
				if err != nil {
					t.Fatal(err)
				}
				if len(a.Sources) == 0 {
					t.Fatalf("%s: no sources", path)
				}
				if err := sameResult(a, b); err != nil {
					t.Errorf("%s: with HugePages: %v", path, err)
				}
			}
			if runtime.GOOS == "linux" {
				if err := huge.arena.Err(); err != nil {
					t.Fatal(err)
				}
				// The last image's planes: 4 planes of 512x512 at least.
				if m := huge.arena.Mapped(); m < 4*512*512 {
					t.Errorf("the arena maps %d bytes: the planes are not in it", m)
				}
			}
			for _, w := range ws {
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if err := w.Close(); err != nil {
					t.Fatalf("second Close: %v", err)
				}
				if _, err := w.File(paths[0]); !errors.Is(err, errClosed) {
					t.Errorf("File after Close: %v, want %v", err, errClosed)
				}
			}
			if m := huge.arena.Mapped(); m != 0 {
				t.Errorf("the arena still maps %d bytes after Close", m)
			}
		})
	}
}

// sameResult compares two extractions of one image bit for bit, timings
// aside.
func sameResult(a, b *Result) error {
	if x, y := fmt.Sprintf("%#v", a.Sources), fmt.Sprintf("%#v", b.Sources); x != y {
		return fmt.Errorf("sources differ: %d against %d", len(b.Sources), len(a.Sources))
	}
	bits := math.Float64bits
	if a.Outcome != b.Outcome || a.Islands != b.Islands || a.Stats != b.Stats ||
		bits(a.RMSQC) != bits(b.RMSQC) || bits(a.RMSMin) != bits(b.RMSMin) || bits(a.RMSMax) != bits(b.RMSMax) ||
		bits(a.RMSGridMedian) != bits(b.RMSGridMedian) || bits(a.DetectionThr) != bits(b.DetectionThr) {
		return fmt.Errorf("image facts differ: %+v against %+v", b, a)
	}
	if fmt.Sprintf("%#v", *a.Grids) != fmt.Sprintf("%#v", *b.Grids) {
		return fmt.Errorf("background grids differ")
	}
	for _, m := range []struct {
		name string
		x, y []float32
	}{{"bkg", a.Maps.Background.Pix, b.Maps.Background.Pix}, {"rms", a.Maps.RMS.Pix, b.Maps.RMS.Pix}, {"sig", a.Maps.Sig.Pix, b.Maps.Sig.Pix}} {
		if len(m.x) != len(m.y) {
			return fmt.Errorf("%s map: %d pixels against %d", m.name, len(m.y), len(m.x))
		}
		for i := range m.x {
			if math.Float32bits(m.x[i]) != math.Float32bits(m.y[i]) {
				return fmt.Errorf("%s map pixel %d: %v against %v", m.name, i, m.y[i], m.x[i])
			}
		}
	}
	return nil
}

// TestRunClosesWorkers checks that Run, with HugePages, hands back results
// that stay valid after it returns (they own their slices: reading them
// after the arena is gone would fault) and equal a plain run's.
func TestRunClosesWorkers(t *testing.T) {
	var paths []string
	for _, name := range realImages {
		paths = append(paths, testutil.SharedFile(t, name))
	}
	var got [2][]*Result
	for i, huge := range []bool{false, true} {
		o := pyseOptions(5, 32)
		o.Maps, o.HugePages = true, huge
		got[i] = make([]*Result, len(paths))
		err := Run(t.Context(), paths, o, 2, func(k int, r *Result, err error) error {
			got[i][k] = r
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for k := range paths {
		if err := sameResult(got[0][k], got[1][k]); err != nil {
			t.Errorf("%s: Run with HugePages: %v", paths[k], err)
		}
	}
}
