package pipeline

import (
	"context"
	"errors"
	"image"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"gotrap/internal/rundir"
	"gotrap/kernels"
)

// TestForcedWithoutGrids: a run whose extraction was staged without the
// background grids (as by an older gotrap) and without its forced fits
// resumes with the images read again and the maps recomputed in full,
// and its catalogue equals that of a run whose forced fits used the grids
// in memory.
func TestForcedWithoutGrids(t *testing.T) {
	data := tiny(t)
	cfg := testConfig()
	ref := runDir(t, data, cfg, 2)
	grids, _ := filepath.Glob(filepath.Join(rundir.StepDir(ref, StepExtract), "*."+gridsSuffix))
	if len(grids) == 0 {
		t.Fatal("no staged grids")
	}
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	stop := errors.New("stop")
	_, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Workers: 2,
		AfterStage: func(s string) error {
			if s == StageTimesteps {
				return stop
			}
			return nil
		}})
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want %v", err, stop)
	}
	old, _ := filepath.Glob(filepath.Join(rundir.StepDir(run, StepExtract), "*."+gridsSuffix))
	if len(old) != len(grids) {
		t.Fatalf("%d grids staged, want %d", len(old), len(grids))
	}
	for i, p := range old {
		if i%3 == 0 {
			// a damaged file counts as none
			if err := os.WriteFile(p, []byte(gridsMagic+"x"), 0o644); err != nil {
				t.Fatal(err)
			}
		} else if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	marks, _ := filepath.Glob(filepath.Join(rundir.StepDir(run, StepForced), "*.json"))
	if len(marks) == 0 {
		t.Fatal("no staged forced fits")
	}
	for _, p := range marks {
		if err := os.Remove(p); err != nil {
			t.Fatal(err)
		}
	}
	sum, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Workers: 2, Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ForcedNow != len(marks) || sum.ForcedUsed != 0 || sum.ExtractedNow != 0 {
		t.Errorf("resume fitted %d images (%d reused), extracted %d: want %d, 0, 0", sum.ForcedNow, sum.ForcedUsed, sum.ExtractedNow, len(marks))
	}
	equalCatalogues(t, ref, run)
}

// TestGridsEncoding: the staged grids decode to the same bits; files of
// another image size, truncated or damaged decode to nil.
func TestGridsEncoding(t *testing.T) {
	rect := image.Rect(0, 0, 300, 200)
	g := &kernels.BackgroundGrids{Frame: image.Rect(3, 5, 297, 195), CellX: 49, CellY: 38, NX: 6, NY: 5}
	for i := range g.NX * g.NY {
		g.Mean = append(g.Mean, math.Float64frombits(0x3ff0000000000001+uint64(i)))
		g.RMS = append(g.RMS, 1e-3*float64(i+1))
	}
	g.Mean[3] = math.Copysign(0, -1)
	b := encodeGrids(g, rect)
	got := decodeGrids(b, rect)
	if got == nil || got.Frame != g.Frame || got.CellX != g.CellX || got.CellY != g.CellY || got.NX != g.NX || got.NY != g.NY ||
		!reflect.DeepEqual(got.Mean, g.Mean) || !reflect.DeepEqual(got.RMS, g.RMS) || math.Signbit(got.Mean[3]) != true {
		t.Fatalf("decoded %+v, want %+v", got, g)
	}
	if decodeGrids(b, image.Rect(0, 0, 300, 201)) != nil {
		t.Error("decoded for another image size")
	}
	if decodeGrids(b[:len(b)-1], rect) != nil || decodeGrids(append(b, 0), rect) != nil || decodeGrids(b[:20], rect) != nil {
		t.Error("decoded a truncated or long file")
	}
	c := append([]byte(nil), b...)
	c[0] = 'X'
	if decodeGrids(c, rect) != nil {
		t.Error("decoded a file with a bad magic")
	}
}
