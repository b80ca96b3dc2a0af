package kernels

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/testutil"
)

// stats returns mean and sample standard deviation.
func meanStd(v []float64) (float64, float64) {
	var m float64
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	var s float64
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	return m, math.Sqrt(s / float64(len(v)-1))
}

// TestMeasureStatistics measures many seeded noisy Gaussians (point sources
// of peak 20σ in noise correlated on the beam scale, SPEC 10.2 item 9 in
// miniature) and checks that the normalised residuals (measured − true)/σ
// of x, y and peak are unbiased and have a spread near 1: this validates
// the fit and the error formulas together.
func TestMeasureStatistics(t *testing.T) {
	beam := Beam{3, 2, 0}
	n := 20 // 20×20 = 400 sources per field
	fields := 5
	if testing.Short() {
		fields = 1
	}
	modes := []struct {
		name string
		cfg  MeasureConfig
	}{
		{"gaussian/forcebeam", MeasureConfig{Mode: ModeGaussian, ForceBeam: true, Errors: DefaultErrorModel()}},
		{"gaussian/free", MeasureConfig{Mode: ModeGaussian, Errors: DefaultErrorModel()}},
		{"moments/forcebeam", MeasureConfig{Mode: ModeMoments, ForceBeam: true, Errors: DefaultErrorModel()}},
		{"moments/free", MeasureConfig{Mode: ModeMoments, Errors: DefaultErrorModel()}},
	}
	for _, mode := range modes {
		t.Run(mode.name, func(t *testing.T) {
			var zx, zy, zp []float64
			var m Measurer
			var nIsl, nDrop int
			for f := range fields {
				seed := uint64(1000 + f)
				rng := rand.New(rand.NewPCG(seed, 7))
				det, truth := gridField(rng, n, n, 32, 20, beam, beam, 3)
				srcs, st, err := m.Measure(nil, det, beam, testProj, &mode.cfg)
				if err != nil {
					t.Fatal(err)
				}
				nIsl += len(det.Islands)
				nDrop += st.NDropped()
				// Measure drops nothing here, so sources align with islands.
				if len(srcs) != len(det.Islands) {
					t.Fatalf("seed %d: %d sources from %d islands (%+v)", seed, len(srcs), len(det.Islands), st)
				}
				for i, s := range srcs {
					tr := truth[i]
					zx = append(zx, (s.X-tr.x)/s.XErr)
					zy = append(zy, (s.Y-tr.y)/s.YErr)
					zp = append(zp, (s.Peak-tr.peak)/s.PeakErr)
				}
			}
			if nIsl < fields*n*n*9/10 {
				t.Fatalf("only %d of %d sources became islands", nIsl, fields*n*n)
			}
			for _, c := range []struct {
				name string
				z    []float64
				tmax float64
			}{
				// x, y: PySE's criterion, a t-test at p > 0.01 (|t| < 2.58),
				// widened to 3.3 (p > 0.001) because the four sub-tests
				// and two coordinates make 8 trials.
				{"x", zx, 3.3},
				{"y", zy, 3.3},
				// peak: PySE allows |t| < sqrt(N/3969), a bias of 1/63 σ,
				// in moments mode. The Gaussian fit over the thresholded
				// island is biased by the truncation (docs/extract.md,
				// "Statistical accuracy"): island pixels near T are kept
				// only when their noise is positive, E[n·1{s+n>T}] =
				// σφ((T−s)/σ). To first order this lifts a fixed-shape
				// fit by 2σ²/(P(1 − (T/P)²)) = +0.10 σ here (P = 20σ,
				// T = 3σ; measured +0.127); a free-shape fit turns it into
				// wider axes and a lower peak (first order −0.32 σ,
				// measured −0.114). Neither the start (peak·F or the
				// truth) nor xtol = ftol from 1e-4 to 1e-10 changes the
				// means by 1e-3 σ. So the bound is a bias of 0.25 σ
				// (|t| < 0.25·√N), about twice the largest measured.
				{"peak", zp, 0.25 * math.Sqrt(float64(len(zp)))},
			} {
				mean, std := meanStd(c.z)
				tt := mean / (std / math.Sqrt(float64(len(c.z))))
				t.Logf("%s: N=%d mean %.4f std %.4f t %.2f", c.name, len(c.z), mean, std, tt)
				// std in (0.5, 2): SPEC 10.2 item 9.
				if !(std > 0.5 && std < 2) {
					t.Errorf("%s: std of normalised residuals %.3f outside (0.5, 2)", c.name, std)
				}
				if math.Abs(tt) > c.tmax {
					t.Errorf("%s: |t| = %.2f > %.2f (mean %.4f, std %.4f)", c.name, math.Abs(tt), c.tmax, mean, std)
				}
			}
		})
	}
}

// TestMeasureForceBeamShape: with force_beam the shape equals the beam
// exactly, flux = peak, and the fit type is recorded (SPEC 4.12, 10.2 2).
func TestMeasureForceBeamShape(t *testing.T) {
	beam := Beam{5.42431, 2.46528, 0.08752}
	rng := rand.New(rand.NewPCG(5, 6))
	det, _ := gridField(rng, 4, 4, 48, 15, beam, Beam{3, 2, 0}, 3)
	var m Measurer
	for _, mode := range []MeasureMode{ModeGaussian, ModeMoments} {
		cfg := DefaultMeasureConfig()
		cfg.Mode = mode
		srcs, _, err := m.Measure(nil, det, beam, testProj, &cfg)
		if err != nil || len(srcs) == 0 {
			t.Fatalf("%v: %d sources, %v", mode, len(srcs), err)
		}
		for _, s := range srcs {
			if s.Smaj != beam.A || s.Smin != beam.B || s.Theta != beam.Theta {
				t.Errorf("%v: shape (%g, %g, %g), want the beam %v", mode, s.Smaj, s.Smin, s.Theta, beam)
			}
			// flux = π·P·a·b/(π·a·b) = P up to rounding.
			if !testutil.Close(s.Flux, s.Peak, 0, 1e-15) || s.Gaussian != (mode == ModeGaussian) {
				t.Errorf("%v: flux %g peak %g gaussian %v", mode, s.Flux, s.Peak, s.Gaussian)
			}
			if s.EwSysErr != 10 || s.NsSysErr != 10 || s.SmajDC != 0 || s.SmajDCErr != 0 {
				t.Errorf("%v: sys errs %g/%g, deconvolved %g ± %g", mode, s.EwSysErr, s.NsSysErr, s.SmajDC, s.SmajDCErr)
			}
		}
	}
}

// TestMeasureResolved: a resolved, rotated source at high S/N is recovered
// by the free-shape fit and the moments, and deconvolves to its intrinsic
// shape.
func TestMeasureResolved(t *testing.T) {
	beam := Beam{3, 2, 0.3}
	// Convolving Gaussians adds covariances: intrinsic (4, 2, −37°) HWHM.
	ixx, iyy, ixy := covFromAxes(4, 2, -37*d2r)
	bxx, byy, bxy := covFromAxes(beam.A, beam.B, beam.Theta)
	xx, yy, xy := ixx+bxx, iyy+byy, ixy+bxy
	m2 := (xx + yy) / 2
	t2 := math.Hypot((xx-yy)/2, xy)
	a, b := math.Sqrt(m2+t2), math.Sqrt(m2-t2)
	th := 0.5*math.Atan2(2*xy, xx-yy) + math.Pi/2 // major-axis angle from +y towards −x
	th = math.Remainder(th, math.Pi)
	truth := synthSrc{peak: 1, x: 40.3, y: 39.6, a: a, b: b, theta: th}
	d := newTestImage(80, 80)
	correlatedNoise(d, beam.A, beam.B, rand.New(rand.NewPCG(9, 9)))
	for i := range d.Pix {
		d.Pix[i] *= 1e-3 // S/N 1000
	}
	paint(d, []synthSrc{truth})
	rms := constImage(80, 80, 1e-3)
	det := buildDetections(d, rms, []image.Point{{40, 40}}, 3)
	var m Measurer
	for _, mode := range []MeasureMode{ModeGaussian, ModeMoments} {
		cfg := MeasureConfig{Mode: mode, Errors: DefaultErrorModel()}
		srcs, st, err := m.Measure(nil, det, beam, testProj, &cfg)
		if err != nil || len(srcs) != 1 {
			t.Fatalf("%v: %d sources (%+v), %v", mode, len(srcs), st, err)
		}
		s := srcs[0]
		// Gaussian fit at S/N 1000: errors ~1e-3 relative; 1% covers the
		// correlated-noise realisation. Moments: the threshold correction
		// is exact only for a continuous Gaussian, pixelisation leaves a
		// few per cent (Spreeuw 2010), so 5%.
		tol := 0.01
		if mode == ModeMoments {
			tol = 0.05
		}
		dth := math.Remainder(s.Theta-th, math.Pi)
		if !testutil.Close(s.Smaj, a, 0, tol) || !testutil.Close(s.Smin, b, 0, tol) || math.Abs(dth) > tol*2 ||
			!testutil.Close(s.Peak, 1, 0, tol) || math.Abs(s.X-truth.x) > 0.05 || math.Abs(s.Y-truth.y) > 0.05 {
			t.Errorf("%v: got (P %g, x %g, y %g, a %g, b %g, θ %g), want (1, %g, %g, %g, %g, %g)", mode, s.Peak, s.X, s.Y, s.Smaj, s.Smin, s.Theta, truth.x, truth.y, a, b, th)
		}
		if !testutil.Close(s.SmajDC, 4, 0, 3*tol) || !testutil.Close(s.SminDC, 2, 0, 3*tol) || math.Abs(math.Remainder(s.ThetaDC+37, 180)) > 3 {
			t.Errorf("%v: deconvolved (%g, %g, %g°), want (4, 2, −37°)", mode, s.SmajDC, s.SminDC, s.ThetaDC)
		}
	}
}

// TestMeasureThreadsDeterministic: results are identical for any thread
// count.
func TestMeasureThreadsDeterministic(t *testing.T) {
	beam := Beam{3, 2, 0}
	rng := rand.New(rand.NewPCG(11, 12))
	det, _ := gridField(rng, 10, 10, 32, 12, beam, beam, 3)
	for _, mode := range []MeasureMode{ModeGaussian, ModeMoments} {
		cfg := MeasureConfig{Mode: mode, Errors: DefaultErrorModel(), Threads: 1}
		var m1 Measurer
		want, st1, _ := m1.Measure(nil, det, beam, testProj, &cfg)
		for _, th := range []int{2, 3, 7, 200} {
			cfg.Threads = th
			var m Measurer
			got, st, _ := m.Measure(make([]Source, 0, 3), det, beam, testProj, &cfg)
			if len(got) != len(want) || st != st1 {
				t.Fatalf("%v threads %d: %d sources, want %d", mode, th, len(got), len(want))
			}
			for i := range got {
				// %v prints float64 in shortest round-trip form, so equal
				// strings mean bit-equal values (NaN included).
				if fmt.Sprintf("%+v", got[i]) != fmt.Sprintf("%+v", want[i]) {
					t.Fatalf("%v threads %d: source %d differs:\n%+v\n%+v", mode, th, i, got[i], want[i])
				}
			}
		}
	}
}

// TestMeasureAllocs: a warmed-up serial Measure allocates nothing.
func TestMeasureAllocs(t *testing.T) {
	beam := Beam{3, 2, 0}
	det, _ := gridField(rand.New(rand.NewPCG(13, 14)), 4, 4, 32, 12, beam, beam, 3)
	for _, mode := range []MeasureMode{ModeGaussian, ModeMoments} {
		cfg := MeasureConfig{Mode: mode, Errors: DefaultErrorModel()}
		var m Measurer
		var proj Projector = testProj // convert once: boxing a struct allocates
		dst, _, _ := m.Measure(nil, det, beam, proj, &cfg)
		allocs := testing.AllocsPerRun(10, func() {
			dst, _, _ = m.Measure(dst[:0], det, beam, proj, &cfg)
		})
		if allocs != 0 {
			t.Errorf("%v: %g allocations per Measure after warm-up", mode, allocs)
		}
	}
}

func TestMeasureDropsNegative(t *testing.T) {
	// An island of negative values: the moments peak is negative and the
	// source is dropped with that reason (SPEC 4.7 step 9).
	d := constImage(20, 20, 0)
	rms := constImage(20, 20, 1)
	paint(d, []synthSrc{{-10, 10, 10, 2, 2, 0}})
	det := &Detections{D: d, RMS: rms, Labels: make([]int32, 400)}
	for y := 8; y <= 12; y++ {
		for x := 8; x <= 12; x++ {
			det.Labels[d.PixOffset(x, y)] = 1
		}
	}
	det.Islands = []Island{{Label: 1, Box: image.Rect(8, 8, 13, 13), Peak: image.Pt(10, 10), NPix: 25, Threshold: 3, Noise: 1}}
	var m Measurer
	cfg := MeasureConfig{Mode: ModeMoments, Errors: DefaultErrorModel()}
	srcs, st, _ := m.Measure(nil, det, Beam{2, 2, 0}, testProj, &cfg)
	if len(srcs) != 0 || st.Dropped[DropNegativePeak] != 1 {
		t.Errorf("negative island: %d sources, stats %+v", len(srcs), st)
	}
	if _, _, err := m.Measure(nil, det, Beam{0, 2, 0}, testProj, &cfg); err == nil {
		t.Error("zero beam accepted")
	}
}
