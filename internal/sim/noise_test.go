package sim

import (
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gotrap/kernels"
)

func TestFastSize(t *testing.T) {
	for _, c := range []struct{ n, want int }{
		{0, 1}, {1, 1}, {7, 8}, {1280, 1280}, {1293, 1296}, {1297, 1350}, {257, 270},
	} {
		if got := fastSize(c.n); got != c.want {
			t.Errorf("fastSize(%d) = %d, want %d", c.n, got, c.want)
		}
	}
}

// autocorr returns the normalised autocorrelation ρ(dx, dy) of the pixels
// of m for |dx|, |dy| <= r, indexed [(dy+r)*(2r+1) + dx+r], and the
// sample standard deviation of m (population form, about the mean).
func autocorr(m *kernels.Image, r int) ([]float64, float64) {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	var sum float64
	for y := range h {
		for _, v := range m.Row(m.Rect.Min.Y + y) {
			sum += float64(v)
		}
	}
	mean := sum / float64(w*h)
	z := make([]float64, w*h)
	for y := range h {
		for x, v := range m.Row(m.Rect.Min.Y + y) {
			z[y*w+x] = float64(v) - mean
		}
	}
	n := 2*r + 1
	rho := make([]float64, n*n)
	for dy := 0; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			var s float64
			cnt := 0
			for y := 0; y+dy < h; y++ {
				x0, x1 := max(0, -dx), min(w, w-dx)
				a := z[y*w+x0 : y*w+x1]
				b := z[(y+dy)*w+x0+dx : (y+dy)*w+x1+dx]
				for i, v := range a {
					s += v * b[i]
				}
				cnt += x1 - x0
			}
			c := s / float64(cnt)
			rho[(dy+r)*n+dx+r] = c
			rho[(-dy+r)*n-dx+r] = c
		}
	}
	v0 := rho[r*n+r]
	for i := range rho {
		rho[i] /= v0
	}
	return rho, math.Sqrt(v0)
}

// fitGaussianShape fits log ρ = -½ dᵀ M d over the lags where ρ > lo by
// linear least squares in (Mxx, Mxy, Myy) and returns the beam it
// describes (semi-axes in px, HWHM, and angle from +y towards -x).
func fitGaussianShape(t *testing.T, rho []float64, r int, lo float64) pixBeam {
	t.Helper()
	n := 2*r + 1
	var ata [3][3]float64
	var atb [3]float64
	for dy := -r; dy <= r; dy++ {
		for dx := -r; dx <= r; dx++ {
			v := rho[(dy+r)*n+dx+r]
			if (dx == 0 && dy == 0) || v <= lo {
				continue
			}
			row := [3]float64{-0.5 * float64(dx*dx), -float64(dx * dy), -0.5 * float64(dy*dy)}
			l := math.Log(v)
			for i := range 3 {
				for j := range 3 {
					ata[i][j] += row[i] * row[j]
				}
				atb[i] += row[i] * l
			}
		}
	}
	m, ok := solve3(ata, atb)
	if !ok {
		t.Fatal("singular autocorrelation fit")
	}
	// M = Σ⁻¹; eigenvalues of Σ are the squared sigmas.
	det := m[0]*m[2] - m[1]*m[1]
	sxx, sxy, syy := m[2]/det, -m[1]/det, m[0]/det
	tr, dd := sxx+syy, math.Sqrt((sxx-syy)*(sxx-syy)/4+sxy*sxy)
	l1, l2 := tr/2+dd, tr/2-dd
	// Major-axis direction (-sinθ, cosθ) is the eigenvector of l1.
	ex, ey := sxy, l1-sxx
	if math.Abs(ex)+math.Abs(ey) < 1e-12 {
		ex, ey = l1-syy, sxy
	}
	th := math.Atan2(-ex, ey)
	toH := 1 / (2 * fwhmToSigma)
	return pixBeam{a: math.Sqrt(l1) * toH, b: math.Sqrt(l2) * toH, theta: th}
}

func solve3(a [3][3]float64, b [3]float64) ([3]float64, bool) {
	det := func(m [3][3]float64) float64 {
		return m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
			m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
			m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	}
	d := det(a)
	if d == 0 {
		return [3]float64{}, false
	}
	var x [3]float64
	for k := range 3 {
		m := a
		for i := range 3 {
			m[i][k] = b[i]
		}
		x[k] = det(m) / d
	}
	return x, true
}

// angleDiff returns |a-b| modulo π (an ellipse's axis is undirected), rad.
func angleDiff(a, b float64) float64 {
	d := math.Mod(math.Abs(a-b), math.Pi)
	return math.Min(d, math.Pi-d)
}

// TestNoiseStatistics is the acceptance test for the noise: on a
// source-free image the rms is within 2% of the requested value and the
// autocorrelation of the pixels has the restoring beam's shape (SPEC 0.2
// semi-axes a, b and angle θ) within 10%. "Matches" means ρ(Δ) =
// exp(-½ ΔᵀΣ⁻¹Δ) with Σ the beam's own covariance, the convention for
// restored images (Condon 1997: the noise correlation length is the beam);
// a generator that convolved white noise with the full beam would give
// widths √2 too large and fail.
func TestNoiseStatistics(t *testing.T) {
	const seed = 20240601
	t.Logf("seed %d", seed)
	cases := []struct {
		name     string
		a, b     float64 // HWHM, px
		thetaDeg float64
		rms      float64
	}{
		{"rsm-like", 3.75, 3.0, 30, 0.035},
		{"elongated", 5.0, 2.5, -70, 1.5},
	}
	for ci, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			const w, h = 1024, 1024
			bm := beamFromAxes(c.a, c.b, c.thetaDeg*deg2rad)
			g := newNoiseGrid(w, h, bm.a)
			f := newNoiseFilter(g, bm, c.rms)
			gen := newNoiseGen(g)
			img, err := kernels.NewImage(image.Rect(0, 0, w, h))
			if err != nil {
				t.Fatal(err)
			}
			gen.fill(img, f, 1, rand.New(rand.NewPCG(seed, uint64(ci))))
			const r = 14
			rho, sd := autocorr(img, r)
			// The sample variance of correlated Gaussian noise has relative
			// standard deviation sqrt(2·Σρ²/N) = sqrt(2π σa σb / N): 0.7%
			// at most here (σa σb <= 8.1 px²), so 2% is a > 2.8σ bound on
			// the rms and catches any normalisation error of 2% or more.
			if rel := math.Abs(sd/c.rms - 1); rel > 0.02 {
				t.Errorf("rms = %.5g, want %.5g within 2%% (off by %.2f%%)", sd, c.rms, 100*rel)
			}
			got := fitGaussianShape(t, rho, r, 0.25)
			t.Logf("beam a=%.3f b=%.3f θ=%.1f°; noise autocorrelation a=%.3f b=%.3f θ=%.1f°; rms %.5g (want %.5g)",
				c.a, c.b, c.thetaDeg, got.a, got.b, got.theta*rad2deg, sd, c.rms)
			// 10% is the acceptance bound; the statistical error of the fit
			// with ~10^4 independent beams is below 1%.
			if math.Abs(got.a/c.a-1) > 0.10 || math.Abs(got.b/c.b-1) > 0.10 {
				t.Errorf("autocorrelation semi-axes (%.3f, %.3f) px, want the beam's (%.3f, %.3f) within 10%%", got.a, got.b, c.a, c.b)
			}
			// Angle: 5° bound; a 1% error on the axes moves the fitted
			// angle of these ellipses (axis ratio >= 1.25) by < 2°.
			if d := angleDiff(got.theta, bm.theta); d > 5*deg2rad {
				t.Errorf("autocorrelation angle %.1f°, want %.1f° within 5°", got.theta*rad2deg, c.thetaDeg)
			}
		})
	}
}

// TestNoiseDeterministic: the same stream gives the same pixels, another
// stream different ones, and a generator is reusable (no state leaks from
// one image to the next).
func TestNoiseDeterministic(t *testing.T) {
	const w, h = 100, 90
	bm := beamFromAxes(2, 1.5, 0.3)
	g := newNoiseGrid(w, h, bm.a)
	f := newNoiseFilter(g, bm, 1)
	gen := newNoiseGen(g)
	mk := func(stream uint64) []float32 {
		img, _ := kernels.NewImage(image.Rect(0, 0, w, h))
		gen.fill(img, f, 1, rand.New(rand.NewPCG(7, stream)))
		return img.Pix
	}
	a, b, a2 := mk(1), mk(2), mk(1)
	same, diff := true, 0
	for i := range a {
		if a[i] != a2[i] {
			same = false
		}
		if a[i] != b[i] {
			diff++
		}
	}
	if !same {
		t.Error("same stream gave different pixels")
	}
	if diff < len(a)/2 {
		t.Errorf("different streams share %d of %d pixels", len(a)-diff, len(a))
	}
}

func BenchmarkNoise(b *testing.B) {
	for _, n := range []int{256, 1280} {
		b.Run("size="+itoa(n), func(b *testing.B) {
			bm := newPixBeam(140.0/3600, 112.0/3600, 30, 20.0/3600)
			g := newNoiseGrid(n, n, bm.a)
			f := newNoiseFilter(g, bm, 0.035)
			gen := newNoiseGen(g)
			img, _ := kernels.NewImage(image.Rect(0, 0, n, n))
			rng := rand.New(rand.NewPCG(1, 2))
			b.SetBytes(int64(4 * n * n))
			b.ReportAllocs()
			for b.Loop() {
				gen.fill(img, f, 1, rng)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var buf [20]byte
	i := len(buf)
	for n > 0 {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
	}
	return string(buf[i:])
}

// TestConvolvedNoise: noise convolved with a Gaussian kernel of σ = 2 px
// has mean 0 and standard deviation 1 (rescaled), the autocorrelation
// k⋆k, a Gaussian of σ√2 (ρ(d) = exp(-d²/16)), along x and y, and the
// same seed gives the same pixels. Seed 7.
func TestConvolvedNoise(t *testing.T) {
	const n, sk = 256, 2.0
	k, _ := kernels.NewImage(image.Rect(0, 0, 21, 21))
	for y := range 21 {
		for x := range 21 {
			dx, dy := float64(x-10), float64(y-10)
			k.Pix[y*k.Stride+x] = float32(math.Exp(-(dx*dx + dy*dy) / (2 * sk * sk)))
		}
	}
	img, _ := kernels.NewImage(image.Rect(0, 0, n, n))
	ConvolvedNoise(img, k, rand.New(rand.NewPCG(7, 0)))
	var s1, s2 float64
	for _, v := range img.Pix {
		s1 += float64(v)
		s2 += float64(v) * float64(v)
	}
	mean, std := s1/(n*n), math.Sqrt(s2/(n*n)-s1*s1/(n*n*n*n))
	// Rescaled in float64, stored in float32: 1e-6.
	if math.Abs(mean) > 1e-6 || math.Abs(std-1) > 1e-6 {
		t.Errorf("mean %g, std %g; want 0 and 1", mean, std)
	}
	for _, d := range []int{1, 2, 3, 5} {
		var cx, cy float64
		for y := range n {
			for x := range n {
				v := float64(img.Pix[y*n+x])
				cx += v * float64(img.Pix[y*n+(x+d)%n])
				cy += v * float64(img.Pix[((y+d)%n)*n+x])
			}
		}
		cx, cy = cx/(n*n), cy/(n*n)
		want := math.Exp(-float64(d*d) / (4 * sk * sk))
		// The standard error of a lag correlation over N pixels of noise
		// correlated over area A = 4π(σ√2)² is about sqrt(A/N) = 0.03;
		// 0.1 is over 3 of them.
		if math.Abs(cx-want) > 0.1 || math.Abs(cy-want) > 0.1 {
			t.Errorf("lag %d: rho %.3f (x), %.3f (y), want %.3f", d, cx, cy, want)
		}
	}
	again, _ := kernels.NewImage(image.Rect(0, 0, n, n))
	ConvolvedNoise(again, k, rand.New(rand.NewPCG(7, 0)))
	if !slices.Equal(img.Pix, again.Pix) {
		t.Error("the same seed gave different pixels")
	}
}
