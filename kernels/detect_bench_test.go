package kernels

import (
	"fmt"
	"testing"
)

// detBenchSky is a simulated RSM-like image: unit noise and one point
// source per 4096 pixels (peaks 5 to 200 sigma, log-uniform), beam
// 2.5 x 2 px.
func detBenchSky(n int) *Image {
	img, _ := detSky(n, n, n*n/4096, 5, 200, Beam{A: 2.5, B: 2, Theta: 0.3}, uint64(n))
	return img
}

func detBenchReport(b *testing.B, n int) {
	b.SetBytes(int64(4 * n * n))
	b.ReportMetric(float64(n*n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mpix/s")
}

func BenchmarkBackground(b *testing.B) {
	for _, n := range []int{1280, 2048} {
		img := detBenchSky(n)
		mask, chunk := MaskTo(nil, img, 10, 0, nil)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("size=%d/threads=%d", n, threads), func(b *testing.B) {
				var g BackgroundGrids
				b.ReportAllocs()
				for b.Loop() {
					ComputeBackground(&g, img, mask, chunk, 50, 50, threads)
				}
				detBenchReport(b, n)
			})
		}
	}
}

// BenchmarkLabel times thresholding and labelling (flags, runs,
// union-find, acceptance, label painting) on maps already computed.
func BenchmarkLabel(b *testing.B) {
	for _, n := range []int{1280, 2048} {
		img := detBenchSky(n)
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			d, _ := NewDetector(DefaultDetectConfig(), 1)
			det, rep := d.Detect(img, nil)
			nblk := (n + detRowBlock - 1) / detRowBlock
			b.ReportAllocs()
			for b.Loop() {
				for blk := range nblk {
					d.flagsBlock(blk, 0)
				}
				d.reduceBlocks()
				d.islands(rep.DetectionThr)
			}
			b.ReportMetric(float64(len(det.Islands)), "islands")
			detBenchReport(b, n)
		})
	}
}

// BenchmarkMapsFlags times the fused maps and flags pass
// (mapsFlagsBlock over every row block, one thread) on the grids of a
// detection: the vector pass in the GOEXPERIMENT=simd build, the plain
// one otherwise.
func BenchmarkMapsFlags(b *testing.B) {
	for _, n := range []int{1280, 2048} {
		img := detBenchSky(n)
		b.Run(fmt.Sprintf("size=%d", n), func(b *testing.B) {
			d, _ := NewDetector(DefaultDetectConfig(), 1)
			d.Detect(img, nil)
			nblk := (n + detRowBlock - 1) / detRowBlock
			b.ReportAllocs()
			for b.Loop() {
				for blk := range nblk {
					d.mapsFlagsBlock(img, blk, 0)
				}
			}
			detBenchReport(b, n)
		})
	}
}

// BenchmarkMapsFlagsPix times the pixel loop of the maps pass alone
// over a 1280x1280 image, row by row as one segment: impl=twin is
// mapsFlagsPixGo, impl=build the build's mapsFlagsPix (the vector loop
// in the GOEXPERIMENT=simd build on an AVX2 CPU, else the twin again).
func BenchmarkMapsFlagsPix(b *testing.B) {
	const n = 1280
	img := detBenchSky(n)
	d, r := make([]float32, n*n), make([]float32, n*n)
	m, flags := make([]bool, n*n), make([]uint8, n)
	fx := make([]float64, n)
	for i := range fx {
		fx[i] = float64(i) / n
	}
	p := &mapsSegParams{m0: 0.01, dm: -0.02, r0: 1, dr: 0.05, rfloor: 0.9, anl: 3, floor: 0, rem: flagMasked}
	for _, impl := range []struct {
		name string
		f    func(src, drow, rrow []float32, mrow []bool, fx []float64, flags []uint8, p *mapsSegParams)
	}{{"twin", mapsFlagsPixGo}, {"build", mapsFlagsPix}} {
		b.Run("impl="+impl.name, func(b *testing.B) {
			for b.Loop() {
				for y := range n {
					o := y * n
					impl.f(img.Pix[o:o+n], d[o:o+n], r[o:o+n], m[o:o+n], fx, flags, p)
				}
			}
			detBenchReport(b, n)
		})
	}
}

func BenchmarkDetect(b *testing.B) {
	for _, n := range []int{1280, 2048} {
		img := detBenchSky(n)
		for _, threads := range []int{1, 2} {
			b.Run(fmt.Sprintf("size=%d/sources=%d/threads=%d", n, n*n/4096, threads), func(b *testing.B) {
				d, _ := NewDetector(DefaultDetectConfig(), threads)
				det, _ := d.Detect(img, nil)
				b.ReportAllocs()
				for b.Loop() {
					d.Detect(img, nil)
				}
				b.ReportMetric(float64(len(det.Islands)), "islands")
				detBenchReport(b, n)
			})
		}
	}
}

func BenchmarkMaskTo(b *testing.B) {
	img := detBenchSky(2048)
	var m []bool
	b.ReportAllocs()
	for b.Loop() {
		m, _ = MaskTo(m, img, 10, 0, nil)
	}
	detBenchReport(b, 2048)
}
