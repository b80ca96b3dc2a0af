package extract

import (
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/extract/extracttest"
	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// statField is one field of the statistical regression: the truth and
// the sources measured.
type statField struct {
	truth []extracttest.Truth
	srcs  []kernels.Source
	beam  kernels.Beam
	res   *Result
	meta  *fitsimg.Meta
}

// runStatField makes a size x size field of PSF-correlated unit noise
// (psf.fits) with an n x n grid of sources of peak 20 and the given
// intrinsic shape (zero: point sources), and extracts it with SPEC 10.2
// item 9's settings: detection 12, analysis 8, supplied rms = 1 and
// background = 0 maps; force_beam with remove_edge_sources off for point
// sources, free shapes with it on for resolved ones.
func runStatField(t testing.TB, size, n int, first, spacing float64, intrinsic kernels.Beam, modes []kernels.MeasureMode, seed uint64) []*statField {
	img, m, truth, beam := genStatField(t, size, n, first, spacing, intrinsic, seed)
	return extractStat(t, img, m, truth, beam, intrinsic.A == 0, modes)
}

// extractStat extracts img (left untouched) in each mode with SPEC 10.2
// item 9's settings (see runStatField).
func extractStat(t testing.TB, img *kernels.Image, m *fitsimg.Meta, truth []extracttest.Truth, beam kernels.Beam, point bool, modes []kernels.MeasureMode) []*statField {
	opt := Default()
	opt.Detect.DetectionThr, opt.Detect.AnalysisThr = 12, 8
	opt.Detect.Margin = 0
	opt.Detect.RemoveEdgeSources = !point
	opt.Measure.ForceBeam = point
	opt.Background, _ = kernels.NewImage(img.Rect)
	opt.RMS, _ = kernels.NewImage(img.Rect)
	for i := range opt.RMS.Pix {
		opt.RMS.Pix[i] = 1
	}
	var out []*statField
	for _, mode := range modes {
		opt.Measure.Mode = mode
		w, err := NewWorker(opt)
		if err != nil {
			t.Fatal(err)
		}
		// The extraction consumes its image (D in place): give it a copy.
		cp := &kernels.Image{Pix: append([]float32(nil), img.Pix...), Stride: img.Stride, Rect: img.Rect}
		r, err := w.Image(cp, m)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, &statField{truth: truth, srcs: r.Sources, beam: beam, res: r, meta: m})
	}
	return out
}

// genStatField makes the field of runStatField: the image, its metadata
// (SIN WCS with psf.fits's pixel size and beam), the truth and the beam.
func genStatField(t testing.TB, size, n int, first, spacing float64, intrinsic kernels.Beam, seed uint64) (*kernels.Image, *fitsimg.Meta, []extracttest.Truth, kernels.Beam) {
	psf, meta, err := fitsimg.Read(testutil.SharedFile(t, "psf.fits"), fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	beam := kernels.Beam{A: meta.BeamPx.SMaj, B: meta.BeamPx.SMin, Theta: meta.BeamPx.Theta}
	rng := rand.New(rand.NewPCG(seed, 13302))
	img, err := kernels.NewImage(image.Rect(0, 0, size, size))
	if err != nil {
		t.Fatal(err)
	}
	sim.ConvolvedNoise(img, psf, rng)
	shape, point := beam, intrinsic.A == 0
	if !point {
		shape = extracttest.Convolve(intrinsic, beam)
	}
	truth := extracttest.PaintGrid(img, n, first, spacing, 20, shape, rng)
	m, err := extracttest.SINMeta(size, size, meta.PixelScale, 150, 50, beam)
	if err != nil {
		t.Fatal(err)
	}
	return img, m, truth, beam
}

// match pairs each source with the grid truth nearest to it; it fails the
// test for a source more than 1.5 px from its grid position (spurious) and
// for a truth found twice or not at all.
func (f *statField) match(t testing.TB, n int, first, spacing float64) []int {
	t.Helper()
	idx := make([]int, len(f.srcs))
	seen := make([]int, len(f.truth))
	for k, s := range f.srcs {
		i := int(math.Round((s.X - first) / spacing))
		j := int(math.Round((s.Y - first) / spacing))
		if i < 0 || j < 0 || i >= n || j >= n {
			t.Errorf("spurious source at (%.2f, %.2f)", s.X, s.Y)
			idx[k] = -1
			continue
		}
		tr := f.truth[j*n+i]
		// 1.5 px: the position error of a 12-sigma source is ~0.1 px;
		// a spurious noise peak lands anywhere in the 10+ px cell.
		if math.Hypot(s.X-tr.X, s.Y-tr.Y) > 1.5 {
			t.Errorf("spurious source at (%.2f, %.2f), nearest truth (%.2f, %.2f)", s.X, s.Y, tr.X, tr.Y)
			idx[k] = -1
			continue
		}
		idx[k] = j*n + i
		seen[j*n+i]++
	}
	missing, dup := 0, 0
	for _, c := range seen {
		switch {
		case c == 0:
			missing++
		case c > 1:
			dup++
		}
	}
	if missing > 0 || dup > 0 {
		t.Errorf("%d of %d sources not found, %d found more than once (%d sources, outcome %v, stats %+v)",
			missing, len(f.truth), dup, len(f.srcs), f.res.Outcome, f.res.Stats)
	}
	return idx
}

// statCheck is one statistical check: the normalised residuals z and the
// bound tmax on their t statistic. pred, when set, holds each source's
// predicted residual from the threshold-truncation bias (truncation below):
// the t statistic must then lie between 0 and the prediction's, each end
// widened by tmax.
type statCheck struct {
	name string
	z    []float64
	tmax float64
	pred []float64
}

func checkStats(t *testing.T, cs []statCheck) {
	t.Helper()
	for _, c := range cs {
		mean, std := meanStd(c.z)
		se := std / math.Sqrt(float64(len(c.z)))
		tt := mean / se
		lo, hi := -c.tmax, c.tmax
		if c.pred != nil {
			pm, _ := meanStd(c.pred)
			tp := pm / se
			lo, hi = math.Min(0, tp)-c.tmax, math.Max(0, tp)+c.tmax
			t.Logf("%-9s N=%d mean %+.4f std %.4f t %+.2f (predicted bias %+.4f, t %+.2f; bounds %.2f, %.2f)",
				c.name, len(c.z), mean, std, tt, pm, tp, lo, hi)
		} else {
			t.Logf("%-9s N=%d mean %+.4f std %.4f t %+.2f (bound %.2f)", c.name, len(c.z), mean, std, tt, c.tmax)
		}
		// std in (0.5, 2): SPEC 10.2 item 9.
		if !(std > 0.5 && std < 2) {
			t.Errorf("%s: std of normalised residuals %.3f outside (0.5, 2)", c.name, std)
		}
		if !(tt > lo && tt < hi) {
			t.Errorf("%s: t = %.2f outside (%.2f, %.2f)", c.name, tt, lo, hi)
		}
	}
}

func meanStd(v []float64) (mean, std float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(v)-1))
}

// sepSigned returns the signed offsets in degrees on the sky of (ra, dec)
// from the truth position: along RA (times cos dec) and along Dec.
func skyResiduals(m *fitsimg.Meta, s *kernels.Source, tr extracttest.Truth) (dra, ddec float64) {
	ra, dec, err := m.WCS.PixToSky(tr.X, tr.Y)
	if err != nil {
		return math.NaN(), math.NaN()
	}
	d := s.RA - ra
	if d > 180 {
		d -= 360
	} else if d < -180 {
		d += 360
	}
	return d, s.Dec - dec
}

// statModes are the measurement paths of the statistical tests: moments
// is SPEC 10.2 item 9's setting ("vectorized"), gaussian TraP's.
var statModes = []kernels.MeasureMode{kernels.ModeMoments, kernels.ModeGaussian}

// TestStatisticalPointSources is SPEC 10.2 item 9 (point sources) at
// 2048 x 2048: every inserted source is found once, nothing spurious, and
// the normalised residuals of x, y, RA, Dec and peak are centred with a
// spread in (0.5, 2).
//
// The grid spacing is 14 px (4.9 beam FWHM along the major axis), not the
// 10 px of PySE's 409² sources on 4096²: at 10 px the noise, correlated
// over the dirty beam convolved with itself, joins about 0.5% of
// neighbouring pairs into one island above the analysis threshold of 8
// (measured: 239 of 41209 lost that way), which this one-to-one test
// cannot tell from a measurement error.
func TestStatisticalPointSources(t *testing.T) {
	const size, n, first, spacing = 2048, 145, 16, 14
	fields := runStatField(t, size, n, first, spacing, kernels.Beam{}, statModes, 1)
	for k, mode := range statModes {
		t.Run(mode.String(), func(t *testing.T) {
			f := fields[k]
			idx := f.match(t, n, first, spacing)
			var zx, zy, zra, zdec, zp []float64
			for k, i := range idx {
				if i < 0 {
					continue
				}
				s, tr := &f.srcs[k], f.truth[i]
				dra, ddec := skyResiduals(f.meta, s, tr)
				zx = append(zx, (s.X-tr.X)/s.XErr)
				zy = append(zy, (s.Y-tr.Y)/s.YErr)
				zra = append(zra, dra/s.RAErr)
				zdec = append(zdec, ddec/s.DecErr)
				zp = append(zp, (s.Peak-tr.Peak)/s.PeakErr)
			}
			// Positions: a two-sided t-test at p > 0.01 is |t| < 2.58
			// (SPEC 10.2 item 9). Peak: |t| < sqrt(N/3969) (ibid., a bias
			// of at most 1/63 of the error). In moments mode (SPEC's
			// setting) the peak comes from the one pixel nearest the
			// barycentre and is not biased by the threshold, so SPEC's
			// bound applies as it is. The Gaussian fit uses the whole
			// thresholded island and is biased high by the truncation
			// (above fitTruncation: +0.119 sigma to first order for a
			// point source at 20 sigma and threshold 8, that is
			// 2/(20·(1 − (8/20)²)) in the continuum limit; measured
			// +0.098): its t must lie between 0 and the prediction's,
			// widened by SPEC's bound at each end.
			var pred []float64
			if mode == kernels.ModeGaussian {
				tb := fitTruncation(f.beam, 20, 8, []int{0, 1, 2})
				for k, i := range idx {
					if i >= 0 {
						pred = append(pred, f.truth[i].Peak*tb.peak/f.srcs[k].PeakErr)
					}
				}
			}
			checkStats(t, []statCheck{
				{"x", zx, 2.58, nil}, {"y", zy, 2.58, nil}, {"ra", zra, 2.58, nil}, {"dec", zdec, 2.58, nil},
				{"peak", zp, math.Sqrt(float64(len(zp)) / 3969), pred},
			})
		})
	}
}

// TestStatisticalResolvedSources is SPEC 10.2 item 9 (resolved sources,
// intrinsic (4 px, 2 px, -37 deg) convolved with the beam) at 2048 x 2048,
// spaced 16 px (SPEC's 13.65 px joins islands as for point sources).
//
// The flux and the axes are biased high by the threshold truncation
// (above; docs/extract.md): measured +1.0 to +3.0%, 0.27-0.38 sigma, which
// at N = 15876 is over SPEC's bound 15*sqrt(N/3969) = 30 for some of them.
// For every quantity with a predicted truncation bias the t statistic must
// lie between 0 and the prediction's, each end widened by SPEC's bound;
// positions (|t| < 2.58) and the fitted angle (|t| < 3*sqrt(N/3969)),
// which the truncation does not bias, are held to SPEC's bounds as they
// are; the spreads of all to (0.5, 2).
func TestStatisticalResolvedSources(t *testing.T) {
	const size, n, first, spacing = 2048, 126, 20, 16
	intrinsic := kernels.Beam{A: 4, B: 2, Theta: -37 * math.Pi / 180}
	fields := runStatField(t, size, n, first, spacing, intrinsic, statModes, 2)
	for k, mode := range statModes {
		t.Run(mode.String(), func(t *testing.T) {
			f := fields[k]
			shape := extracttest.Convolve(intrinsic, f.beam)
			var tb truncBias
			if mode == kernels.ModeGaussian {
				tb = fitTruncation(shape, 20, 8, []int{0, 1, 2, 3, 4, 5})
			} else {
				tb = momentsTruncation(shape, 20, 8)
			}
			// The deconvolved shape of the truncation-biased convolved
			// shape, relative to that of the truth.
			biased := kernels.Beam{A: shape.A * (1 + tb.a), B: shape.B * (1 + tb.b), Theta: shape.Theta}
			ta, tbb, tpa := deconvolved(shape, f.beam)
			pa, pb, ppa := deconvolved(biased, f.beam)
			dpa := angleDiff((ppa-tpa)*math.Pi/180, 0)
			idx := f.match(t, n, first, spacing)
			var zx, zy, zp, zf, za, zb, zth, zadc, zbdc, zthdc []float64
			var pp, pf, pA, pB, padc, pbdc, pthdc []float64
			var rf, ra, rb []float64
			for k, i := range idx {
				if i < 0 {
					continue
				}
				s, tr := &f.srcs[k], f.truth[i]
				zx = append(zx, (s.X-tr.X)/s.XErr)
				zy = append(zy, (s.Y-tr.Y)/s.YErr)
				zp = append(zp, (s.Peak-tr.Peak)/s.PeakErr)
				zf = append(zf, (s.Flux-tr.Flux(f.beam))/s.FluxErr)
				za = append(za, (s.Smaj-tr.Shape.A)/s.SmajErr)
				zb = append(zb, (s.Smin-tr.Shape.B)/s.SminErr)
				zth = append(zth, angleDiff(s.Theta, tr.Shape.Theta)/s.ThetaErr)
				zadc = append(zadc, (s.SmajDC-intrinsic.A)/s.SmajDCErr)
				zbdc = append(zbdc, (s.SminDC-intrinsic.B)/s.SminDCErr)
				zthdc = append(zthdc, angleDiff(s.ThetaDC*math.Pi/180, intrinsic.Theta)/(s.ThetaDCErr*math.Pi/180))
				pp = append(pp, tr.Peak*tb.peak/s.PeakErr)
				pf = append(pf, tr.Flux(f.beam)*((1+tb.peak)*(1+tb.a)*(1+tb.b)-1)/s.FluxErr)
				pA = append(pA, tr.Shape.A*tb.a/s.SmajErr)
				pB = append(pB, tr.Shape.B*tb.b/s.SminErr)
				padc = append(padc, (pa-ta)/s.SmajDCErr)
				pbdc = append(pbdc, (pb-tbb)/s.SminDCErr)
				pthdc = append(pthdc, dpa/(s.ThetaDCErr*math.Pi/180))
				rf = append(rf, s.Flux/tr.Flux(f.beam))
				ra = append(ra, s.Smaj/tr.Shape.A)
				rb = append(rb, s.Smin/tr.Shape.B)
			}
			for _, r := range []struct {
				name string
				v    []float64
				pred float64
			}{{"flux", rf, (1 + tb.peak) * (1 + tb.a) * (1 + tb.b)}, {"smaj", ra, 1 + tb.a}, {"smin", rb, 1 + tb.b}} {
				m, _ := meanStd(r.v)
				t.Logf("%s: mean measured/true %.4f, predicted truncation bias %.4f", r.name, m, r.pred)
			}
			b := math.Sqrt(float64(len(zp)) / 3969)
			// SPEC 10.2 item 9: positions |t| < 2.58 (p > 0.01); peak
			// sqrt(N/3969); flux, axes and deconvolved axes 15 times
			// that; angles 3 times that. With a prediction, the band
			// runs from 0 to it (checkStats).
			checkStats(t, []statCheck{
				{"x", zx, 2.58, nil}, {"y", zy, 2.58, nil}, {"peak", zp, b, pp},
				{"flux", zf, 15 * b, pf}, {"smaj", za, 15 * b, pA}, {"smin", zb, 15 * b, pB},
				{"smaj_dc", zadc, 15 * b, padc}, {"smin_dc", zbdc, 15 * b, pbdc},
				{"theta", zth, 3 * b, nil}, {"theta_dc", zthdc, 3 * b, pthdc},
			})
		})
	}
}

// TestStatisticalNoiseFree measures resolved sources of
// TestStatisticalResolvedSources without noise (1024 x 1024, spaced 32 px
// so that no neighbour's wing reaches an island): what remains is the
// algorithms' own bias, which separates it from the noise-driven
// truncation bias and guards the painter, the fit, the moments'
// threshold correction and the deconvolution. Measured mean errors: the
// fit 1e-8 (flux -2.2e-9, a -4.1e-9, b +5.8e-9, deconvolved b +1.1e-8);
// the moments 0.2% (flux -0.13%, a +0.07%, b -0.04%, deconvolved b -0.20%:
// pixelisation of the island's edge, which Spreeuw's threshold correction
// for a continuous Gaussian does not model).
func TestStatisticalNoiseFree(t *testing.T) {
	const size, n, first, spacing = 1024, 31, 32, 32
	_, meta, err := fitsimg.Read(testutil.SharedFile(t, "psf.fits"), fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	beam := kernels.Beam{A: meta.BeamPx.SMaj, B: meta.BeamPx.SMin, Theta: meta.BeamPx.Theta}
	intrinsic := kernels.Beam{A: 4, B: 2, Theta: -37 * math.Pi / 180}
	shape := extracttest.Convolve(intrinsic, beam)
	img, err := kernels.NewImage(image.Rect(0, 0, size, size))
	if err != nil {
		t.Fatal(err)
	}
	truth := extracttest.PaintGrid(img, n, first, spacing, 20, shape, rand.New(rand.NewPCG(4, 13302)))
	m, err := extracttest.SINMeta(size, size, meta.PixelScale, 150, 50, beam)
	if err != nil {
		t.Fatal(err)
	}
	fields := extractStat(t, img, m, truth, beam, false, statModes)
	for k, mode := range statModes {
		t.Run(mode.String(), func(t *testing.T) {
			f := fields[k]
			idx := f.match(t, n, first, spacing)
			// Tolerances on the mean relative error: the fit 1e-6 (the
			// image is float32, 6e-8 relative; a noise-free fit starts
			// within the moments' few 0.1% and converges well inside
			// xtol); the moments 0.5% (the pixelisation above).
			tol := 1e-6
			if mode == kernels.ModeMoments {
				tol = 5e-3
			}
			var rf, ra, rb, rth, radc, rbdc, rthdc []float64
			for k, i := range idx {
				if i < 0 {
					continue
				}
				s, tr := &f.srcs[k], f.truth[i]
				rf = append(rf, s.Flux/tr.Flux(f.beam)-1)
				ra = append(ra, s.Smaj/tr.Shape.A-1)
				rb = append(rb, s.Smin/tr.Shape.B-1)
				rth = append(rth, angleDiff(s.Theta, tr.Shape.Theta))
				radc = append(radc, s.SmajDC/intrinsic.A-1)
				rbdc = append(rbdc, s.SminDC/intrinsic.B-1)
				rthdc = append(rthdc, angleDiff(s.ThetaDC*math.Pi/180, intrinsic.Theta))
			}
			for _, c := range []struct {
				name string
				v    []float64
			}{{"flux", rf}, {"smaj", ra}, {"smin", rb}, {"theta", rth}, {"smaj_dc", radc}, {"smin_dc", rbdc}, {"theta_dc", rthdc}} {
				mean, _ := meanStd(c.v)
				t.Logf("%-8s N=%d mean relative error (angles: rad) %+.2e", c.name, len(c.v), mean)
				// The deconvolved axes amplify the convolved ones' errors
				// by a²/a_dc² ≲ 2 here, hence twice the tolerance.
				if math.Abs(mean) > 2*tol {
					t.Errorf("%s: mean error %.2e over %.0e", c.name, mean, 2*tol)
				}
			}
		})
	}
}

// angleDiff returns a - b reduced to (-pi/2, pi/2] (position angles are
// defined modulo pi).
func angleDiff(a, b float64) float64 {
	d := math.Mod(a-b, math.Pi)
	if d > math.Pi/2 {
		d -= math.Pi
	} else if d <= -math.Pi/2 {
		d += math.Pi
	}
	return d
}

// Threshold truncation: the explanation of the biases these tests bound
// (docs/extract.md, "Statistical accuracy").
//
// Both measurement paths use only the island, the pixels above the analysis
// threshold T. A pixel whose true value is s carries noise n and joins the
// island only when s + n > T, so the noise it brings is not zero on average:
// with unit noise, E[n·1{s+n>T}] = φ(T − s) (φ the standard normal
// density), whatever the noise's correlation. Pixels near the threshold
// join when their noise is positive and drop out when it is negative, so
// the island's pixels are biased high there, and every estimate made from
// them inherits the bias. It is inherent in PySE's algorithm (the moments'
// threshold correction, Spreeuw 2010 eq. 2.67 and the axes' factor, assumes
// a noise-free island edge), and the experiments of docs/extract.md confirm
// it: the bias vanishes when the island's membership is taken from the
// noise-free image, or when the fit uses the whole box instead.
//
// The functions below predict it to first order in the noise for a source
// of the given shape and peak (in units of the noise) and threshold T,
// averaged over the sub-pixel position of the centre. They ignore the
// island's connectivity (a noise pixel above T that does not touch the
// island stays out of it) and the noise's second-order terms; the measured
// biases are 50-90% of the predictions in these tests (point-source peak
// 83%; resolved flux, a, b: fit 64, 66, 52%, moments 72, 91, 70%).

// truncBias is a predicted relative bias (measured/true − 1) of the peak
// and the convolved semi-axes; θ is not biased (to first order, by
// symmetry).
type truncBias struct{ peak, a, b float64 }

// stdNormPDF is φ(x).
func stdNormPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }

// truncCentres calls f for n source centres (x0, y0) spread uniformly over
// the central pixel by a fixed seed; the callers sum over the pixels
// within 20 px of each.
func truncCentres(n int, f func(x0, y0 float64)) {
	rng := rand.New(rand.NewPCG(3, 3))
	for range n {
		f(rng.Float64()-0.5, rng.Float64()-0.5)
	}
}

// fitTruncation is the first-order bias of the least-squares Gaussian fit
// (SPEC 4.8) over the island: linearising the model G at the truth p with
// Jacobian J over the free parameters, the fit moves by
// (Σ_{s>T} J Jᵀ)⁻¹ Σ J·φ(T − s), the sums over the pixels. free lists the
// fitted parameters, in the order (peak, x, y, a, b, θ).
func fitTruncation(shape kernels.Beam, peak, thr float64, free []int) truncBias {
	const r = 20
	n := len(free)
	var out truncBias
	const centres = 100
	truncCentres(centres, func(x0, y0 float64) {
		p := [6]float64{peak, x0, y0, shape.A, shape.B, shape.Theta}
		g := func(q *[6]float64, x, y float64) float64 {
			return kernels.Gauss2D(q[0], q[1], q[2], q[3], q[4], q[5], x, y)
		}
		ata := make([]float64, n*n)
		atb := make([]float64, n)
		var jac [6]float64
		for y := -r; y <= r; y++ {
			for x := -r; x <= r; x++ {
				fx, fy := float64(x), float64(y)
				s := g(&p, fx, fy)
				for k, j := range free {
					// Central difference: the model is smooth, and 1e-5
					// relative gives ~1e-10 accuracy, far below what
					// matters here.
					h := 1e-5 * math.Max(1, math.Abs(p[j]))
					q1, q2 := p, p
					q1[j] += h
					q2[j] -= h
					jac[k] = (g(&q1, fx, fy) - g(&q2, fx, fy)) / (2 * h)
				}
				e := stdNormPDF(thr - s)
				for k := range n {
					atb[k] += jac[k] * e
					if s > thr {
						for l := range n {
							ata[k*n+l] += jac[k] * jac[l]
						}
					}
				}
			}
		}
		d := solveSmall(ata, atb, n)
		for k, j := range free {
			switch j {
			case 0:
				out.peak += d[k] / peak / centres
			case 3:
				out.a += d[k] / shape.A / centres
			case 4:
				out.b += d[k] / shape.B / centres
			}
		}
	})
	return out
}

// solveSmall solves the n×n system a·x = b (row-major a, symmetric
// positive definite here) by Gaussian elimination without pivoting.
func solveSmall(a, b []float64, n int) []float64 {
	a = append([]float64(nil), a...)
	x := append([]float64(nil), b...)
	for c := range n {
		for r := c + 1; r < n; r++ {
			f := a[r*n+c] / a[c*n+c]
			for k := c; k < n; k++ {
				a[r*n+k] -= f * a[c*n+k]
			}
			x[r] -= f * x[c]
		}
	}
	for c := n - 1; c >= 0; c-- {
		for k := c + 1; k < n; k++ {
			x[c] -= a[c*n+k] * x[k]
		}
		x[c] /= a[c*n+c]
	}
	return x
}

// momentsTruncation is the first-order bias of the free-shape moments
// (SPEC 4.7 step 6): the moments of the expected island, each pixel
// weighted by E[v·1{v>T}] = s·Φ(s − T) + φ(s − T) instead of s·1{s>T},
// with the threshold correction of the axes and Spreeuw's tweaked peak
// (eq. 2.67, from the pixel nearest the centre, whose expected value is s)
// as the measurement applies them. Pixelisation is included: the result is
// relative to the truth.
func momentsTruncation(shape kernels.Beam, peak, thr float64) truncBias {
	const r = 20
	var out truncBias
	const centres = 100
	truncCentres(centres, func(x0, y0 float64) {
		var s0, sx, sy, sxx, syy, sxy float64
		for y := -r; y <= r; y++ {
			for x := -r; x <= r; x++ {
				fx, fy := float64(x), float64(y)
				s := kernels.Gauss2D(peak, x0, y0, shape.A, shape.B, shape.Theta, fx, fy)
				d := s - thr
				w := s*0.5*(1+math.Erf(d/math.Sqrt2)) + stdNormPDF(d)
				s0 += w
				sx += w * fx
				sy += w * fy
				sxx += w * fx * fx
				syy += w * fy * fy
				sxy += w * fx * fy
			}
		}
		mx, my := sx/s0, sy/s0
		xx, yy, xy := sxx/s0-mx*mx, syy/s0-my*my, sxy/s0-mx*my
		w1 := (xx + yy) / 2
		w2 := math.Sqrt((xx-yy)*(xx-yy)/4 + xy*xy)
		a2 := 2 * math.Ln2 * (w1 + w2)
		b2 := 2 * math.Ln2 * (w1 - w2)
		// Tweaked peak: P = B·exp(k(T/P)·ε/b²) by fixed-point iteration
		// (a contraction: k changes slowly with P), B the value of the
		// base pixel (0, 0) and ε from the offset (mx, my) along the
		// true axes (θ is unbiased).
		sn, cs := math.Sincos(shape.Theta)
		u := cs*mx + sn*my
		v := cs*my - sn*mx
		eps := math.Ln2 * (u*u + v*v*b2/a2)
		base := kernels.Gauss2D(peak, x0, y0, shape.A, shape.B, shape.Theta, 0, 0)
		k := func(p float64) float64 { q := thr / p; return 1 + math.Log(q)*q/(1-q) }
		p := base
		for range 100 {
			p = base * math.Exp(k(p)*eps/b2)
		}
		out.peak += (p/peak - 1) / centres
		out.a += (math.Sqrt(a2/k(p))/shape.A - 1) / centres
		out.b += (math.Sqrt(b2/k(p))/shape.B - 1) / centres
	})
	return out
}

// deconvolved returns the deconvolved semi-axes (px) and position angle
// (degrees in (−90, 90]) of a convolved shape, as the measurement reports
// them (SPEC 4.10).
func deconvolved(shape, beam kernels.Beam) (a, b, pa float64) {
	ra, rb, rpa, _ := kernels.Deconv(2*shape.A, 2*shape.B, shape.Theta*180/math.Pi, 2*beam.A, 2*beam.B, beam.Theta*180/math.Pi)
	if rpa > 90 {
		rpa -= 180
	}
	return ra / 2, rb / 2, rpa
}
