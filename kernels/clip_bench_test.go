package kernels

import (
	"fmt"
	"image"
	"math/rand/v2"
	"slices"
	"testing"
)

// benchCell returns a 50x50 cell of unit Gaussian noise with a few
// source pixels, as a padded image and its mask.
func benchCell() (*Image, []bool) {
	rng := rand.New(rand.NewPCG(41, 0))
	img, _ := NewImage(image.Rect(0, 0, 50, 50))
	for i := range img.Pix {
		img.Pix[i] = float32(rng.NormFloat64())
	}
	for i := range 20 {
		img.Pix[37*i%2500] += 30
	}
	return img, make([]bool, 2500)
}

// BenchmarkClipCell times one 50x50 background cell: the cell path of
// ComputeBackground (mask test, in-place load, bucketed clip) and its
// reference twin clipCellRef.
func BenchmarkClipCell(b *testing.B) {
	img, mask := benchCell()
	v := make([]float64, len(img.Pix))
	for i, x := range img.Pix {
		v[i] = float64(x)
	}
	b.Run("impl=fast", func(b *testing.B) {
		var cc cellClipper[float32]
		b.SetBytes(4 * 2500)
		b.ReportAllocs()
		for b.Loop() {
			clipImageCell(&cc, img, mask, 50, 0, 0, 50, 50)
		}
	})
	b.Run("impl=ref", func(b *testing.B) {
		b.SetBytes(4 * 2500)
		b.ReportAllocs()
		for b.Loop() {
			clipCellRef(slices.Clone(v))
		}
	})
}

// BenchmarkRMSQC times TraP's rms_qc on the central 1/16 of an image.
func BenchmarkRMSQC(b *testing.B) {
	for _, n := range []int{1280, 2048} {
		img := detBenchSky(n)
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			var buf []float64
			b.ReportAllocs()
			for b.Loop() {
				_, buf = RMSQC(img, 8, 4, buf)
			}
			detBenchReport(b, n)
		})
		b.Run(fmt.Sprintf("size=%d/sorted", n), func(b *testing.B) {
			var q QCScratch
			b.ReportAllocs()
			for b.Loop() {
				q.RMSQC(img, 8, 4)
			}
			detBenchReport(b, n)
		})
	}
}
