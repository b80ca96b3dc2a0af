package qc

import (
	"errors"
	"math"
	"slices"
	"testing"

	"gotrap/internal/testutil"
)

// trapObs is the observation of TraP's test_quality/test_rms theoretical
// noise test (SPEC 3.3, 10.3 item 7).
var trapObs = Observation{
	Freq: 66308593.75, Bandwidth: 200e3, Time: 18654.3,
	AntennaSet: "LBA_INNER", Stations: Stations{Core: 23, Remote: 8},
}

const trapSigma = 0.01590154516819521 // Jy, SPEC 3.3 (k_B CODATA 2010)

func TestTheoreticalNoiseTraP(t *testing.T) {
	// With TraP's k_B the whole computation is the same sequence of
	// operations up to summation order, so it agrees to a few ulps; 1e-12
	// relative leaves room for FMA fusion on arm64.
	got, err := theoreticalNoise(trapObs, 1.3806488e-23)
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.Close(got, trapSigma, 0, 1e-12) {
		t.Errorf("sigma_th (CODATA 2010) = %.17g, want %.17g", got, trapSigma)
	}
	// With the exact 2019 SI k_B: TraP's test asserts 7 decimal places
	// (|diff| < 5e-8), and SPEC 3.3 quotes 0.0159015475 (10 digits, so
	// ±5e-11).
	got, err = TheoreticalNoise(trapObs)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(got-trapSigma) >= 5e-8 {
		t.Errorf("sigma_th = %.17g, differs from TraP's %.17g at 7 places", got, trapSigma)
	}
	if math.Abs(got-0.0159015475) > 5e-11 {
		t.Errorf("sigma_th = %.12g, want 0.0159015475 (SPEC 3.3, CODATA 2018)", got)
	}
}

// TestHBAStationAreas is TraP's test_telescope/lofar/test_noise (SPEC 10.3
// item 8): A_dipole × 16 × {24, 48, 96} within 3 m² of the table.
func TestHBAStationAreas(t *testing.T) {
	want := []struct {
		mhz float64
		a   [3]float64 // core, remote, international, m²
	}{
		{120, [3]float64{600, 1200, 2400}},
		{150, [3]float64{512, 1024, 2048}},
		{180, [3]float64{356, 711, 1422}},
		{200, [3]float64{288, 576, 1152}},
		{210, [3]float64{261, 522, 1045}},
		{240, [3]float64{200, 400, 800}},
	}
	for _, w := range want {
		for st := Core; st <= International; st++ {
			got, err := StationArea(st, "HBA", w.mhz*1e6)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-w.a[st]) > 3 { // TraP's tolerance
				t.Errorf("%g MHz %s: area %.2f m², want %g ± 3", w.mhz, st, got, w.a[st])
			}
		}
	}
}

func TestDipoleArea(t *testing.T) {
	lambda := func(f float64) float64 { return SpeedOfLight / f }
	cases := []struct {
		name    string
		freq, d float64
		want    float64
	}{
		// 30 MHz: λ²/3 = 33.3 m² > π 2.55²/4 = 5.107 m²: spacing-limited.
		{"LBA dense", 30e6, 2.55, math.Pi * 2.55 * 2.55 / 4},
		// 66 MHz: π 27.04²/4 is huge, so λ²/3.
		{"LBA sparse", 66e6, 27.04, lambda(66e6) * lambda(66e6) / 3},
		// d missing: TraP takes 1 m.
		{"LBA no d", 30e6, 0, math.Pi / 4},
		// 150 MHz: λ = 2 m <= 3 m is an HBA dipole, λ²/3 = 1.33 < 1.5625.
		{"HBA high", 150e6, 0, lambda(150e6) * lambda(150e6) / 3},
		// 110 MHz: λ²/3 = 2.48 > 1.5625.
		{"HBA low", 110e6, 0, 1.5625},
	}
	for _, c := range cases {
		// Same operations in a different order: a few ulps.
		if got := DipoleArea(c.freq, c.d); !testutil.Close(got, c.want, 0, 1e-14) {
			t.Errorf("%s: DipoleArea(%g, %g) = %.17g, want %.17g", c.name, c.freq, c.d, got, c.want)
		}
	}
}

func TestSEFDInstrumentTemperature(t *testing.T) {
	const area = 100.0
	tsky := func(f float64) float64 { return 60 * math.Pow(SpeedOfLight/f, 2.55) }
	cases := []struct {
		freq, tinst float64
	}{
		{55e6, 0.9 * tsky(55e6)},              // a knot
		{45e6, (0.7 + 0.85) / 2 * tsky(45e6)}, // halfway 40-50 MHz
		{100e6, 0},                            // flat zero 90-110 MHz
		{115e6, 100},                          // halfway 0 -> 200 K
		{250e6, 200},                          // flat 200 K
		{85e6, 0.15 * tsky(85e6)},             // halfway 0.3 -> 0
		{300e6, 200},                          // last knot
		{5e6, 0.05 * tsky(5e6)},               // halfway 0 -> 0.1
		{72.5e6, (0.6 - (0.6-0.3)*2.5/10) * tsky(72.5e6)}, // a quarter 70-80 MHz
		{65e6, (0.85 + 0.6) / 2 * tsky(65e6)},             // halfway 60-70 MHz
		{57.5e6, (0.9 + 0.85) / 2 * tsky(57.5e6)},         // halfway 55-60 MHz
		{52.5e6, (0.85 + 0.9) / 2 * tsky(52.5e6)},         // halfway 50-55 MHz
		{25e6, (0.1 + (0.7-0.1)*15/30) * tsky(25e6)},      // halfway 10-40 MHz
		{117.5e6, 150}, // three quarters 110-120 MHz
	}
	for _, c := range cases {
		want := 2 * Boltzmann / area * (tsky(c.freq) + c.tinst) * 1e26
		// Interpolation arithmetic differs from the closed forms above by
		// rounding only.
		if got := SEFD(c.freq, area); !testutil.Close(got, want, 0, 1e-12) {
			t.Errorf("SEFD(%g Hz) = %.17g, want %.17g", c.freq, got, want)
		}
	}
	for _, f := range []float64{0, -1, 300.0001e6, math.NaN()} {
		if got := SEFD(f, area); !math.IsNaN(got) {
			t.Errorf("SEFD(%g Hz) = %g, want NaN outside (0, 300 MHz]", f, got)
		}
	}
}

// TestRemoteRemoteTerm checks the fix of SPEC 11 quirk 1 where it
// matters: HBA remote stations have twice the core area, so S_r = S_c/2.
func TestRemoteRemoteTerm(t *testing.T) {
	obs := Observation{Freq: 150e6, Bandwidth: 195312.5, Time: 11, AntennaSet: "HBA_DUAL"}

	// Remote stations only: the radiometer equation for N identical
	// stations, σ = S_r / sqrt(2 B t N(N−1)).
	obs.Stations = Stations{Core: 0, Remote: 10, Intl: 0}
	ar, _ := StationArea(Remote, obs.AntennaSet, obs.Freq)
	sr := SEFD(obs.Freq, ar)
	got, err := TheoreticalNoise(obs)
	if err != nil {
		t.Fatal(err)
	}
	want := sr / math.Sqrt(2*obs.Bandwidth*obs.Time*10*9)
	if !testutil.Close(got, want, 0, 1e-13) { // rounding only
		t.Errorf("remote-only sigma = %.17g, want %.17g", got, want)
	}

	// Mixed array: every term with its own pair of SEFDs.
	obs.Stations = Stations{Core: 24, Remote: 14, Intl: 0}
	ac, _ := StationArea(Core, obs.AntennaSet, obs.Freq)
	sc := SEFD(obs.Freq, ac)
	fixed := 1 / math.Sqrt(4*obs.Bandwidth*obs.Time*(276/(sc*sc)+91/(sr*sr)+336/(sc*sr)))
	quirk := 1 / math.Sqrt(4*obs.Bandwidth*obs.Time*(276/(sc*sc)+91/(sr*sc)+336/(sc*sr)))
	got, err = TheoreticalNoise(obs)
	if err != nil {
		t.Fatal(err)
	}
	if !testutil.Close(got, fixed, 0, 1e-13) { // rounding only
		t.Errorf("mixed sigma = %.17g, want %.17g (n_rr/S_r²)", got, fixed)
	}
	if testutil.Close(got, quirk, 0, 1e-3) {
		t.Errorf("mixed sigma = %.17g is TraP's n_rr/(S_r S_c) value %.17g", got, quirk)
	}
}

func TestTheoreticalNoiseErrors(t *testing.T) {
	base := trapObs
	cases := []struct {
		name string
		mod  func(*Observation)
		is   error
	}{
		{"freq 0", func(o *Observation) { o.Freq = 0 }, ErrNoise},
		{"freq 301 MHz", func(o *Observation) { o.Freq = 301e6 }, ErrNoise},
		{"bandwidth 0", func(o *Observation) { o.Bandwidth = 0 }, ErrNoise},
		{"time NaN", func(o *Observation) { o.Time = math.NaN() }, ErrNoise},
		{"time 0", func(o *Observation) { o.Time = 0 }, ErrNoise},
		{"unknown remote", func(o *Observation) { o.Stations.Remote = -1 }, ErrNoise},
		{"one station", func(o *Observation) { o.Stations = Stations{Core: 1} }, ErrNoise},
		{"unknown set", func(o *Observation) { o.AntennaSet = "XBA" }, ErrAntennaSet},
		{"empty set", func(o *Observation) { o.AntennaSet = "" }, ErrAntennaSet},
		{"no intl table", func(o *Observation) { o.AntennaSet = "LBA_SPARSE0"; o.Stations.Intl = 2 }, ErrAntennaSet},
	}
	for _, c := range cases {
		o := base
		c.mod(&o)
		if _, err := TheoreticalNoise(o); !errors.Is(err, c.is) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.is)
		}
	}
	// A set without an international table is fine without international
	// stations; names are matched trimmed and in any case.
	o := base
	o.AntennaSet = " lba_sparse0 "
	if s, err := TheoreticalNoise(o); err != nil || !(s > 0) {
		t.Errorf("LBA_SPARSE0 without international stations: %g, %v", s, err)
	}
}

// TestDipoleTables checks the carried-over tables for typos through the
// structure of the LOFAR LBA field: LBA = INNER then OUTER, X = INNER,
// Y = OUTER, and SPARSE0/1 alternate the INNER and OUTER dipoles; the
// international field has one 96-dipole table for all three sets.
func TestDipoleTables(t *testing.T) {
	for name, tab := range map[string]map[string][]float64{"core": coreDipoleDistances, "remote": remoteDipoleDistances} {
		in, out := tab["LBA_INNER"], tab["LBA_OUTER"]
		if len(in) != 48 || len(out) != 48 {
			t.Fatalf("%s: %d inner, %d outer dipoles, want 48 each", name, len(in), len(out))
		}
		if got := tab["LBA"]; !slices.Equal(got, slices.Concat(in, out)) {
			t.Errorf("%s: LBA is not LBA_INNER followed by LBA_OUTER", name)
		}
		if !slices.Equal(tab["LBA_X"], in) || !slices.Equal(tab["LBA_Y"], out) {
			t.Errorf("%s: LBA_X/LBA_Y differ from LBA_INNER/LBA_OUTER", name)
		}
		s0, s1 := tab["LBA_SPARSE0"], tab["LBA_SPARSE1"]
		if len(s0) != 48 || len(s1) != 48 {
			t.Fatalf("%s: sparse tables have %d, %d dipoles", name, len(s0), len(s1))
		}
		for i := range 48 {
			even, odd := in[i], out[i]
			if i%2 == 1 {
				even, odd = odd, even
			}
			if s0[i] != even || s1[i] != odd {
				t.Errorf("%s: dipole %d: SPARSE0 %g, SPARSE1 %g; inner %g, outer %g", name, i, s0[i], s1[i], in[i], out[i])
			}
		}
	}
	i := intlDipoleDistances
	if len(i["LBA"]) != 96 || !slices.Equal(i["LBA"], i["LBA_INNER"]) || !slices.Equal(i["LBA"], i["LBA_OUTER"]) {
		t.Errorf("international tables: %d dipoles, or LBA/INNER/OUTER differ", len(i["LBA"]))
	}
	if len(coreDipoleDistances) != 7 || len(remoteDipoleDistances) != 7 || len(intlDipoleDistances) != 3 {
		t.Errorf("table sets: %d core, %d remote, %d intl; want 7, 7, 3", len(coreDipoleDistances), len(remoteDipoleDistances), len(intlDipoleDistances))
	}
}
