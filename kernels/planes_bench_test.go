package kernels

import (
	"fmt"
	"testing"

	"gotrap/internal/hugemem"
)

// BenchmarkDetectPlanes is BenchmarkDetect (1280x1280, the RSM images)
// with the image and the Detector's planes on the Go heap and in
// internal/hugemem's arena of huge pages, for deciding whether the
// pipeline's workers should use the arena: the planes are reused from
// image to image, so after the first image the difference is only that
// of the TLB, not of page faults (docs/performance.md "Session 9").
func BenchmarkDetectPlanes(b *testing.B) {
	const n = 1280
	src := detBenchSky(n)
	for _, threads := range []int{1, 2} {
		for _, huge := range []bool{false, true} {
			b.Run(fmt.Sprintf("threads=%d/huge=%v", threads, huge), func(b *testing.B) {
				var p Planes
				if huge {
					a := hugemem.New()
					defer a.Close()
					p = a
				}
				img, err := NewImageFrom(p, src.Rect)
				if err != nil {
					b.Fatal(err)
				}
				copy(img.Pix, src.Pix)
				d, _ := NewDetector(DefaultDetectConfig(), threads)
				d.SetPlanes(p)
				det, _ := d.Detect(img, nil)
				b.ReportAllocs()
				for b.Loop() {
					d.Detect(img, nil)
				}
				b.ReportMetric(float64(len(det.Islands)), "islands")
				detBenchReport(b, n)
				d.Release()
				FreeImage(p, img)
			})
		}
	}
}
