package kernels

import "math"

// Convergence tolerances of the Gaussian fit, PySE's xtol = ftol = 1e-4
// (SPEC 4.8), with scipy/MINPACK meaning: stop when both the actual and the
// predicted relative reduction of the sum of squares are at most ftol, or
// when the scaled step is at most xtol times the scaled parameter norm.
const (
	fitXTol = 1e-4
	fitFTol = 1e-4
)

// lmStatus says why the bounded Levenberg-Marquardt solver stopped.
type lmStatus int

const (
	lmFailed     lmStatus = iota // non-finite model or no descent possible
	lmMaxEval                    // evaluation budget spent before convergence
	lmFTol                       // relative reduction of the cost <= ftol
	lmXTol                       // relative step <= xtol
	lmStationary                 // zero cost or zero projected gradient
)

func (s lmStatus) converged() bool { return s >= lmFTol }

// lmPixels are the data of a fit: pixel coordinates and values, equal
// lengths (the caller guarantees it). The coordinates are relative to the
// island's box so that they stay small.
type lmPixels struct {
	xs, ys, vs []float64
}

// lmSolver is a projected Levenberg-Marquardt least-squares solver for the
// elliptical Gaussian of SPEC 0.2 with box bounds on the parameters. It
// minimises Σ (G(p; x_i, y_i) − v_i)² over the free parameters using the
// analytic Jacobian, accumulating the normal equations JᵀJ and Jᵀr in one
// pass over the pixels (the m×n Jacobian is never stored), so the solver
// needs no memory beyond its fixed-size fields and never allocates.
//
// Bounds: the trial point is projected onto the box, and parameters that
// sit on a bound with the gradient pushing outwards are held for that
// iteration (an active set, as in scipy's dogbox).
//
// A fit whose only free parameter is the peak (the forced fits, position
// and shape fixed) has the model peak·e_i with e_i fixed while the solver
// runs: the first pass keeps each pixel's e_i (in pe, the one buffer the
// solver grows, kept for reuse) and Σ e_i², and the later passes are two
// multiply-adds a pixel instead of the model's exp and Jacobian. The sums
// are the general pass's, term for term in the same order, so the fit is
// the same bit for bit (TestLMPeakOnlySame).
type lmSolver struct {
	idx    [nPar]int // indices of the free parameters
	n      int
	jtj    [nPar][nPar]float64 // over the free parameters, upper triangle used
	jtr    [nPar]float64
	tjtj   [nPar][nPar]float64 // at the trial point
	tjtr   [nPar]float64
	chol   [nPar][nPar]float64
	diag   [nPar]float64 // MINPACK scaling, non-decreasing
	step   [nPar]float64
	active [nPar]bool

	peakOnly bool      // the peak is the only free parameter
	peCached bool      // pe and pee hold the current solve's e_i and Σ e_i²
	pe       []float64 // e_i of each pixel when peakOnly
	pee      float64
	// Tests: general sums the normal equations directly (not the
	// peak-only or moments passes), eager computes the Jacobian at every
	// trial point; the oracles of the shortcuts.
	general, eager bool
}

// accumulate returns Σ r² at p and, when jac is true, fills jtj and jtr
// (free parameters only) with JᵀJ and Jᵀr, r = G − v.
func (s *lmSolver) accumulate(p *[nPar]float64, px *lmPixels, jac bool, jtj *[nPar][nPar]float64, jtr *[nPar]float64) float64 {
	var g gaussPre
	g.set(p)
	var w gaussWalk
	xs := px.xs
	ys := px.ys[:len(xs)]
	vs := px.vs[:len(xs)]
	var cost float64
	if s.peakOnly && s.peCached {
		// The model is peak·e_i with the e_i of the first pass.
		peak := g.peak
		pe := s.pe[:len(xs)]
		var t float64
		for i, e := range pe {
			r := peak*e - vs[i]
			cost += r * r
			t += e * r
		}
		if jac {
			*jtj = [nPar][nPar]float64{}
			*jtr = [nPar]float64{}
			jtr[0] = t
			jtj[0][0] = s.pee
		}
		return cost
	}
	if !jac {
		for i, x := range xs {
			r := g.eval(&w, x, ys[i]) - vs[i]
			cost += r * r
		}
		return cost
	}
	n := s.n
	idx := s.idx[:n]
	*jtj = [nPar][nPar]float64{}
	*jtr = [nPar]float64{}
	var full, jf [nPar]float64
	if s.peakOnly {
		if cap(s.pe) < len(xs) {
			s.pe = make([]float64, len(xs))
		}
		pe := s.pe[:len(xs)]
		var t, ee float64
		for i, x := range xs {
			r := g.jac(&w, x, ys[i], &full) - vs[i]
			cost += r * r
			e := full[parPeak]
			pe[i] = e
			t += e * r
			ee += e * e
		}
		jtr[0], jtj[0][0] = t, ee
		s.pee, s.peCached = ee, true
		return cost
	}
	if !s.general {
		return s.accumulateMoments(&g, px, jtj, jtr)
	}
	for i, x := range xs {
		r := g.jac(&w, x, ys[i], &full) - vs[i]
		cost += r * r
		for k, j := range idx {
			jf[k] = full[j]
		}
		for k := 0; k < n; k++ {
			jk := jf[k]
			jtr[k] += jk * r
			row := &jtj[k]
			for l := k; l < n; l++ {
				row[l] += jk * jf[l]
			}
		}
	}
	return cost
}

// accumulateMoments is accumulate's Jacobian pass through the moments of
// the pixels. Each column of the Jacobian is e times a fixed combination
// of the monomials m = (1, u, v, u², v², uv) of the rotated offsets
// (gaussJacRef): J_j = e·Σ_k M_jk·m_k with
//
//	M_0 = (1, 0, 0, 0, 0, 0)
//	M_1 = (0, P·c/b², −P·s/a², 0, 0, 0)   P = 2·ln2·A
//	M_2 = (0, P·s/b², P·c/a², 0, 0, 0)
//	M_3 = (0, 0, 0, 0, P/a³, 0)
//	M_4 = (0, 0, 0, P/b³, 0, 0)
//	M_5 = (0, 0, 0, 0, 0, −P·(1/b² − 1/a²))
//
// so JᵀJ = M·(Σ e²·m·mᵀ)·Mᵀ and Jᵀr = M·Σ e·r·m. The pass sums the 15
// distinct moments e²·u^p·v^q (p+q ≤ 4) and the 6 of e·r·m, fewer
// multiply-adds than the 21 products of the Jacobian's columns; the
// normal equations differ from the direct sums by rounding only
// (TestLMMomentsAccumulate).
func (s *lmSolver) accumulateMoments(g *gaussPre, px *lmPixels, jtj *[nPar][nPar]float64, jtr *[nPar]float64) float64 {
	var w gaussWalk
	xs := px.xs
	ys := px.ys[:len(xs)]
	vs := px.vs[:len(xs)]
	var cost float64
	// sPQ = Σ e²·u^P·v^Q; tK = Σ e·r·m_K.
	var s00, s10, s01, s20, s11, s02, s30, s21, s12, s03, s40, s31, s22, s13, s04 float64
	var t0, t1, t2, t3, t4, t5 float64
	for i, x := range xs {
		y := ys[i]
		dx, dy := x-g.x0, y-g.y0
		u := g.c*dx + g.s*dy
		v := g.c*dy - g.s*dx
		e := g.exp(&w, x, y, dx, dy, u, v)
		r := g.peak*e - vs[i]
		cost += r * r
		ww := e * e
		wu, wv := ww*u, ww*v
		wuu, wuv, wvv := wu*u, wu*v, wv*v
		wuuu, wuuv, wuvv, wvvv := wuu*u, wuu*v, wuv*v, wvv*v
		s00 += ww
		s10 += wu
		s01 += wv
		s20 += wuu
		s11 += wuv
		s02 += wvv
		s30 += wuuu
		s21 += wuuv
		s12 += wuvv
		s03 += wvvv
		s40 += wuuu * u
		s31 += wuuu * v
		s22 += wuuv * v
		s13 += wuvv * v
		s04 += wvvv * v
		er := e * r
		eru, erv := er*u, er*v
		t0 += er
		t1 += eru
		t2 += erv
		t3 += eru * u
		t4 += erv * v
		t5 += eru * v
	}
	// The moment of monomials k and l: sm[p_k+p_l][q_k+q_l].
	sm := [5][5]float64{
		{s00, s01, s02, s03, s04},
		{s10, s11, s12, s13},
		{s20, s21, s22},
		{s30, s31},
		{s40},
	}
	mp := [nPar]int{0, 1, 0, 2, 0, 1}
	mq := [nPar]int{0, 0, 1, 0, 2, 1}
	pk := 2 * math.Ln2 * g.peak
	// The nonzero entries of M, at most two a row: (monomial, factor).
	type term struct {
		k int
		f float64
	}
	rows := [nPar][2]term{
		{{0, 1}, {0, 0}},
		{{1, pk * g.c * g.ib2}, {2, -pk * g.s * g.ia2}},
		{{1, pk * g.s * g.ib2}, {2, pk * g.c * g.ia2}},
		{{4, pk * g.ia3}, {0, 0}},
		{{3, pk * g.ib3}, {0, 0}},
		{{5, -pk * g.dab}, {0, 0}},
	}
	tm := [nPar]float64{t0, t1, t2, t3, t4, t5}
	n := s.n
	idx := s.idx[:n]
	for a, i := range idx {
		ri := &rows[i]
		jtr[a] = ri[0].f*tm[ri[0].k] + ri[1].f*tm[ri[1].k]
		for b := a; b < n; b++ {
			rj := &rows[idx[b]]
			var v float64
			for _, ti := range ri {
				for _, tj := range rj {
					v += ti.f * tj.f * sm[mp[ti.k]+mp[tj.k]][mq[ti.k]+mq[tj.k]]
				}
			}
			jtj[a][b] = v
		}
	}
	return cost
}

// solve fits the free parameters of p (free[j] true) within [lo, hi],
// starting from p, which it overwrites with the best point found. maxEval
// bounds the number of function evaluations. It returns the final sum of
// squares, the number of function evaluations (passes over the pixels
// for the sum of squares; the passes that only add the Jacobian at an
// accepted point are not counted, as MINPACK counts nfev apart from njev)
// and the status.
func (s *lmSolver) solve(p *[nPar]float64, free *[nPar]bool, lo, hi *[nPar]float64, px *lmPixels, maxEval int) (float64, int, lmStatus) {
	s.n = 0
	for j := 0; j < nPar; j++ {
		if free[j] {
			s.idx[s.n] = j
			s.n++
		}
	}
	n := s.n
	for k := 0; k < n; k++ {
		j := s.idx[k]
		p[j] = math.Min(math.Max(p[j], lo[j]), hi[j])
	}
	s.peakOnly, s.peCached = n == 1 && s.idx[0] == parPeak && !s.general, false
	cost := s.accumulate(p, px, true, &s.jtj, &s.jtr)
	nev := 1
	if n == 0 {
		return cost, nev, lmStationary
	}
	if !measFinite(cost) {
		return cost, nev, lmFailed
	}
	s.diag = [nPar]float64{}
	s.updateDiag()
	lambda := 1e-3
	nu := 2.0
	var trial [nPar]float64
	for {
		if cost == 0 {
			return cost, nev, lmStationary
		}
		// Active set: free parameters on a bound whose gradient points out.
		nfree := 0
		for k := 0; k < n; k++ {
			j := s.idx[k]
			g := s.jtr[k] // ∂(cost/2)/∂p_j
			s.active[k] = (p[j] <= lo[j] && g > 0) || (p[j] >= hi[j] && g < 0)
			if !s.active[k] {
				nfree++
			}
		}
		if nfree == 0 {
			return cost, nev, lmStationary
		}
		if !s.dampedStep(lambda) {
			lambda *= nu
			nu *= 2
			if lambda > 1e16 {
				return cost, nev, lmStationary
			}
			continue
		}
		// Project the trial point onto the box.
		trial = *p
		var dnorm, pnorm float64
		for k := 0; k < n; k++ {
			j := s.idx[k]
			t := math.Min(math.Max(p[j]+s.step[k], lo[j]), hi[j])
			s.step[k] = t - p[j]
			trial[j] = t
			dnorm += (s.diag[k] * s.step[k]) * (s.diag[k] * s.step[k])
			pnorm += (s.diag[k] * p[j]) * (s.diag[k] * p[j])
		}
		dnorm, pnorm = math.Sqrt(dnorm), math.Sqrt(pnorm)
		if dnorm == 0 {
			return cost, nev, lmStationary
		}
		// Predicted reduction of the linear model |r + Jδ|².
		var gd, dqd float64
		for k := 0; k < n; k++ {
			gd += s.jtr[k] * s.step[k]
			var q float64
			for l := 0; l < n; l++ {
				q += s.sym(k, l) * s.step[l]
			}
			dqd += s.step[k] * q
		}
		pred := -(2*gd + dqd)
		// A step that passes the xtol test, or whose predicted reduction
		// passes the ftol test, ends the fit if it is accepted (and its
		// actual reduction passes too): its trial point gets the sum of
		// squares alone, and the Jacobian only if the fit goes on. The
		// tests below decide as before, so the fit is the same; only
		// passes that would have gone unused are saved.
		last := !s.eager && (dnorm <= fitXTol*(pnorm+fitXTol) || pred <= fitFTol*cost)
		tcost := s.accumulate(&trial, px, !last, &s.tjtj, &s.tjtr)
		nev++
		actual := cost - tcost
		if measFinite(tcost) && pred > 0 && actual > 1e-4*pred {
			rho := actual / pred
			*p = trial
			cost = tcost
			if actual <= fitFTol*(cost+actual) && pred <= fitFTol*(cost+actual) {
				return cost, nev, lmFTol
			}
			if dnorm <= fitXTol*(pnorm+fitXTol) {
				return cost, nev, lmXTol
			}
			if last {
				// The gamble lost: the Jacobian at the accepted point. A
				// Jacobian evaluation, not a function one (MINPACK's njev,
				// not nfev), so it does not count against maxEval.
				s.accumulate(p, px, true, &s.jtj, &s.jtr)
			} else {
				s.jtj, s.jtr = s.tjtj, s.tjtr
			}
			s.updateDiag()
			lambda *= math.Max(1.0/3, 1-math.Pow(2*rho-1, 3))
			nu = 2
		} else {
			lambda *= nu
			nu *= 2
			if dnorm <= fitXTol*(pnorm+fitXTol) && measFinite(tcost) {
				// Even tiny steps no longer reduce the cost: a minimum
				// to within xtol.
				return cost, nev, lmXTol
			}
			if lambda > 1e16 {
				return cost, nev, lmStationary
			}
		}
		if nev >= maxEval {
			return cost, nev, lmMaxEval
		}
	}
}

// sym returns element (k, l) of the symmetric JᵀJ stored as an upper
// triangle.
func (s *lmSolver) sym(k, l int) float64 {
	if k <= l {
		return s.jtj[k][l]
	}
	return s.jtj[l][k]
}

// updateDiag raises the MINPACK scale factors to the current column norms
// of J.
func (s *lmSolver) updateDiag() {
	for k := 0; k < s.n; k++ {
		d := math.Sqrt(s.jtj[k][k])
		if d > s.diag[k] {
			s.diag[k] = d
		}
		if s.diag[k] == 0 {
			s.diag[k] = 1
		}
	}
}

// dampedStep solves (JᵀJ + λ·D²)·δ = −Jᵀr over the inactive free
// parameters by Cholesky factorisation, setting δ = 0 for the active ones.
// It reports false when the matrix is not positive definite.
func (s *lmSolver) dampedStep(lambda float64) bool {
	n := s.n
	// Compact the inactive parameters into the leading block of chol.
	var m int
	var pos [nPar]int
	for k := 0; k < n; k++ {
		if !s.active[k] {
			pos[m] = k
			m++
		}
	}
	c := &s.chol
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			c[i][j] = s.sym(pos[i], pos[j])
		}
		d := s.diag[pos[i]]
		c[i][i] += lambda * d * d
	}
	// In-place upper Cholesky: A = UᵀU.
	for j := 0; j < m; j++ {
		sum := c[j][j]
		for k := 0; k < j; k++ {
			sum -= c[k][j] * c[k][j]
		}
		if !(sum > 0) {
			return false
		}
		ujj := math.Sqrt(sum)
		c[j][j] = ujj
		for i := j + 1; i < m; i++ {
			sum := c[j][i]
			for k := 0; k < j; k++ {
				sum -= c[k][j] * c[k][i]
			}
			c[j][i] = sum / ujj
		}
	}
	// Solve Uᵀz = −g, then Uδ = z.
	var z [nPar]float64
	for i := 0; i < m; i++ {
		sum := -s.jtr[pos[i]]
		for k := 0; k < i; k++ {
			sum -= c[k][i] * z[k]
		}
		z[i] = sum / c[i][i]
	}
	for i := m - 1; i >= 0; i-- {
		sum := z[i]
		for k := i + 1; k < m; k++ {
			sum -= c[i][k] * z[k]
		}
		z[i] = sum / c[i][i]
	}
	s.step = [nPar]float64{}
	for i := 0; i < m; i++ {
		s.step[pos[i]] = z[i]
	}
	return true
}

func measFinite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
