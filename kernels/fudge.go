package kernels

import "math"

// fudgeOrder is the Gauss-Legendre order per axis of the pixel integrals of
// FudgeMaxPix. The integrand exp(ln2*Q) is entire; for beams with semi-axes
// down to 0.5 px (the undersampling limit of SPEC 3.4) 24 nodes reach the
// float64 rounding floor (TestFudgeMaxPixConverged compares with 48).
const fudgeOrder = 24

// FudgeMaxPix returns the peak-pixel correction F of SPEC 0.4 and TraP's
// max_pix_variance for a beam:
//
//	F   = ∬_{[-½,½]²} exp(+ln2·[((cosθ·x + sinθ·y)/b)² + ((cosθ·y − sinθ·x)/a)²]) dx dy
//	var = ∬_{[-½,½]²} exp(2·ln2·[…]) dx dy − F²
//
// evaluated by tensor-product Gauss-Legendre quadrature. It is computed once
// per image; the result is meaningless for a non-positive a or b.
func FudgeMaxPix(beam Beam) (f, variance float64) {
	var xs, ws [fudgeOrder]float64
	gaussLegendre(xs[:], ws[:])
	return fudgeMaxPixN(beam, xs[:], ws[:])
}

// fudgeMaxPixN is FudgeMaxPix with the quadrature nodes xs and weights ws on
// [-1, 1] given.
func fudgeMaxPixN(beam Beam, xs, ws []float64) (f, variance float64) {
	s, c := math.Sincos(beam.Theta)
	ia2 := 1 / (beam.A * beam.A)
	ib2 := 1 / (beam.B * beam.B)
	var s1, s2 float64
	ws = ws[:len(xs)]
	for i, xi := range xs {
		x := xi / 2
		for j, yj := range xs {
			y := yj / 2
			u := c*x + s*y
			v := c*y - s*x
			e := math.Exp(math.Ln2 * (u*u*ib2 + v*v*ia2))
			w := ws[i] * ws[j]
			s1 += w * e
			s2 += w * e * e
		}
	}
	// The map [-1,1] -> [-1/2,1/2] has Jacobian 1/2 per axis.
	f = s1 / 4
	return f, s2/4 - f*f
}

// gaussLegendre fills xs and ws with the nodes and weights of the
// len(xs)-point Gauss-Legendre rule on [-1, 1], found by Newton's method on
// the Legendre polynomial from the Chebyshev-like initial guesses
// cos(π(i+¾)/(n+½)).
func gaussLegendre(xs, ws []float64) {
	n := len(xs)
	ws = ws[:n]
	for i := 0; i < (n+1)/2; i++ {
		z := math.Cos(math.Pi * (float64(i) + 0.75) / (float64(n) + 0.5))
		var dp float64
		for it := 0; it < 100; it++ {
			// Three-term recurrence for P_n(z) and its derivative.
			p0, p1 := 1.0, z
			for k := 2; k <= n; k++ {
				p0, p1 = p1, (float64(2*k-1)*z*p1-float64(k-1)*p0)/float64(k)
			}
			if n == 1 {
				p0, p1 = 1, z
			}
			dp = float64(n) * (z*p1 - p0) / (z*z - 1)
			dz := p1 / dp
			z -= dz
			if math.Abs(dz) < 1e-16 {
				break
			}
		}
		// Recompute the derivative at the converged node for the weight.
		p0, p1 := 1.0, z
		for k := 2; k <= n; k++ {
			p0, p1 = p1, (float64(2*k-1)*z*p1-float64(k-1)*p0)/float64(k)
		}
		dp = float64(n) * (z*p1 - p0) / (z*z - 1)
		w := 2 / ((1 - z*z) * dp * dp)
		xs[i], xs[n-1-i] = -z, z
		ws[i], ws[n-1-i] = w, w
	}
}
