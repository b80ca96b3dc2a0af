package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"

	"gotrap/kernels/sphere"
)

// Class is the kind of a simulated source.
type Class uint8

// Source classes, as written in sources.csv.
const (
	Steady Class = iota
	Variable
	Transient
)

func (c Class) String() string {
	switch c {
	case Steady:
		return "steady"
	case Variable:
		return "variable"
	case Transient:
		return "transient"
	}
	return "class(" + strconv.Itoa(int(c)) + ")"
}

// Light-curve shapes, as written in sources.csv.
const (
	CurveConstant = "constant"
	CurveSine     = "sine"
	CurveWalk     = "random-walk"
	CurveFlare    = "flare"
	CurveTopHat   = "top-hat"
)

// Source is one simulated point source.
type Source struct {
	ID    int     // 1-based, in the order steady, variable, transient, user
	Class Class   //
	RA    float64 // deg, [0, 360)
	Dec   float64 // deg
	Flux  float64 // Jy at Config.FluxRefMHz: mean flux of a variable, on-flux of a transient
	Alpha float64 // spectral index: S(ν) = Flux·(ν/ν_ref)^Alpha
	Curve string  // light-curve shape (Curve* constants)
	// LC holds the flux multiplier per timestep; nil means 1 throughout.
	LC []float64
	// Onset and End are the first timestep a transient is on and the
	// first it is off again (-1: never within the data or not a transient).
	Onset, End int
	// ModIndex is the modulation index of LC (sample standard deviation
	// with N-1, over the mean; 0 for a constant source), TraP's V.
	ModIndex float64
	User     bool // given in Config.SourcesFile
	// Maj, Min (intrinsic FWHM, arcsec) and PA (deg, north through east)
	// of a resolved source; Maj = 0 for a point source.
	Maj, Min, PA float64
	// CircPol is the circular polarisation V/I, signed (0: unpolarised).
	CircPol float64
}

// FluxAt returns the source's flux density (Jy) at timestep t and
// frequency fMHz, before any primary-beam attenuation.
func (s *Source) FluxAt(t int, fMHz, refMHz float64) float64 {
	f := s.Flux
	if s.Alpha != 0 {
		f *= math.Pow(fMHz/refMHz, s.Alpha)
	}
	if s.LC != nil {
		f *= s.LC[t]
	}
	return f
}

// RNG streams of the sky; per-image streams start at streamImage.
const (
	streamSteady = iota + 1
	streamVariable
	streamTransient
	streamBad
	streamExtended
	streamCircular
	streamImage    = 1 << 32
	streamArtefact = 1 << 33
	// streamStokesV offsets the per-image noise streams of Stokes V
	// images: their noise is independent of the Stokes I images' noise.
	streamStokesV = 1 << 34
)

// footprint reports whether a sky position falls on some field's image
// grown by the painting margin, or with inner, shrunk by it.
type footprint interface {
	covers(ra, dec float64, inner bool) bool
}

// capSampler draws positions uniformly on the sphere within radius deg of
// a centre.
type capSampler struct {
	ra, dec, cosR float64
}

func (s capSampler) draw(rng *rand.Rand) (float64, float64) {
	c := 1 - rng.Float64()*(1-s.cosR) // cos of the distance, uniform
	pa := rng.Float64() * 360
	return offsetCos(s.ra, s.dec, c, pa)
}

// areaDeg2 is the cap's solid angle in square degrees.
func (s capSampler) areaDeg2() float64 {
	return 2 * math.Pi * (1 - s.cosR) * rad2deg * rad2deg
}

func offsetCos(ra, dec, cosDist, pa float64) (float64, float64) {
	return offset(ra, dec, math.Acos(math.Max(-1, math.Min(1, cosDist)))*rad2deg, pa)
}

// powerLawFlux draws S from integral counts N(>S) ∝ S^-gamma on [lo, hi]
// by inverting the cumulative distribution.
func powerLawFlux(u, lo, hi, gamma float64) float64 {
	r := math.Pow(lo/hi, gamma)
	return lo * math.Pow(1-u*(1-r), -1/gamma)
}

func logUniform(u, lo, hi float64) float64 {
	return lo * math.Exp(u*math.Log(hi/lo))
}

// buildSky draws the sources: steady sources over the cap sc, kept where
// fp covers them; variables and transients over the same region, isolated
// from each other and from bright steady sources; then the user's sources.
func buildSky(c *Config, sc capSampler, fp footprint, user []Source) ([]Source, error) {
	var src []Source
	// Steady population: a fixed number of candidates in the cap (its
	// area times the density), each consuming the same draws whether kept
	// or not, so that the population does not depend on the footprint.
	rng := rand.New(rand.NewPCG(c.Seed, streamSteady))
	n := int(math.Round(c.SteadyDensity * sc.areaDeg2()))
	for range n {
		ra, dec := sc.draw(rng)
		flux := powerLawFlux(rng.Float64(), c.SteadyFluxMin, c.SteadyFluxMax, c.CountSlope)
		alpha := c.AlphaMean + c.AlphaSD*rng.NormFloat64()
		if !fp.covers(ra, dec, false) {
			continue
		}
		src = append(src, Source{Class: Steady, RA: ra, Dec: dec, Flux: flux, Alpha: alpha,
			Curve: CurveConstant, Onset: -1, End: -1})
	}

	// Isolation: variables and transients keep IsolationArcmin from each
	// other, from user sources and from steady sources above brightLimit.
	const brightLimit = 0.1 // Jy at FluxRefMHz: 2-4x the RSM rms
	iso := c.IsolationArcmin / 60
	var anchors [][2]float64
	for _, s := range src {
		if s.Flux > brightLimit {
			anchors = append(anchors, [2]float64{s.RA, s.Dec})
		}
	}
	for _, s := range user {
		anchors = append(anchors, [2]float64{s.RA, s.Dec})
	}
	place := func(rng *rand.Rand, what string, i int) (float64, float64, error) {
		const tries = 10000
		for range tries {
			ra, dec := sc.draw(rng)
			if !fp.covers(ra, dec, true) {
				continue
			}
			ok := true
			for _, a := range anchors {
				if math.Abs(a[1]-dec) < iso && sphere.Sep(a[0], a[1], ra, dec) < iso {
					ok = false
					break
				}
			}
			if ok {
				anchors = append(anchors, [2]float64{ra, dec})
				return ra, dec, nil
			}
		}
		return 0, 0, fmt.Errorf("sim: no isolated position for %s %d after %d tries: lower isolation_arcmin or the number of sources", what, i, tries)
	}

	T := c.Timesteps
	rng = rand.New(rand.NewPCG(c.Seed, streamVariable))
	curves := [...]string{CurveSine, CurveWalk, CurveFlare}
	for i := range c.Variables {
		ra, dec, err := place(rng, "variable", i)
		if err != nil {
			return nil, err
		}
		s := Source{Class: Variable, RA: ra, Dec: dec, Onset: -1, End: -1,
			Flux:  logUniform(rng.Float64(), c.VariableFluxMin, c.VariableFluxMax),
			Alpha: c.AlphaMean + c.AlphaSD*rng.NormFloat64(),
			Curve: curves[i%len(curves)],
		}
		m := c.ModIndexMin + rng.Float64()*(c.ModIndexMax-c.ModIndexMin)
		s.LC = variableCurve(rng, s.Curve, T, m)
		s.ModIndex = modIndex(s.LC)
		src = append(src, s)
	}

	rng = rand.New(rand.NewPCG(c.Seed, streamTransient))
	for i := range c.Transients {
		ra, dec, err := place(rng, "transient", i)
		if err != nil {
			return nil, err
		}
		s := Source{Class: Transient, RA: ra, Dec: dec, Curve: CurveTopHat,
			Flux:  logUniform(rng.Float64(), c.TransientFluxMin, c.TransientFluxMax),
			Alpha: c.AlphaMean + c.AlphaSD*rng.NormFloat64(),
		}
		u1, u2, u3 := rng.Float64(), rng.Float64(), rng.Float64()
		s.Onset, s.End = transientWindow(T, u1, u2, u3, c.SingleFrac, c.SwitchOffFrac, c.TransientMaxSteps)
		s.LC = topHat(T, s.Onset, s.End)
		s.ModIndex = modIndex(s.LC)
		src = append(src, s)
	}

	for _, u := range user {
		u.User = true
		if u.Onset >= T || u.End > T {
			return nil, fmt.Errorf("sim: user source at (%g, %g): onset/end step beyond the %d timesteps", u.RA, u.Dec, T)
		}
		if u.Onset >= 0 || u.End >= 0 {
			u.Class, u.Curve = Transient, CurveTopHat
			if u.Onset < 0 {
				u.Onset = 0
			}
			u.LC = topHat(T, u.Onset, u.End)
			u.ModIndex = modIndex(u.LC)
		} else {
			u.Class, u.Curve, u.Onset, u.End = Steady, CurveConstant, -1, -1
		}
		src = append(src, u)
	}
	for i := range src {
		src[i].ID = i + 1
	}
	return src, nil
}

// transientWindow chooses the onset (never the first timestep when there
// are several, so that the source is new) and the end of a transient.
// maxSteps > 0 bounds the snapshots of one that switches off.
func transientWindow(T int, u1, u2, u3, single, off float64, maxSteps int) (onset, end int) {
	if T > 1 {
		onset = 1 + int(u1*float64(T-1))
	}
	switch {
	case u2 < single:
		return onset, onset + 1
	case u2 < single+(1-single)*off && T-onset >= 2:
		// On for 2 .. T-onset snapshots (at most maxSteps).
		n := T - onset
		if maxSteps >= 2 {
			n = min(n, maxSteps)
		}
		return onset, onset + 2 + int(u3*float64(n-1))
	}
	return onset, -1
}

func topHat(T, onset, end int) []float64 {
	lc := make([]float64, T)
	for t := range lc {
		if t >= onset && (end < 0 || t < end) {
			lc[t] = 1
		}
	}
	return lc
}

// variableCurve draws a light curve of the given shape over T timesteps
// and rescales it to mean 1 and modulation index m (clipped at zero flux,
// which can lower the realised index; ModIndex records the realised one).
func variableCurve(rng *rand.Rand, shape string, T int, m float64) []float64 {
	z := make([]float64, T)
	switch shape {
	case CurveSine:
		period := 4 + 12*rng.Float64() // timesteps
		phase := 2 * math.Pi * rng.Float64()
		for t := range z {
			z[t] = math.Sin(2*math.Pi*float64(t)/period + phase)
		}
	case CurveWalk:
		for t := 1; t < T; t++ {
			z[t] = z[t-1] + rng.NormFloat64()
		}
	case CurveFlare:
		flares := 1 + int(2*rng.Float64())
		for range flares {
			t0 := rng.Float64() * float64(T)
			tau := 0.5 + 2.5*rng.Float64() // e-folding time, timesteps
			for t := range z {
				if dt := float64(t) - t0; dt >= 0 {
					z[t] += math.Exp(-dt / tau)
				} else if dt > -1 {
					z[t] += 1 + dt // rises within one timestep
				}
			}
		}
	}
	mean, sd := meanSD(z)
	for t := range z {
		v := 1.0
		if sd > 0 {
			v = 1 + m*(z[t]-mean)/sd
		}
		z[t] = math.Max(0, v)
	}
	return z
}

func meanSD(z []float64) (mean, sd float64) {
	if len(z) == 0 {
		return 0, 0
	}
	for _, v := range z {
		mean += v
	}
	mean /= float64(len(z))
	if len(z) < 2 {
		return mean, 0
	}
	var ss float64
	for _, v := range z {
		ss += (v - mean) * (v - mean)
	}
	return mean, math.Sqrt(ss / float64(len(z)-1))
}

// modIndex is TraP's V of a light curve: sample standard deviation (N-1)
// over the mean; 0 for fewer than two points or a zero mean.
func modIndex(lc []float64) float64 {
	mean, sd := meanSD(lc)
	if mean <= 0 {
		return 0
	}
	return sd / mean
}

// ReadSources reads user sources from CSV with a header row. Columns (any
// order, names case-insensitive): ra, dec (degrees) and flux_jy (Jy at
// flux_ref_mhz) are required; spectral_index (default 0), onset_step and
// end_step (0-based timesteps; either makes the source a transient that is
// on for onset_step <= t < end_step) and circ_pol (the circular
// polarisation V/I, signed, in [-1, 1]; default 0) are optional, and empty cells take
// the default. Other columns are ignored.
func ReadSources(r io.Reader) ([]Source, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.TrimLeadingSpace = true
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("sim: sources: empty file, want a header row")
		}
		return nil, fmt.Errorf("sim: sources: %w", err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for _, k := range []string{"ra", "dec", "flux_jy"} {
		if _, ok := col[k]; !ok {
			return nil, fmt.Errorf("sim: sources: no %q column in header %q", k, strings.Join(head, ","))
		}
	}
	var out []Source
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("sim: sources: %w", err)
		}
		get := func(k string) string {
			if i, ok := col[k]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		num := func(k string, def float64) (float64, error) {
			v := get(k)
			if v == "" {
				return def, nil
			}
			f, err := parseF(v)
			if err != nil {
				return 0, fmt.Errorf("sim: sources line %d: %s: %w", line, k, err)
			}
			return f, nil
		}
		step := func(k string) (int, error) {
			v := get(k)
			if v == "" {
				return -1, nil
			}
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 {
				return 0, fmt.Errorf("sim: sources line %d: %s = %q, want a timestep >= 0", line, k, v)
			}
			return n, nil
		}
		var s Source
		var e error
		if s.RA, e = num("ra", math.NaN()); e != nil {
			return nil, e
		}
		if s.Dec, e = num("dec", math.NaN()); e != nil {
			return nil, e
		}
		if s.Flux, e = num("flux_jy", math.NaN()); e != nil {
			return nil, e
		}
		if s.Alpha, e = num("spectral_index", 0); e != nil {
			return nil, e
		}
		if s.Onset, e = step("onset_step"); e != nil {
			return nil, e
		}
		if s.End, e = step("end_step"); e != nil {
			return nil, e
		}
		if s.CircPol, e = num("circ_pol", 0); e != nil {
			return nil, e
		}
		if !(math.Abs(s.CircPol) <= 1) {
			return nil, fmt.Errorf("sim: sources line %d: circ_pol = %v, want V/I in [-1, 1]", line, s.CircPol)
		}
		if math.IsNaN(s.RA) || math.IsNaN(s.Dec) || math.IsNaN(s.Flux) || s.Dec < -90 || s.Dec > 90 || s.Flux < 0 {
			return nil, fmt.Errorf("sim: sources line %d: want ra, dec within the sky and flux_jy >= 0", line)
		}
		if s.End >= 0 && s.End <= max(s.Onset, 0) {
			return nil, fmt.Errorf("sim: sources line %d: end_step %d must follow onset_step", line, s.End)
		}
		s.RA = math.Mod(s.RA, 360)
		if s.RA < 0 {
			s.RA += 360
		}
		out = append(out, s)
	}
}

// assignExtents makes ExtendedFrac of the steady sources resolved: each
// steady source draws four numbers from its own stream whether it becomes
// resolved or not (so the choice does not shift other sources' draws):
// whether, the major axis (log-uniform in [ExtMinArcsec, ExtMaxArcsec]),
// the axis ratio (uniform in [0.4, 1]) and the position angle.
func (p *plan) assignExtents() {
	c := &p.cfg
	if c.ExtendedFrac <= 0 {
		return
	}
	rng := rand.New(rand.NewPCG(c.Seed, streamExtended))
	for i := range p.sky {
		s := &p.sky[i]
		if s.Class != Steady || s.User {
			continue
		}
		u0, u1, u2, u3 := rng.Float64(), rng.Float64(), rng.Float64(), rng.Float64()
		if u0 >= c.ExtendedFrac {
			continue
		}
		s.Maj = logUniform(u1, c.ExtMinArcsec, c.ExtMaxArcsec)
		s.Min = s.Maj * (0.4 + 0.6*u2)
		s.PA = 180 * u3
	}
}

// assignCircular draws the circular polarisation of the generated sources
// (Config.CircularFrac) from its own stream, three numbers a source in id
// order, so the rest of the sky does not depend on it. User sources keep
// theirs.
func (p *plan) assignCircular() {
	c := &p.cfg
	rng := rand.New(rand.NewPCG(c.Seed, streamCircular))
	for i := range p.sky {
		s := &p.sky[i]
		u, f, sign := rng.Float64(), rng.Float64(), rng.Float64()
		if s.User || u >= c.CircularFrac {
			continue
		}
		s.CircPol = c.CircularMin + f*(c.CircularMax-c.CircularMin)
		if sign < 0.5 {
			s.CircPol = -s.CircPol
		}
	}
}
