package qc

import (
	"math"
	"strings"
	"testing"

	"gotrap/kernels"
)

// TestCheckNaNInfinite: one infinite pixel rejects an image (reason 4),
// where it used to pass the NaN check and reach the theoretical-noise
// check with rms_qc NaN (fault suite, docs/faults.md).
func TestCheckNaNInfinite(t *testing.T) {
	for _, v := range []float32{float32(math.Inf(1)), float32(math.Inf(-1))} {
		img := &kernels.Image{Pix: make([]float32, 64*64), Stride: 64}
		img.Rect.Max.X, img.Rect.Max.Y = 64, 64
		for i := range img.Pix {
			img.Pix[i] = float32(i%7) * 0.01
		}
		img.Pix[100] = v
		ok, c := CheckNaN(Stats(img), 0.5)
		if ok || !strings.Contains(c, "infinite") {
			t.Errorf("pixel %g: ok %v, comment %q; want a rejection for infinite pixels", v, ok, c)
		}
		img.Pix[100] = 0
		if ok, c := CheckNaN(Stats(img), 0.5); !ok {
			t.Errorf("finite image rejected: %s", c)
		}
	}
}
