package kernels

import (
	"image"
	"math"
	"testing"

	"gotrap/internal/testutil"
)

// SPEC 10.3 item 7.
func TestRMSQCOnes(t *testing.T) {
	img, _ := NewImage(image.Rect(0, 0, 64, 64))
	for i := range img.Pix {
		img.Pix[i] = 4
	}
	if got, _ := RMSQC(img, 8, 4, nil); got != 0 {
		t.Errorf("rms(ones*4) = %v, want 0", got)
	}
}

func TestQCSubregion(t *testing.T) {
	img, _ := NewImage(image.Rect(0, 0, 800, 800))
	if got := QCSubregion(img, 4).Rect; got != image.Rect(200, 200, 600, 600) {
		t.Errorf("subregion(800x800, 4) = %v, want 400x400 centred", got)
	}
	img2, _ := NewImage(image.Rect(10, 20, 522, 532))
	if got := QCSubregion(img2, 8).Rect; got != image.Rect(10+192, 20+192, 10+320, 20+320) {
		t.Errorf("subregion(512x512 at (10,20), 8) = %v", got)
	}
}

func TestSigmaClipQCRemovesOutlier(t *testing.T) {
	v := make([]float64, 50*50)
	for i := range v {
		v[i] = 10
	}
	v[1234] = 20
	got := SigmaClipQC(v, 4)
	if len(got) != len(v)-1 {
		t.Fatalf("%d values kept, want %d", len(got), len(v)-1)
	}
	for _, x := range got {
		if x != 10 {
			t.Fatalf("kept %v", x)
		}
	}
}

func TestRMSQCGolden(t *testing.T) {
	img, g := detLoadGolden(t)
	got, _ := RMSQC(img, 8, 4, nil)
	// Same float64 arithmetic on the same float32 values; numpy sums
	// pairwise: 1e-12 relative (measured 1.6e-15).
	if !testutil.Close(got, g.RMSQC, 0, 1e-12) {
		t.Errorf("rms_qc = %.15g, want %.15g", got, g.RMSQC)
	}
	var q QCScratch
	if got := q.RMSQC(img, 8, 4); !testutil.Close(got, g.RMSQC, 0, 1e-12) {
		t.Errorf("QCScratch rms_qc = %.15g, want %.15g", got, g.RMSQC)
	}
	nan, _ := NewImage(image.Rect(0, 0, 16, 16))
	for i := range nan.Pix {
		nan.Pix[i] = float32(math.NaN())
	}
	if got, _ := RMSQC(nan, 8, 4, nil); !math.IsNaN(got) {
		t.Errorf("rms_qc of NaNs = %v, want NaN", got)
	}
}
