package bench

import (
	"fmt"
	"path/filepath"
	"testing"

	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/kernels"
)

// BenchmarkExtract times the stages of one extraction on one core:
// decode (FITS read), background grids, maps, detect (grids, maps and
// labelling) and measurement, on RSM-density synthetic images.
func BenchmarkExtract(b *testing.B) {
	for _, size := range []int{1280, 2048} {
		path := filepath.Join(b.TempDir(), "f.fits")
		if _, err := MakeField(path, size, 1); err != nil {
			b.Fatal(err)
		}
		img0, meta, err := fitsimg.Read(path, fitsimg.Options{})
		if err != nil {
			b.Fatal(err)
		}
		opt := extract.Default()
		opt.Threads = 1
		bytes := int64(4 * size * size)
		b.Run(fmt.Sprintf("size=%d/stage=decode", size), func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := fitsimg.Read(path, fitsimg.Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
		mask, chunk := kernels.MaskTo(nil, img0, opt.Detect.Margin, 0, nil)
		var g kernels.BackgroundGrids
		b.Run(fmt.Sprintf("size=%d/stage=background", size), func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				kernels.ComputeBackground(&g, img0, mask, chunk, 50, 50, 1)
			}
		})
		bkg, _ := kernels.NewImage(img0.Rect)
		rms, _ := kernels.NewImage(img0.Rect)
		b.Run(fmt.Sprintf("size=%d/stage=maps", size), func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				kernels.BackgroundMapsTo(bkg, rms, &g, mask, kernels.EdgeHold, 1)
			}
		})
		det, _ := kernels.NewDetector(opt.Detect, 1)
		b.Run(fmt.Sprintf("size=%d/stage=detect", size), func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			for b.Loop() {
				det.Detect(img0, nil)
			}
		})
		d, _ := det.Detect(img0, nil)
		for _, mode := range []kernels.MeasureMode{kernels.ModeGaussian, kernels.ModeMoments} {
			mc := opt.Measure
			mc.Mode, mc.Threads = mode, 1
			var m kernels.Measurer
			var dst []kernels.Source
			b.Run(fmt.Sprintf("size=%d/stage=measure/mode=%s", size, mode), func(b *testing.B) {
				b.SetBytes(bytes)
				b.ReportAllocs()
				for b.Loop() {
					dst, _, _ = m.Measure(dst[:0], d, kernels.Beam{A: meta.BeamPx.SMaj, B: meta.BeamPx.SMin, Theta: meta.BeamPx.Theta}, meta.WCS, &mc)
				}
			})
		}
		b.Run(fmt.Sprintf("size=%d/stage=all", size), func(b *testing.B) {
			b.SetBytes(bytes)
			b.ReportAllocs()
			w, _ := extract.NewWorker(opt)
			for b.Loop() {
				if _, err := w.File(path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
