package kernels

import "math"

// shapeErrors are the 1-σ uncertainties of a measured source in pixel
// units: peak (image units), position (px), semi-axes (px), θ (rad) and
// integrated flux.
type shapeErrors struct {
	peak, x, y, a, b, theta, flux float64
}

// ErrorModel holds the error-budget settings of SPEC 4.1 used by the
// uncertainty formulas of SPEC 4.9: the clean bias and its error, the
// fractional flux-calibration error and the NVSS exponents of Condon's ρ².
type ErrorModel struct {
	CleanBias, CleanBiasError, FracFluxCalError float64
	// AlphaMaj1, AlphaMin1 are the exponents of ρ1 (major axis and x/y
	// along it), AlphaMaj2, AlphaMin2 those of ρ2, AlphaBrightness1 and
	// AlphaBrightness2 those of ρ3 (peak), SPEC 4.9.1.
	AlphaMaj1, AlphaMaj2, AlphaMin1, AlphaMin2, AlphaBrightness1, AlphaBrightness2 float64
	// PySE gives fits of a fixed shape (force_beam, forced fits) PySE's
	// errors: Condon's peak error and the shape terms in the flux error.
	// Off (gotrap's default), such fits get the peak error of the
	// unweighted fit in beam-correlated noise and the flux error of
	// their peak (condonErrors; docs/variability.md).
	PySE bool
}

// DefaultErrorModel returns PySE's and TraP's defaults: no clean bias or
// calibration error, NVSS exponents 2.5/0.5/0.5/2.5/1.5/1.5.
func DefaultErrorModel() ErrorModel {
	return ErrorModel{
		AlphaMaj1: 2.5, AlphaMaj2: 0.5, AlphaMin1: 0.5, AlphaMin2: 2.5,
		AlphaBrightness1: 1.5, AlphaBrightness2: 1.5,
	}
}

// positionErrors turns the errors along the major and minor axes into
// errors along x and y (SPEC 4.9.1).
func positionErrors(eMaj, eMin, theta float64) (sx, sy float64) {
	s, c := math.Sincos(theta)
	sx = math.Sqrt((eMaj*s)*(eMaj*s) + (eMin*c)*(eMin*c))
	sy = math.Sqrt((eMaj*c)*(eMaj*c) + (eMin*s)*(eMin*s))
	return sx, sy
}

// thetaError is 2·(ab/(a² − b²))/ρ for a > b, else π/2, capped at π/2
// (PySE's cap, SPEC 4.9).
func thetaError(a, b, rho float64) float64 {
	if !(a > b) {
		return math.Pi / 2
	}
	e := 2 * (a * b / (a*a - b*b)) / rho
	if !(e < math.Pi/2) {
		return math.Pi / 2
	}
	return e
}

// fixedShapeNoiseFactor is the variance of the peak of an unweighted
// least-squares fit of a Gaussian of fixed shape g (the beam) to noise
// whose correlation is the restoring beam, over σ_n²: ΣΣ g_i g_j ρ_ij /
// (Σ g_i²)², 4/3 in the continuum limit over the whole Gaussian (each
// axis contributes 2/√3). Condon's σ_P = σ_n for a beam-sized source is
// the minimum-variance (correlation-weighted) fit's, which the unweighted
// fit does not reach; measured on simulated images, whose noise has the
// beam's correlation, the peak scatter is 1.15-1.20 σ_n (docs/variability.md).
const fixedShapeNoiseFactor = 4.0 / 3

// condonErrors implements SPEC 4.9.1 (Condon 1997, NVSS eqs. 21, 25-37,
// PySE column: P' = P + clean_bias and no −σ²/P term). p holds the fitted
// (P, x, y, a, b, θ), flux = π·P·a·b/beamsize and noise σ_n. It returns
// the corrected peak P', the rescaled flux and the errors. With
// fixedShape (force_beam, forced fits) the noise term of σ_P is that of
// the unweighted fit in beam-correlated noise (fixedShapeNoiseFactor)
// and the flux error is that of the peak alone, σ_flux = |flux'|·σ_P/|P'|:
// the shape was not fitted, so its errors are not part of the flux's
// (PySE and TraP add them anyway, which makes f_int_err √3 times
// f_peak_err for a point source; docs/decisions.md, docs/variability.md).
func condonErrors(p *[nPar]float64, flux float64, beam Beam, noise float64, em *ErrorModel, fixedShape bool) (float64, float64, shapeErrors) {
	peak, a, b, theta := p[parPeak], p[parA], p[parB], p[parTheta]
	tB, tb := 2*beam.A, 2*beam.B
	base := a * b / (tB * tb) * (peak / noise) * (peak / noise)
	fM := 1 + (tB/(2*a))*(tB/(2*a))
	fm := 1 + (tb/(2*b))*(tb/(2*b))
	rho1 := math.Sqrt(base * math.Pow(fM, em.AlphaMaj1) * math.Pow(fm, em.AlphaMin1))
	rho2 := math.Sqrt(base * math.Pow(fM, em.AlphaMaj2) * math.Pow(fm, em.AlphaMin2))
	rho3 := math.Sqrt(base * math.Pow(fM, em.AlphaBrightness1) * math.Pow(fm, em.AlphaBrightness2))
	var e shapeErrors
	k := math.Sqrt(2 * math.Ln2)
	eMaj := 2 * a / (k * rho1)
	eMin := 2 * b / (k * rho2)
	e.x, e.y = positionErrors(eMaj, eMin, theta)
	e.a = math.Sqrt2 * a / rho1
	e.b = math.Sqrt2 * b / rho2
	e.theta = thetaError(a, b, rho2)
	pc := peak + em.CleanBias
	noiseVar := 2 * pc * pc / (rho3 * rho3) // σ_n² for a beam-sized source
	if fixedShape {
		noiseVar *= fixedShapeNoiseFactor
	}
	e.peak = math.Sqrt((em.FracFluxCalError*pc)*(em.FracFluxCalError*pc) +
		em.CleanBiasError*em.CleanBiasError + noiseVar)
	fc := flux * pc / peak
	if fixedShape {
		e.flux = math.Abs(fc) * e.peak / math.Abs(pc)
		return pc, fc, e
	}
	e.flux = math.Abs(fc) * math.Sqrt(e.peak*e.peak/(pc*pc)+
		tB*tb/(4*a*b)*((e.a/a)*(e.a/a)+(e.b/b)*(e.b/b)))
	return pc, fc, e
}

// momentsErrors implements SPEC 4.9.2 (Spreeuw 2010, eq. 2.81) for the
// measured (P, x, y, a, b, θ), flux, threshold t and noise σ_n (PySE
// column: no max-pixel variance term). With t = 0 the errors are infinite.
// fixedShape drops the shape terms from the flux error as in
// condonErrors.
func momentsErrors(p *[nPar]float64, flux float64, beam Beam, noise, t float64, em *ErrorModel, fixedShape bool) shapeErrors {
	peak, a, b, theta := p[parPeak], p[parA], p[parB], p[parTheta]
	tB, tb := 2*beam.A, 2*beam.B
	var ratio float64 // (P − T)/(ln P − ln T), → P as T → P
	if peak == t {
		ratio = peak
	} else {
		ratio = (peak - t) / (math.Log(peak) - math.Log(t))
	}
	rho := math.Sqrt(16 * a * b / (math.Ln2 * tB * tb * noise * noise) * ratio * ratio)
	var e shapeErrors
	k := math.Sqrt(2 * math.Ln2)
	e.x, e.y = positionErrors(2*a/(k*rho), 2*b/(k*rho), theta)
	e.a = math.Sqrt2 * a / rho
	e.b = math.Sqrt2 * b / rho
	e.theta = thetaError(a, b, rho)
	e.peak = math.Sqrt((em.FracFluxCalError*peak)*(em.FracFluxCalError*peak) +
		em.CleanBiasError*em.CleanBiasError + noise*noise)
	if fixedShape {
		e.flux = flux * e.peak / peak
		return e
	}
	e.flux = flux * math.Sqrt(e.peak*e.peak/(peak*peak)+
		tB*tb/(4*a*b)*((e.a/a)*(e.a/a)+(e.b/b)*(e.b/b)))
	return e
}
