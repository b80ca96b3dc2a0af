package kernels

import (
	"math"
	"math/rand/v2"
	"testing"

	"gotrap/internal/testutil"
)

// TestGaussJacobian checks the analytic Jacobian (reference and optimised
// twins) against central differences and each other.
func TestGaussJacobian(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200 {
		p := [nPar]float64{rng.Float64()*4 - 2, rng.Float64() * 10, rng.Float64() * 10,
			1 + rng.Float64()*5, 0.5 + rng.Float64()*3, rng.Float64()*2*math.Pi - math.Pi}
		x, y := p[parX]+rng.NormFloat64()*2, p[parY]+rng.NormFloat64()*2
		var jr, jo [nPar]float64
		gr := gaussJacRef(&p, x, y, &jr)
		var g gaussPre
		g.set(&p)
		var w1, w2 gaussWalk
		gop := g.jac(&w1, x, y, &jo)
		ge := g.eval(&w2, x, y)
		g2 := Gauss2D(p[0], p[1], p[2], p[3], p[4], p[5], x, y)
		// Twins differ only by rounding order: a few ulp.
		if !testutil.Close(gr, gop, 1e-300, 1e-14) || !testutil.Close(gr, ge, 1e-300, 1e-14) || !testutil.Close(gr, g2, 1e-300, 1e-14) {
			t.Fatalf("model twins differ at %v (%g, %g): %g %g %g %g", p, x, y, gr, gop, ge, g2)
		}
		for j := range nPar {
			if !testutil.Close(jr[j], jo[j], 1e-14*math.Abs(p[0]), 1e-12) {
				t.Fatalf("jac[%d] twins differ: %g vs %g", j, jr[j], jo[j])
			}
			h := 1e-6
			pp, pm := p, p
			pp[j] += h
			pm[j] -= h
			fd := (Gauss2D(pp[0], pp[1], pp[2], pp[3], pp[4], pp[5], x, y) - Gauss2D(pm[0], pm[1], pm[2], pm[3], pm[4], pm[5], x, y)) / (2 * h)
			// Central differences: truncation O(h²·f''') ~ 1e-12 and
			// rounding ~ 1e-16/h = 1e-10, relative to the peak.
			if !testutil.Close(jr[j], fd, 1e-8*math.Abs(p[0]), 1e-6) {
				t.Errorf("jac[%d] at %v (%g, %g) = %g, finite difference %g", j, p, x, y, jr[j], fd)
			}
		}
	}
}

// TestLMNoiseless: a noiseless Gaussian is recovered from a perturbed
// start, bounded and unbounded, with any subset of parameters fixed.
func TestLMNoiseless(t *testing.T) {
	truth := [nPar]float64{3, 10.3, 9.7, 4, 2, 0.6}
	var px lmPixels
	for y := 0; y < 21; y++ {
		for x := 0; x < 21; x++ {
			px.xs = append(px.xs, float64(x))
			px.ys = append(px.ys, float64(y))
			px.vs = append(px.vs, Gauss2D(truth[0], truth[1], truth[2], truth[3], truth[4], truth[5], float64(x), float64(y)))
		}
	}
	inf := math.Inf(1)
	var s lmSolver
	for mask := 0; mask < 1<<nPar; mask += 7 {
		var free [nPar]bool
		p := truth
		start := [nPar]float64{2.5, 10.8, 9.2, 3.5, 2.4, 0.4}
		for j := range nPar {
			free[j] = mask&(1<<j) == 0
			if free[j] {
				p[j] = start[j]
			}
		}
		lo := [nPar]float64{-inf, -inf, -inf, -inf, -inf, -inf}
		hi := [nPar]float64{inf, inf, inf, inf, inf, inf}
		if mask%2 == 0 {
			lo = [nPar]float64{0, 0, 0, 2, 1, -math.Pi / 2}
			hi = [nPar]float64{5, 21, 21, 6, 3, math.Pi}
		}
		cost, nev, st := s.solve(&p, &free, &lo, &hi, &px, 600)
		if !st.converged() {
			t.Fatalf("mask %06b: status %d after %d evaluations", mask, st, nev)
		}
		for j := range nPar {
			// ftol/xtol 1e-4 stop the iteration once the step is below
			// 1e-4 relative; LM converges quadratically near a zero-
			// residual minimum, so the error is far below that.
			if !testutil.Close(p[j], truth[j], 1e-5, 1e-5) {
				t.Errorf("mask %06b: p[%d] = %.8g, want %.8g (cost %g, %d evaluations)", mask, j, p[j], truth[j], cost, nev)
			}
		}
	}
}

// TestLMPeakOnlySame: a fit whose only free parameter is the peak (the
// forced fits) gives the general pass's result bit for bit: parameters,
// cost, evaluations and status, on noisy Gaussians of random shapes and
// positions, unbounded, bounded, and with the peak stopped on a bound,
// one solver reused across fits of different sizes.
func TestLMPeakOnlySame(t *testing.T) {
	const seed = 77
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	inf := math.Inf(1)
	var fast, ref lmSolver
	ref.general, ref.eager = true, true
	free := [nPar]bool{parPeak: true}
	for trial := range 200 {
		size := 3 + rng.IntN(30)
		truth := [nPar]float64{0.1 + 10*rng.Float64(), float64(size) * rng.Float64(), float64(size) * rng.Float64(),
			1 + 4*rng.Float64(), 0.8 + 2*rng.Float64(), math.Pi * (rng.Float64() - 0.5)}
		var px lmPixels
		for y := range size {
			for x := range size {
				if rng.IntN(20) == 0 {
					continue // a masked pixel
				}
				px.xs = append(px.xs, float64(x))
				px.ys = append(px.ys, float64(y))
				px.vs = append(px.vs, Gauss2D(truth[0], truth[1], truth[2], truth[3], truth[4], truth[5], float64(x), float64(y))+0.5*rng.NormFloat64())
			}
		}
		lo := [nPar]float64{-inf, -inf, -inf, -inf, -inf, -inf}
		hi := [nPar]float64{inf, inf, inf, inf, inf, inf}
		switch trial % 3 {
		case 1:
			lo[parPeak], hi[parPeak] = 0, 100
		case 2:
			hi[parPeak] = truth[parPeak] / 2 // the fit stops on the bound
		}
		start := truth
		start[parPeak] = 0.5 + rng.Float64()
		p, q := start, start
		c1, n1, s1 := fast.solve(&p, &free, &lo, &hi, &px, 600)
		if !fast.peakOnly {
			t.Fatal("the peak-only pass was not used")
		}
		c2, n2, s2 := ref.solve(&q, &free, &lo, &hi, &px, 600)
		if p != q || c1 != c2 || n1 != n2 || s1 != s2 {
			t.Fatalf("trial %d: peak-only %v cost %v, %d passes, status %d; general %v cost %v, %d passes, status %d",
				trial, p, c1, n1, s1, q, c2, n2, s2)
		}
	}
}

// TestLMBounds: with the peak bounded below the truth, the fit stops on
// the bound.
func TestLMBounds(t *testing.T) {
	truth := [nPar]float64{3, 5, 5, 2, 1.5, 0.3}
	var px lmPixels
	for y := 0; y < 11; y++ {
		for x := 0; x < 11; x++ {
			px.xs = append(px.xs, float64(x))
			px.ys = append(px.ys, float64(y))
			px.vs = append(px.vs, Gauss2D(truth[0], truth[1], truth[2], truth[3], truth[4], truth[5], float64(x), float64(y)))
		}
	}
	inf := math.Inf(1)
	lo := [nPar]float64{0, -inf, -inf, -inf, -inf, -inf}
	hi := [nPar]float64{2, inf, inf, inf, inf, inf}
	free := [nPar]bool{true, true, true, true, true, true}
	p := [nPar]float64{1, 5.2, 4.8, 2, 1.5, 0.3}
	var s lmSolver
	_, _, st := s.solve(&p, &free, &lo, &hi, &px, 600)
	if !st.converged() || p[parPeak] != 2 {
		t.Errorf("bounded peak: status %d, peak %g, want exactly 2 (on the bound)", st, p[parPeak])
	}
}

// TestLMAllFreeSame: with all six parameters free, bounded or not, the
// solver that adds the Jacobian to a trial point only when the fit goes
// on gives the fit of the one that computes it at every trial point, bit
// for bit: the same points, costs and decisions (both summing the normal
// equations directly; the moments pass is TestLMMomentsAccumulate's).
func TestLMAllFreeSame(t *testing.T) {
	const seed = 78
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	inf := math.Inf(1)
	var fast, ref lmSolver
	fast.general = true
	ref.general, ref.eager = true, true
	free := [nPar]bool{true, true, true, true, true, true}
	for trial := range 200 {
		size := 5 + rng.IntN(30)
		truth := [nPar]float64{0.1 + 10*rng.Float64(), float64(size) * rng.Float64(), float64(size) * rng.Float64(),
			1 + 4*rng.Float64(), 0.8 + 2*rng.Float64(), math.Pi * (rng.Float64() - 0.5)}
		var px lmPixels
		for y := range size {
			for x := range size {
				if rng.IntN(20) == 0 {
					continue // a masked pixel
				}
				px.xs = append(px.xs, float64(x))
				px.ys = append(px.ys, float64(y))
				px.vs = append(px.vs, Gauss2D(truth[0], truth[1], truth[2], truth[3], truth[4], truth[5], float64(x), float64(y))+0.5*rng.NormFloat64())
			}
		}
		lo := [nPar]float64{-inf, -inf, -inf, -inf, -inf, -inf}
		hi := [nPar]float64{inf, inf, inf, inf, inf, inf}
		if trial%2 == 1 {
			for j := range nPar {
				lo[j], hi[j] = 0.5*truth[j], 1.5*truth[j]
				if lo[j] > hi[j] {
					lo[j], hi[j] = hi[j], lo[j]
				}
			}
		}
		start := truth
		for j := range nPar {
			start[j] *= 1 + 0.2*(rng.Float64()-0.5)
		}
		p, q := start, start
		c1, n1, s1 := fast.solve(&p, &free, &lo, &hi, &px, 600)
		c2, n2, s2 := ref.solve(&q, &free, &lo, &hi, &px, 600)
		if p != q || c1 != c2 || n1 != n2 || s1 != s2 {
			t.Fatalf("trial %d: all-free pass %v cost %v, %d passes, status %d; general %v cost %v, %d passes, status %d",
				trial, p, c1, n1, s1, q, c2, n2, s2)
		}
	}
}

// TestGaussWalkBound checks the row recurrence of gaussWalk against the
// direct formula exp(−ln2·(u²/b² + v²/a²)) on island-like pixel sets
// (rows of random starts, lengths and gaps, in the scanline order of
// gatherIsland, and some pixels out of order) for random shapes.
//
// The bound, in units of u = 2⁻⁵³ relative to the direct value, for a
// pixel k recurrence steps after its anchor (k ≤ walkRun):
//
//	the direct formula's own rounding, at the anchor and here:
//	  κ·(1+|q₀|) + κ·(1+|q_k|), κ = 4·(1 + a/b): exp turns the exponent's
//	  relative rounding (a few u, more where c·dx + s·dy cancels, which
//	  the other term of q can hide only up to a/b) into |q|·that
//	the k factors r_j = exp(l₀)·exp(2qa)^j: k·(1 + 4·(1+L₀))
//	  (L₀ = |qa·(2dx+1)| + |qb·dy|, what l₀'s rounding scales with)
//	  + k(k−1)/2 · (1 + 4·(1+|2qa|))  (exp(2qa) raised to the j-th power)
//
// Go's exp is within 1 ulp. On a fit's pixels (|q| ≲ 10, a/b ≤ 2,
// k ≤ 16) that is below 1.5e3 u ≈ 2e-13. A product that underflows below
// the smallest normal (2.2e-308) loses relative precision: 1e-300
// absolute is allowed there, values no fit can see. The test logs the
// largest difference as a fraction of the bound (0.3-0.45 over 8 seeds).
func TestGaussWalkBound(t *testing.T) {
	const seed = 79
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const u = 0x1p-53
	worst := 0.0
	anchors, steps := 0, 0
	for trial := range 300 {
		a := 1 + 8*rng.Float64()
		b := 0.5 + (a-0.5)*rng.Float64()
		p := [nPar]float64{1, 40 * rng.Float64(), 40 * rng.Float64(), a, b, 2 * math.Pi * (rng.Float64() - 0.5)}
		if trial%10 == 9 {
			p[parA], p[parB] = 0.05+0.1*rng.Float64(), 0.05+0.05*rng.Float64() // steep: runs must fall back
		}
		var g gaussPre
		g.set(&p)
		var w gaussWalk
		k := 0
		var q0, l0 float64
		for y := 0; y < 40; y++ {
			x := float64(rng.IntN(20))
			n := 1 + rng.IntN(40)
			for range n {
				fx, fy := x, float64(y)
				if rng.IntN(30) == 0 {
					fx = float64(rng.IntN(60)) // out of order
				}
				dx, dy := fx-g.x0, fy-g.y0
				uu := g.c*dx + g.s*dy
				vv := g.c*dy - g.s*dx
				follows := w.n > 0 && fx == w.x+1 && fy == w.y
				got := g.exp(&w, fx, fy, dx, dy, uu, vv)
				q := -math.Ln2 * (uu*uu*g.ib2 + vv*vv*g.ia2)
				want := math.Exp(q)
				if follows {
					k++
					steps++
				} else {
					k, q0, l0 = 0, q, math.Abs(g.qa*(2*dx+1))+math.Abs(g.qb*dy)
					anchors++
				}
				kf := float64(k)
				kq := 4 * (1 + p[parA]/p[parB])
				bound := kq*(1+math.Abs(q0)) + kq*(1+math.Abs(q)) + kf*(1+4*(1+l0)) + kf*(kf-1)/2*(1+4*(1+2*math.Abs(g.qa)))
				diff := math.Abs(got - want)
				if diff > bound*u*want+1e-300 {
					t.Fatalf("trial %d: pixel (%g, %g), %d steps after the anchor: walk %g, direct %g, |diff| %g > bound %g u", trial, fx, fy, k, got, want, diff, bound)
				}
				if want > 1e-290 {
					worst = max(worst, diff/(bound*u*want))
				}
				x += 1 + float64(rng.IntN(8)/7) // a gap now and then
			}
		}
	}
	t.Logf("%d anchors, %d recurrence steps; largest difference %.3f of the bound", anchors, steps, worst)
	if steps < anchors {
		t.Errorf("only %d recurrence steps for %d anchors: the walk is not exercised", steps, anchors)
	}
}

// TestLMMomentsAccumulate: the normal equations of the moments pass
// (accumulateMoments) against the direct sums of the Jacobian's products,
// for every subset of free parameters, on noisy islands of random shapes.
// Both are sums of N terms each (N pixels, a few products a term), so each
// is within γ = (N+8)·u of Σ|terms| of its exact value (Higham's bound for
// recursive summation, u = 2⁻⁵³); the bound on their difference is twice
// that, with Σ|terms| = Σ_pixels |J|_a·|J|_b (|J|_a = e·Σ_k |M_ak·m_k|,
// the moments pass's terms in absolute value; the direct products are no
// larger) and Σ |e·r|·|J|_a/e for Jᵀr.
func TestLMMomentsAccumulate(t *testing.T) {
	const seed = 80
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const u = 0x1p-53
	worst := 0.0
	for trial := range 100 {
		size := 5 + rng.IntN(30)
		a := 1 + 4*rng.Float64()
		p := [nPar]float64{0.1 + 10*rng.Float64(), float64(size) * rng.Float64(), float64(size) * rng.Float64(),
			a, a * (0.5 + 0.5*rng.Float64()), math.Pi * (rng.Float64() - 0.5)}
		var px lmPixels
		for y := range size {
			for x := range size {
				if rng.IntN(20) == 0 {
					continue // a masked pixel
				}
				px.xs = append(px.xs, float64(x))
				px.ys = append(px.ys, float64(y))
				px.vs = append(px.vs, Gauss2D(p[0], p[1], p[2], p[3], p[4], p[5], float64(x), float64(y))+0.5*rng.NormFloat64())
			}
		}
		q := p // the fit's point is near, not at, the truth
		for j := range nPar {
			q[j] *= 1 + 0.1*(rng.Float64()-0.5)
		}
		// Absolute column sums of the moments pass's terms.
		var g gaussPre
		g.set(&q)
		var w gaussWalk
		var babs [nPar][nPar]float64
		var rabs [nPar]float64
		pk := 2 * math.Ln2 * math.Abs(q[parPeak])
		for i, x := range px.xs {
			y := px.ys[i]
			dx, dy := x-g.x0, y-g.y0
			uu := g.c*dx + g.s*dy
			vv := g.c*dy - g.s*dx
			e := g.exp(&w, x, y, dx, dy, uu, vv)
			r := math.Abs(g.peak*e - px.vs[i])
			au, av := math.Abs(uu), math.Abs(vv)
			m := [nPar]float64{1, pk * (au*g.ib2 + av*g.ia2), pk * (au*g.ib2 + av*g.ia2), pk * av * av * g.ia3, pk * au * au * g.ib3, pk * au * av * math.Abs(g.dab)}
			for k := range nPar {
				rabs[k] += e * r * m[k]
				for l := k; l < nPar; l++ {
					babs[k][l] += e * e * m[k] * m[l]
				}
			}
		}
		gamma := 2 * float64(len(px.xs)+8) * u
		for mask := 1; mask < 1<<nPar; mask++ {
			var free [nPar]bool
			var mom, ref lmSolver
			ref.general = true
			for _, s := range []*lmSolver{&mom, &ref} {
				s.n = 0
				for j := range nPar {
					if mask&(1<<j) != 0 {
						free[j] = true
						s.idx[s.n] = j
						s.n++
					}
				}
			}
			if mom.n == 1 && mom.idx[0] == parPeak {
				continue // the peak-only pass, not the moments one
			}
			c1 := mom.accumulate(&q, &px, true, &mom.jtj, &mom.jtr)
			c2 := ref.accumulate(&q, &px, true, &ref.jtj, &ref.jtr)
			if c1 != c2 {
				t.Fatalf("trial %d, free %v: cost %v vs %v (the same sum)", trial, free, c1, c2)
			}
			for k := 0; k < mom.n; k++ {
				i := mom.idx[k]
				d := math.Abs(mom.jtr[k] - ref.jtr[k])
				if d > gamma*rabs[i] {
					t.Fatalf("trial %d, free %v: Jᵀr[%d] %v vs %v: |diff| %g > %g", trial, free, i, mom.jtr[k], ref.jtr[k], d, gamma*rabs[i])
				}
				worst = max(worst, d/(gamma*rabs[i]))
				for l := k; l < mom.n; l++ {
					j := mom.idx[l]
					d := math.Abs(mom.jtj[k][l] - ref.jtj[k][l])
					if d > gamma*babs[i][j] {
						t.Fatalf("trial %d, free %v: JᵀJ[%d][%d] %v vs %v: |diff| %g > %g", trial, free, i, j, mom.jtj[k][l], ref.jtj[k][l], d, gamma*babs[i][j])
					}
					worst = max(worst, d/(gamma*babs[i][j]))
				}
			}
		}
	}
	t.Logf("largest difference %.3g of the bound", worst)
}
