package kernels

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"
)

// TestSubThresholds is SPEC 10.2's pure-function check of
// generate_subthresholds: n values strictly inside (min, max), increasing,
// with increasing spacing.
func TestSubThresholds(t *testing.T) {
	for _, c := range []struct{ lo, hi float64 }{{0, 1}, {3, 50}, {-2, 7}, {1e-4, 7e-4}, {-5e-4, 1e-2}} {
		for _, n := range []int{1, 2, 3, 10, 32, 300} {
			v := SubThresholds(nil, c.lo, c.hi, n)
			if len(v) != n {
				t.Fatalf("(%v, %v, %d): %d values", c.lo, c.hi, n, len(v))
			}
			for i, x := range v {
				if !(x > c.lo && x < c.hi) {
					t.Fatalf("(%v, %v, %d): t[%d] = %v outside", c.lo, c.hi, n, i, x)
				}
				if i > 0 && !(x > v[i-1]) {
					t.Fatalf("(%v, %v, %d): not increasing at %d", c.lo, c.hi, n, i)
				}
				// Spacing grows; for spans near 0 the growth is within
				// rounding, so allow 1e-12 of the span.
				if i > 1 && x-v[i-1] < v[i-1]-v[i-2]-1e-12*(c.hi-c.lo) {
					t.Fatalf("(%v, %v, %d): spacing shrinks at %d", c.lo, c.hi, n, i)
				}
			}
		}
	}
	if v := SubThresholds(nil, 0, 1, 0); len(v) != 0 {
		t.Errorf("n = 0 gave %v", v)
	}
}

func TestDeblendSplitsPair(t *testing.T) {
	const seed = 15
	t.Logf("seed %d", seed)
	beam := Beam{A: 2.5, B: 2.5}
	img := detNoise(200, 200, 1, seed)
	// Two sources 7 px apart (2.8 HWHM): one island at 3 sigma, two peaks
	// with a saddle of about 2*40*exp(-ln2*(3.5/2.5)^2) = 20.
	pair := []detSource{{97, 100, 40, beam}, {104, 101, 30, beam}}
	single := detSource{60, 50, 40, beam}
	detPaint(img, append(pair, single))
	cfg := DefaultDetectConfig()
	plain, _, err := Detect(img, nil, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Islands) != 2 {
		t.Fatalf("without deblending %d islands, want 2 (pair merged, single)", len(plain.Islands))
	}
	parent := plain.Islands[1]
	plainSingle := plain.Islands[0]
	// Without deblending the merged pair is marked blended (the test of
	// markBlends splits it) and the single source is not.
	if !parent.Blended || parent.Deblended {
		t.Errorf("merged pair: blended %v deblended %v, want true, false", parent.Blended, parent.Deblended)
	}
	if plainSingle.Blended || plainSingle.Deblended {
		t.Errorf("single source: blended %v deblended %v, want false, false", plainSingle.Blended, plainSingle.Deblended)
	}
	cfg.DeblendNThresh = 32
	d, _ := NewDetector(cfg, 2)
	det, _ := d.Detect(img, nil)
	if len(det.Islands) != 3 {
		t.Fatalf("with deblending %d islands, want 3", len(det.Islands))
	}
	if got := det.Islands[0]; got != plainSingle {
		t.Errorf("the single source changed: %+v, want %+v", got, plainSingle)
	}
	w := det.D.Rect.Dx()
	for k, sub := range det.Islands[1:] {
		src := pair[k]
		if !sub.Deblended || sub.Blended {
			t.Errorf("sub-island %d: deblended %v blended %v, want true, false", k, sub.Deblended, sub.Blended)
		}
		// x-major order: the left source first; its peak pixel within a
		// pixel of the centre (a 30-sigma source).
		if math.Abs(float64(sub.Peak.X)-src.x) > 1.5 || math.Abs(float64(sub.Peak.Y)-src.y) > 1.5 {
			t.Errorf("sub-island %d peak %v, source at (%v, %v)", k, sub.Peak, src.x, src.y)
		}
		if !sub.Box.In(parent.Box) || sub.NPix >= parent.NPix {
			t.Errorf("sub-island %d box %v npix %d not inside the parent %v npix %d", k, sub.Box, sub.NPix, parent.Box, parent.NPix)
		}
		// Threshold is the deblend level (between the island's 3-sigma
		// edge and the peak), Noise the image rms at the peak.
		if !(sub.Threshold > parent.Threshold && sub.Threshold < sub.PeakValue) {
			t.Errorf("sub-island %d threshold %v not a level inside (%v, %v)", k, sub.Threshold, parent.Threshold, sub.PeakValue)
		}
		if sub.Noise != det.RMS.Pix[(sub.Peak.Y)*w+sub.Peak.X] {
			t.Errorf("sub-island %d noise %v is not the rms at its peak", k, sub.Noise)
		}
		n := 0
		for y := sub.Box.Min.Y; y < sub.Box.Max.Y; y++ {
			for x := sub.Box.Min.X; x < sub.Box.Max.X; x++ {
				if det.Labels[y*w+x] == sub.Label {
					n++
					if v := det.D.Pix[y*w+x]; float64(v) < float64(sub.Threshold) {
						t.Fatalf("sub-island %d pixel (%d,%d) = %v below its level %v", k, x, y, v, sub.Threshold)
					}
				}
			}
		}
		if n != sub.NPix {
			t.Errorf("sub-island %d: %d labelled pixels, NPix %d", k, n, sub.NPix)
		}
	}
	if det.Islands[1].Label == det.Islands[2].Label || det.Islands[1].Label <= plain.Islands[1].Label {
		t.Errorf("sub-island labels %d, %d are not new", det.Islands[1].Label, det.Islands[2].Label)
	}
	_ = image.Point{}
}

// TestMarkBlendsMatchesRef: markBlends, which skips the levels of the
// islands that mayBlend proves cannot split, sets the same Blended flags
// as markBlendsRef, which tries them on every island, on fields of white
// noise (many local maxima: the hard case for the proof) with single
// sources, pairs and triples at random separations, shapes and flux
// ratios, at detection thresholds 4, 6 and 8. The fields must exercise all
// three outcomes: blended, proved single, and tried but not blended.
func TestMarkBlendsMatchesRef(t *testing.T) {
	var blended, proved, tried int
	for seed := uint64(1); seed <= 16; seed++ {
		rng := rand.New(rand.NewPCG(seed, 77))
		img := detNoise(256, 256, 1, seed)
		var srcs []detSource
		for range 30 {
			a := 1.2 + 2.5*rng.Float64()
			beam := Beam{A: a, B: a * (0.5 + 0.5*rng.Float64()), Theta: math.Pi * rng.Float64()}
			s := detSource{12 + 232*rng.Float64(), 12 + 232*rng.Float64(), 5 + 60*rng.Float64(), beam}
			srcs = append(srcs, s)
			for k := rng.IntN(3); k > 0; k-- {
				r, phi := 1.5+7*rng.Float64(), 2*math.Pi*rng.Float64()
				srcs = append(srcs, detSource{s.x + r*math.Cos(phi), s.y + r*math.Sin(phi), s.peak * (0.1 + rng.Float64()), beam})
			}
		}
		detPaint(img, srcs)
		for _, thr := range []float64{4, 6, 8} {
			cfg := DefaultDetectConfig()
			cfg.DetectionThr = thr
			d, err := NewDetector(cfg, 1)
			if err != nil {
				t.Fatal(err)
			}
			work := &Image{Pix: append([]float32(nil), img.Pix...), Stride: img.Stride, Rect: img.Rect}
			det, rep := d.Detect(work, nil)
			got := make([]bool, len(det.Islands))
			for i, isl := range det.Islands {
				got[i] = isl.Blended
				d.det.Islands[i].Blended = false
			}
			d.markBlendsRef(rep.DetectionThr)
			for i, isl := range d.det.Islands {
				if got[i] != isl.Blended {
					t.Errorf("seed %d thr %g island %d (peak %v at %v): Blended %v, the reference says %v",
						seed, thr, i, isl.PeakValue, isl.Peak, got[i], isl.Blended)
				}
				switch {
				case isl.Blended:
					blended++
				case !d.mayBlend(isl, rep.DetectionThr):
					proved++
				default:
					tried++
				}
			}
		}
	}
	t.Logf("islands: %d blended, %d proved single, %d tried and not blended", blended, proved, tried)
	if blended == 0 || proved == 0 || tried == 0 {
		t.Errorf("the fields do not exercise every outcome: %d blended, %d proved single, %d tried", blended, proved, tried)
	}
}
