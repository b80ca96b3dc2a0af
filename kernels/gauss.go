package kernels

import "math"

// Indices of the elliptical Gaussian's parameters (SPEC 0.2) in a
// [6]float64 parameter vector, the order of PySE's fits.
const (
	parPeak  = iota // A, peak value
	parX            // x0, pixels
	parY            // y0, pixels
	parA            // a, semi-major axis (HWHM), pixels
	parB            // b, semi-minor axis (HWHM), pixels
	parTheta        // θ, radians from +y towards -x
	nPar
)

// Gauss2D evaluates the elliptical Gaussian of SPEC 0.2 at (x, y):
//
//	u = cosθ·(x−x0) + sinθ·(y−y0);  v = cosθ·(y−y0) − sinθ·(x−x0)
//	G = A·exp(−ln2·[(u/b)² + (v/a)²])
func Gauss2D(peak, x0, y0, a, b, theta, x, y float64) float64 {
	s, c := math.Sincos(theta)
	dx, dy := x-x0, y-y0
	u := c*dx + s*dy
	v := c*dy - s*dx
	return peak * math.Exp(-math.Ln2*(u*u/(b*b)+v*v/(a*a)))
}

// gaussJacRef is the reference twin of gaussPre.jac: the model and its
// analytic partial derivatives with respect to (A, x0, y0, a, b, θ) at
// (x, y), written directly from SPEC 0.2 with no precomputation.
func gaussJacRef(p *[nPar]float64, x, y float64, jac *[nPar]float64) float64 {
	s, c := math.Sincos(p[parTheta])
	a, b := p[parA], p[parB]
	dx, dy := x-p[parX], y-p[parY]
	u := c*dx + s*dy
	v := c*dy - s*dx
	e := math.Exp(-math.Ln2 * (u*u/(b*b) + v*v/(a*a)))
	g := p[parPeak] * e
	k := 2 * math.Ln2 * g
	jac[parPeak] = e
	// ∂u/∂x0 = −c, ∂v/∂x0 = s; ∂u/∂y0 = −s, ∂v/∂y0 = −c.
	jac[parX] = k * (u*c/(b*b) - v*s/(a*a))
	jac[parY] = k * (u*s/(b*b) + v*c/(a*a))
	jac[parA] = k * v * v / (a * a * a)
	jac[parB] = k * u * u / (b * b * b)
	// ∂u/∂θ = v, ∂v/∂θ = −u.
	jac[parTheta] = -k * u * v * (1/(b*b) - 1/(a*a))
	return g
}

// gaussPre holds the per-parameter-vector constants of the model so that
// the per-pixel work is a handful of multiplies, and along a row of pixels
// not even an exp (gaussWalk).
type gaussPre struct {
	peak, x0, y0, s, c, ia2, ib2, ia3, ib3, dab float64
	// The exponent as a quadratic form in (dx, dy) = (x−x0, y−y0):
	// q = qa·dx² + qb·dx·dy + qc·dy², so one step along a row changes it
	// by l(dx) = q(dx+1) − q(dx) = qa·(2dx+1) + qb·dy, and l by 2qa.
	qa, qb float64
	step   float64 // exp(2qa), the factor between consecutive exp(l)
	walkOK bool    // the recurrence may be used (finite, no underflow in a run)
}

// Bounds of the row recurrence (gaussWalk). The products' rounding grows
// with the steps since the anchor, linearly and through the powers of
// exp(2qa) quadratically (TestGaussWalkBound states the bound and checks
// it); walkRun caps the steps. walkLim keeps every factor of a run
// between e^−600 and e^600, far from the float64 range's ends (e^±709),
// so no factor overflows or underflows.
const (
	walkRun = 16
	walkLim = 300
)

func (g *gaussPre) set(p *[nPar]float64) {
	g.peak, g.x0, g.y0 = p[parPeak], p[parX], p[parY]
	g.s, g.c = math.Sincos(p[parTheta])
	a, b := p[parA], p[parB]
	g.ia2, g.ib2 = 1/(a*a), 1/(b*b)
	g.ia3, g.ib3 = g.ia2/a, g.ib2/b
	g.dab = g.ib2 - g.ia2
	g.qa = -math.Ln2 * (g.ib2*g.c*g.c + g.ia2*g.s*g.s)
	g.qb = -2 * math.Ln2 * g.c * g.s * g.dab
	g.step = math.Exp(2 * g.qa)
	// qa ≤ 0 for any real a, b; a run moves l by 2qa·walkRun at most.
	g.walkOK = measFinite(g.qa) && measFinite(g.qb) && 2*g.qa*walkRun >= -walkLim
}

// gaussWalk carries the exp of the model's exponent along a row of pixels:
// with e(x) = exp(q(x)) and r(x) = e(x+1)/e(x) = exp(l(x)),
//
//	e(x+1) = e(x)·r(x),  r(x+1) = r(x)·exp(2qa),
//
// two multiplies a pixel instead of an exp. A pixel that does not follow
// the previous one in its row (x+1, same y), or the pixel after walkRun
// recurrence steps, is an anchor: e and r are computed there with exp, so
// the rounding of the products never grows beyond walkRun steps. The zero
// value starts with an anchor; pixels may come in any order.
type gaussWalk struct {
	x, y, e, r float64
	n          int // recurrence steps left before the next anchor
}

// exp returns exp(q) at pixel (x, y), q = −ln2·(u²/b² + v²/a²), given
// dx = x − x0, dy = y − y0 and the rotated offsets u, v of Gauss2D.
func (g *gaussPre) exp(w *gaussWalk, x, y, dx, dy, u, v float64) float64 {
	if w.n > 0 && x == w.x+1 && y == w.y {
		w.e *= w.r
		w.r *= g.step
		w.n--
	} else {
		q := -math.Ln2 * (u*u*g.ib2 + v*v*g.ia2)
		w.e = math.Exp(q)
		w.n = 0
		if l := g.qa*(2*dx+1) + g.qb*dy; g.walkOK && q >= -walkLim && l >= -walkLim && l <= walkLim {
			w.r = math.Exp(l)
			w.n = walkRun
		}
	}
	w.x, w.y = x, y
	return w.e
}

// eval is Gauss2D with the constants of set, along the walk w.
func (g *gaussPre) eval(w *gaussWalk, x, y float64) float64 {
	dx, dy := x-g.x0, y-g.y0
	u := g.c*dx + g.s*dy
	v := g.c*dy - g.s*dx
	return g.peak * g.exp(w, x, y, dx, dy, u, v)
}

// jac is gaussJacRef with the constants of set, along the walk w.
func (g *gaussPre) jac(w *gaussWalk, x, y float64, jac *[nPar]float64) float64 {
	dx, dy := x-g.x0, y-g.y0
	u := g.c*dx + g.s*dy
	v := g.c*dy - g.s*dx
	e := g.exp(w, x, y, dx, dy, u, v)
	m := g.peak * e
	k := 2 * math.Ln2 * m
	ub, va := u*g.ib2, v*g.ia2
	jac[parPeak] = e
	jac[parX] = k * (ub*g.c - va*g.s)
	jac[parY] = k * (ub*g.s + va*g.c)
	jac[parA] = k * v * v * g.ia3
	jac[parB] = k * u * u * g.ib3
	jac[parTheta] = -k * u * v * g.dab
	return m
}
