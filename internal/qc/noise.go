package qc

import (
	"fmt"
	"math"
	"strings"
)

// Physical constants (SI).
const (
	// SpeedOfLight is c in m/s (exact).
	SpeedOfLight = 299792458.0
	// Boltzmann is k_B in J/K, CODATA 2018 (exact since the 2019 SI).
	// TraP's published test value used CODATA 2010's 1.3806488e-23; the
	// difference is 3e-7 relative (SPEC 3.3).
	Boltzmann = 1.380649e-23
)

// LOFAR station geometry and the dipole model of SPEC 3.3.
const (
	antennasPerTile = 16
	tilesCore       = 24
	tilesRemote     = 48
	tilesIntl       = 96
	// hbaDipoleArea is the largest effective area of one HBA antenna, m²
	// (1.25 m x 1.25 m).
	hbaDipoleArea = 1.5625
	// lbaWavelength: a dipole at a wavelength above this many metres is an
	// LBA dipole (TraP's test, λ > 3 m, ν < 99.93 MHz).
	lbaWavelength = 3.0
	// tSky0 is the sky temperature at λ = 1 m, K (T_sky = 60 λ^2.55).
	tSky0        = 60.0
	tSkyExponent = 2.55
	// maxNoiseFreq is the last knot of the T_inst table, Hz; TraP's linear
	// interpolation raises above it.
	maxNoiseFreq = 300e6
)

// StationType is a class of LOFAR station.
type StationType int

// The LOFAR station classes of the noise model.
const (
	Core StationType = iota
	Remote
	International
)

func (s StationType) String() string {
	switch s {
	case Core:
		return "core"
	case Remote:
		return "remote"
	case International:
		return "international"
	}
	return fmt.Sprintf("StationType(%d)", int(s))
}

// Stations holds the numbers of core, remote and international stations
// of an observation (the FITS keywords NCORE, NREMOTE, NINTL). A negative
// count means unknown.
type Stations struct {
	Core, Remote, Intl int
}

// Observation is what the LOFAR theoretical noise depends on.
type Observation struct {
	Freq       float64 // effective frequency ν, Hz
	Bandwidth  float64 // B, Hz
	Time       float64 // integration time t, s
	AntennaSet string  // ANTENNA: LBA_INNER, LBA_OUTER, LBA_SPARSE0, ..., HBA, HBA_DUAL, ...
	Stations   Stations
}

// DipoleArea returns the effective area (m²) of one LOFAR dipole at
// frequency freq (Hz) with its nearest neighbour at distance d (m), SPEC
// 3.3: with λ = c/freq,
//
//	λ > 3 m (LBA):  min(λ²/3, π d²/4)
//	otherwise (HBA): min(λ²/3, 1.5625 m²)
//
// d is read only for LBA dipoles; TraP takes d = 1 m when it is missing
// (0), and so does DipoleArea.
func DipoleArea(freq, d float64) float64 {
	lambda := SpeedOfLight / freq
	full := lambda * lambda / 3
	if lambda > lbaWavelength {
		if d == 0 {
			d = 1
		}
		return math.Min(full, math.Pi*d*d/4)
	}
	return math.Min(full, hbaDipoleArea)
}

// normalizeSet returns the antenna set name trimmed and in upper case.
func normalizeSet(set string) string {
	return strings.ToUpper(strings.TrimSpace(set))
}

// StationArea returns the effective area (m²) of one station of type st at
// frequency freq (Hz) in the antenna set set (SPEC 3.3):
//
//   - LBA sets (names starting with LBA): the sum of DipoleArea over the
//     nearest-neighbour distances of the set's dipoles, from the tables of
//     TraP's antennaarrays.py (see antennaarrays.go);
//   - HBA sets (names starting with HBA): DipoleArea × 16 antennas per
//     tile × 24 (core), 48 (remote) or 96 (international) tiles.
//
// It returns an error wrapping ErrAntennaSet when the set is neither, or
// when no distance table exists for the set and station type (TraP has no
// international table for LBA_SPARSE*, LBA_X and LBA_Y, for example).
func StationArea(st StationType, set string, freq float64) (float64, error) {
	set = normalizeSet(set)
	switch {
	case strings.HasPrefix(set, "LBA"):
		var tables map[string][]float64
		switch st {
		case Core:
			tables = coreDipoleDistances
		case Remote:
			tables = remoteDipoleDistances
		case International:
			tables = intlDipoleDistances
		default:
			panic(badStationType)
		}
		ds, ok := tables[set]
		if !ok {
			return 0, fmt.Errorf("%w: no %s dipole table for %q", ErrAntennaSet, st, set)
		}
		var a float64
		for _, d := range ds {
			a += DipoleArea(freq, d)
		}
		return a, nil
	case strings.HasPrefix(set, "HBA"):
		var tiles int
		switch st {
		case Core:
			tiles = tilesCore
		case Remote:
			tiles = tilesRemote
		case International:
			tiles = tilesIntl
		default:
			panic(badStationType)
		}
		return DipoleArea(freq, 0) * antennasPerTile * float64(tiles), nil
	}
	return 0, fmt.Errorf("%w: %q is neither an LBA nor an HBA set", ErrAntennaSet, set)
}

// instrumentTemperature returns T_inst (K) at freq (Hz) for the sky
// temperature tSky (K): linear interpolation through SPEC 3.3's knots,
// which scale with the T_sky of the image's own frequency below 90 MHz.
// freq must lie in [0, 300 MHz].
func instrumentTemperature(freq, tSky float64) float64 {
	knots := [...][2]float64{
		{0, 0},
		{10e6, 0.1 * tSky},
		{40e6, 0.7 * tSky},
		{50e6, 0.85 * tSky},
		{55e6, 0.9 * tSky},
		{60e6, 0.85 * tSky},
		{70e6, 0.6 * tSky},
		{80e6, 0.3 * tSky},
		{90e6, 0},
		{110e6, 0},
		{120e6, 200},
		{300e6, 200},
	}
	for i := 1; i < len(knots); i++ {
		x0, y0 := knots[i-1][0], knots[i-1][1]
		x1, y1 := knots[i][0], knots[i][1]
		if freq <= x1 {
			return y0 + (y1-y0)*(freq-x0)/(x1-x0)
		}
	}
	return math.NaN()
}

// SEFD returns the system equivalent flux density (Jy) of a station of
// effective area area (m²) at freq (Hz), SPEC 3.3:
//
//	S = 2 k_B T_sys / A × 1e26,  T_sys = T_sky + T_inst,  T_sky = 60 λ^2.55 K
//
// with T_inst interpolated through the knots of SPEC 3.3 and a system
// efficiency of 1. It returns NaN when freq is outside (0, 300 MHz].
func SEFD(freq, area float64) float64 {
	return sefd(freq, area, Boltzmann)
}

func sefd(freq, area, kB float64) float64 {
	if !(freq > 0 && freq <= maxNoiseFreq) {
		return math.NaN()
	}
	lambda := SpeedOfLight / freq
	tSky := tSky0 * math.Pow(lambda, tSkyExponent)
	tSys := tSky + instrumentTemperature(freq, tSky)
	return 2 * kB / area * tSys * 1e26
}

// TheoreticalNoise returns the theoretical image noise σ_th (Jy) of a
// LOFAR observation (SPEC 3.3, TraP's noise_level), with gotrap's fix of
// SPEC 11 quirk 1 (the remote-remote term divides by S_r², not S_r·S_c):
//
//	σ_th = 1 / sqrt( 4 B t [ n_cc/S_c² + n_rr/S_r² + n_ii/S_i²
//	                        + n_cr/(S_c S_r) + n_ci/(S_c S_i) + n_ri/(S_r S_i) ] )
//
// with n_cc = N_c(N_c−1)/2, n_cr = N_c N_r, ... the baseline counts and S
// the SEFD of each station type (StationArea, SEFD). Terms with no
// baselines are left out, so a station type without a distance table is
// only an error when it has stations.
//
// It returns an error when freq is outside (0, 300 MHz], the bandwidth or
// time is not positive, a station count is negative (unknown), there is no
// baseline, or the antenna set is not known (ErrAntennaSet).
func TheoreticalNoise(obs Observation) (float64, error) {
	return theoreticalNoise(obs, Boltzmann)
}

func theoreticalNoise(obs Observation, kB float64) (float64, error) {
	switch {
	case !(obs.Freq > 0 && obs.Freq <= maxNoiseFreq):
		return 0, fmt.Errorf("%w: frequency %g Hz outside (0, %g] Hz", ErrNoise, obs.Freq, maxNoiseFreq)
	case !(obs.Bandwidth > 0 && !math.IsInf(obs.Bandwidth, 0)):
		return 0, fmt.Errorf("%w: bandwidth %g Hz is not positive", ErrNoise, obs.Bandwidth)
	case !(obs.Time > 0 && !math.IsInf(obs.Time, 0)):
		return 0, fmt.Errorf("%w: integration time %g s is not positive", ErrNoise, obs.Time)
	}
	n := [3]int{obs.Stations.Core, obs.Stations.Remote, obs.Stations.Intl}
	for i, k := range n {
		if k < 0 {
			return 0, fmt.Errorf("%w: the number of %s stations is unknown", ErrNoise, StationType(i))
		}
	}
	var s [3]float64 // SEFD of core, remote, international stations
	for i, k := range n {
		if k == 0 {
			continue
		}
		a, err := StationArea(StationType(i), obs.AntennaSet, obs.Freq)
		if err != nil {
			return 0, err
		}
		s[i] = sefd(obs.Freq, a, kB)
	}
	// sum over station-type pairs (i <= j) of baselines / (S_i S_j).
	var sum float64
	for i := range 3 {
		for j := i; j < 3; j++ {
			var nb float64
			if i == j {
				nb = float64(n[i]) * float64(n[i]-1) / 2
			} else {
				nb = float64(n[i]) * float64(n[j])
			}
			if nb > 0 {
				sum += nb / (s[i] * s[j])
			}
		}
	}
	if !(sum > 0) {
		return 0, fmt.Errorf("%w: no baselines (%d core, %d remote, %d international stations)", ErrNoise, n[0], n[1], n[2])
	}
	return 1 / math.Sqrt(4*obs.Bandwidth*obs.Time*sum), nil
}
