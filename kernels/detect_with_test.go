package kernels

import (
	"math"
	"reflect"
	"slices"
	"testing"
)

// TestDetectWithInPlace: D computed in place over the image gives the same
// D, RMS, labels and islands as into the Detector's buffer, and a later
// call without InPlace does not write into the caller's image.
func TestDetectWithInPlace(t *testing.T) {
	img, _ := detSky(300, 260, 40, 6, 60, Beam{3, 2, 0.3}, 5)
	cfg := DefaultDetectConfig()
	cfg.DetectionThr = 5
	ref, err := NewDetector(cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	d0, _ := ref.Detect(img, nil)
	wantD, wantR := slices.Clone(d0.D.Pix), slices.Clone(d0.RMS.Pix)
	wantL, wantI := slices.Clone(d0.Labels), slices.Clone(d0.Islands)
	if len(wantI) == 0 {
		t.Fatal("no islands")
	}
	orig := slices.Clone(img.Pix)
	d, _ := NewDetector(cfg, 3)
	got, _ := d.DetectWith(img, DetectOptions{InPlace: true})
	if &got.D.Pix[0] != &img.Pix[0] {
		t.Fatal("D does not alias the image")
	}
	if !sameBits(got.D.Pix, wantD) || !sameBits(got.RMS.Pix, wantR) || !slices.Equal(got.Labels, wantL) || !reflect.DeepEqual(got.Islands, wantI) {
		t.Error("in-place detection differs")
	}
	img2 := &Image{Pix: slices.Clone(orig), Stride: img.Stride, Rect: img.Rect}
	keep := slices.Clone(img2.Pix)
	d.Detect(img2, nil)
	if !sameBits(img2.Pix, keep) {
		t.Error("a detection without InPlace wrote into the image")
	}
}

// TestDetectWithSuppliedMaps: supplying the background and rms maps that
// Detect computes itself gives the same islands (SPEC 4.16); NaN or
// non-positive rms masks pixels.
func TestDetectWithSuppliedMaps(t *testing.T) {
	img, _ := detSky(256, 256, 30, 6, 60, Beam{3, 2, 0.3}, 7)
	cfg := DefaultDetectConfig()
	cfg.DetectionThr = 5
	cfg.RMSFilter = 0 // the supplied-map path has no rms_filter floor
	d, _ := NewDetector(cfg, 1)
	want, rep := d.Detect(img, nil)
	wantI := slices.Clone(want.Islands)
	bkg, _ := NewImage(img.Rect)
	rms, _ := NewImage(img.Rect)
	BackgroundMapsTo(bkg, rms, rep.Grids, make([]bool, len(img.Pix)), cfg.Edge, 1)
	got, rep2 := d.DetectWith(img, DetectOptions{Background: bkg, RMS: rms})
	if !rep2.Grids.Empty() || len(got.Islands) != len(wantI) {
		t.Fatalf("%d islands (grid empty %v), want %d", len(got.Islands), rep2.Grids.Empty(), len(wantI))
	}
	for i := range wantI {
		if got.Islands[i].Peak != wantI[i].Peak || got.Islands[i].NPix != wantI[i].NPix {
			t.Errorf("island %d: %+v, want %+v", i, got.Islands[i], wantI[i])
		}
	}
	// Pixel (100, 100) with rms 0 and (101, 100) with a NaN background
	// become masked.
	rms.Set(100, 100, 0)
	bkg.Set(101, 100, float32(math.NaN()))
	got, _ = d.DetectWith(img, DetectOptions{Background: bkg, RMS: rms})
	for _, x := range []int{100, 101} {
		if v := got.D.At(x, 100); v == v {
			t.Errorf("pixel (%d, 100) not masked: D = %v", x, v)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error("one map alone did not panic")
		}
	}()
	d.DetectWith(img, DetectOptions{Background: bkg})
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
