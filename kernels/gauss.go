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
// the per-pixel work is a handful of multiplies and one exp.
type gaussPre struct {
	peak, x0, y0, s, c, ia2, ib2, ia3, ib3, dab float64
}

func (g *gaussPre) set(p *[nPar]float64) {
	g.peak, g.x0, g.y0 = p[parPeak], p[parX], p[parY]
	g.s, g.c = math.Sincos(p[parTheta])
	a, b := p[parA], p[parB]
	g.ia2, g.ib2 = 1/(a*a), 1/(b*b)
	g.ia3, g.ib3 = g.ia2/a, g.ib2/b
	g.dab = g.ib2 - g.ia2
}

// eval is Gauss2D with the constants of set.
func (g *gaussPre) eval(x, y float64) float64 {
	dx, dy := x-g.x0, y-g.y0
	u := g.c*dx + g.s*dy
	v := g.c*dy - g.s*dx
	return g.peak * math.Exp(-math.Ln2*(u*u*g.ib2+v*v*g.ia2))
}

// jac is gaussJacRef with the constants of set.
func (g *gaussPre) jac(x, y float64, jac *[nPar]float64) float64 {
	dx, dy := x-g.x0, y-g.y0
	u := g.c*dx + g.s*dy
	v := g.c*dy - g.s*dx
	e := math.Exp(-math.Ln2 * (u*u*g.ib2 + v*v*g.ia2))
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
