package kernels

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMeasure measures a 10×10 grid of 12σ point sources (islands of
// ~50 px) per op; ns/island and fits/s are reported, and MB/s counts the
// islands' pixels (4 bytes each of D; the rms map and labels are read
// too).
func BenchmarkMeasure(b *testing.B) {
	beam := Beam{3, 2, 0.3}
	det, _ := gridField(rand.New(rand.NewPCG(31, 32)), 10, 10, 32, 12, beam, beam, 3)
	var proj Projector = testProj
	npix := 0
	for _, isl := range det.Islands {
		npix += isl.NPix
	}
	for _, mode := range []MeasureMode{ModeGaussian, ModeMoments} {
		for _, fb := range []bool{true, false} {
			name := "mode=" + mode.String() + "/forcebeam=false"
			if fb {
				name = "mode=" + mode.String() + "/forcebeam=true"
			}
			b.Run(name, func(b *testing.B) {
				cfg := MeasureConfig{Mode: mode, ForceBeam: fb, Errors: DefaultErrorModel()}
				var m Measurer
				dst, _, _ := m.Measure(nil, det, beam, proj, &cfg)
				b.SetBytes(int64(4 * npix))
				b.ReportAllocs()
				b.ResetTimer()
				for b.Loop() {
					dst, _, _ = m.Measure(dst[:0], det, beam, proj, &cfg)
				}
				n := float64(len(det.Islands))
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/n, "ns/island")
				b.ReportMetric(n*float64(b.N)/b.Elapsed().Seconds(), "fits/s")
			})
		}
	}
}

// BenchmarkGaussJac compares the optimised model+Jacobian with its
// reference twin; MB/s counts the 8-byte values written (model and
// Jacobian, nPar+1 per pixel).
func BenchmarkGaussJac(b *testing.B) {
	p := [nPar]float64{1, 5, 5, 3, 2, 0.3}
	var jac [nPar]float64
	b.Run("opt", func(b *testing.B) {
		var g gaussPre
		g.set(&p)
		b.SetBytes(8 * (nPar + 1))
		b.ReportAllocs()
		for b.Loop() {
			var w gaussWalk
			g.jac(&w, 4.3, 6.1, &jac)
		}
	})
	b.Run("ref", func(b *testing.B) {
		b.SetBytes(8 * (nPar + 1))
		b.ReportAllocs()
		for b.Loop() {
			gaussJacRef(&p, 4.3, 6.1, &jac)
		}
	})
}
