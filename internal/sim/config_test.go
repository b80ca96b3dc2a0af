package sim

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"gotrap/kernels/sphere"
)

func TestPresets(t *testing.T) {
	for _, c := range []struct {
		name   string
		images int
	}{
		{PresetTiny, 16}, {PresetRealistic, 144}, {PresetRSMMini, 144}, {PresetRSM, 3408},
		{PresetAARTFAACMini, 80}, {PresetAARTFAAC, 480},
	} {
		cfg, err := Preset(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if err := cfg.Validate(); err != nil {
			t.Errorf("%s: %v", c.name, err)
		}
		if n := cfg.NumImages(); n != c.images {
			t.Errorf("%s: %d images, want %d", c.name, n, c.images)
		}
	}
	if _, err := Preset("nope"); err == nil {
		t.Error("unknown preset accepted")
	}
	// SPEC 9.2: the RSM per-band rms and 24 images per snapshot.
	rsm, _ := Preset(PresetRSM)
	if !reflect.DeepEqual(rsm.RmsJy, []float64{0.053, 0.038, 0.035, 0.028}) || rsm.Beams*len(rsm.FreqMHz) != 24 || rsm.CadenceS != 900 {
		t.Errorf("rsm preset does not match SPEC 9.2: %+v", rsm)
	}
}

// TestParamsRoundTrip: setting every listed parameter of one config on
// another reproduces it exactly.
func TestParamsRoundTrip(t *testing.T) {
	src, _ := Preset(PresetRSMMini)
	src.Seed = 1<<63 + 12345
	src.PrimaryBeam = true
	src.CentreRA = 0.1 + 0.2 // not a short decimal
	src.FreqMHz = []float64{100.0 / 3, 150}
	src.RmsJy = []float64{1e-3, 7}
	src.SourcesFile = "a b.csv"
	dst, _ := Preset(PresetTiny)
	for _, p := range src.Params() {
		if err := dst.Set(p.Key, p.Value); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(src, dst) {
		t.Errorf("round trip changed the config:\n got %+v\nwant %+v", dst, src)
	}
}

func TestSetErrors(t *testing.T) {
	c, _ := Preset(PresetTiny)
	for _, kv := range [][2]string{
		{"nope", "1"}, {"timesteps", "x"}, {"rms_jy", "1,,2"}, {"pixel_arcsec", "NaN"},
		{"bands", "3"}, {"primary_beam", "maybe"}, {"start", "yesterday"}, {"seed", "-1"},
	} {
		if err := c.Set(kv[0], kv[1]); err == nil {
			t.Errorf("Set(%q, %q) accepted", kv[0], kv[1])
		}
	}
	if err := c.Set("bands", "1"); err != nil || len(c.FreqMHz) != 1 || len(c.RmsJy) != 1 {
		t.Errorf("bands=1: %v, %v %v", err, c.FreqMHz, c.RmsJy)
	}
	for _, kv := range [][2]string{
		{"timesteps", "0"}, {"beams", "8"}, {"freqs_mhz", "120,130,140"}, {"bmin_arcsec", "200"},
		{"mod_index_max", "1"}, {"bad_images", "100"}, {"size", "4"},
	} {
		c, _ := Preset(PresetTiny)
		if err := c.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(); err == nil {
			t.Errorf("%s=%s validated", kv[0], kv[1])
		}
	}
}

// testPlan builds the plan of a preset with a few changes, without images.
func testPlan(t *testing.T, preset string, set map[string]string) *plan {
	t.Helper()
	c, err := Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range set {
		if err := c.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	p, err := newPlan(&c, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSkyRSM checks the sky of the rsm preset: fluxes follow the power-law
// counts, every variable and transient lies wholly inside some image and
// some lie in two (the overlaps of neighbouring fields), transients start
// after the first snapshot, and variables have the modulation index drawn.
func TestSkyRSM(t *testing.T) {
	p := testPlan(t, PresetRSM, nil)
	c := &p.cfg
	inside := make([]int, len(p.sky))
	for _, f := range p.fields {
		for _, pl := range f.placed {
			if pl.inside {
				inside[pl.src]++
			}
		}
	}
	var steady, bright, multi int
	for i, s := range p.sky {
		switch s.Class {
		case Steady:
			steady++
			if s.Flux > 10*c.SteadyFluxMin {
				bright++
			}
		case Variable, Transient:
			if inside[i] == 0 {
				t.Errorf("%v %d lies in no image", s.Class, s.ID)
			}
			if inside[i] > 1 {
				multi++
			}
		}
		if s.Class == Transient && (s.Onset < 1 || (s.End >= 0 && s.End <= s.Onset)) {
			t.Errorf("transient %d: window [%d, %d)", s.ID, s.Onset, s.End)
		}
		if s.Class == Variable {
			// Rescaled to the drawn index unless clipped at zero flux.
			if s.ModIndex < c.ModIndexMin-1e-9 || s.ModIndex > c.ModIndexMax+1e-9 {
				t.Errorf("variable %d: modulation index %g outside [%g, %g]", s.ID, s.ModIndex, c.ModIndexMin, c.ModIndexMax)
			}
			if m, _ := meanSD(s.LC); math.Abs(m-1) > 0.05 {
				t.Errorf("variable %d: mean multiplier %g, want 1", s.ID, m)
			}
		}
	}
	// N(>10 Smin)/N = (10^-γ - r)/(1 - r), r = (Smin/Smax)^γ; binomial
	// standard deviation sqrt(f(1-f)/N) ≈ 0.007 for ~2500 sources: 4σ.
	r := math.Pow(c.SteadyFluxMin/c.SteadyFluxMax, c.CountSlope)
	want := (math.Pow(10, -c.CountSlope) - r) / (1 - r)
	got := float64(bright) / float64(steady)
	sd := math.Sqrt(want * (1 - want) / float64(steady))
	t.Logf("%d steady sources, fraction above 10 Smin %.4f (want %.4f ± %.4f); %d targets in 2+ images", steady, got, want, sd, multi)
	if math.Abs(got-want) > 4*sd {
		t.Errorf("fraction of steady sources above 10 Smin %.4f, want %.4f ± %.4f", got, want, 4*sd)
	}
	if multi == 0 {
		t.Error("no variable or transient lies in two fields: overlaps are not covered")
	}
	// Density: steady sources per square degree of sky covered, roughly
	// the configured one (the union of fields with margins is what is
	// kept; count only those inside images against the image area).
	if steady < 1000 {
		t.Errorf("only %d steady sources over six 50 deg² fields at %g per deg²", steady, c.SteadyDensity)
	}
}

// TestVariableCurves: each shape is rescaled to mean 1 and the requested
// modulation index (TraP's V, N-1 standard deviation over mean).
func TestVariableCurves(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 0))
	for _, shape := range []string{CurveSine, CurveWalk, CurveFlare} {
		for _, T := range []int{2, 6, 142} {
			lc := variableCurve(rng, shape, T, 0.3)
			mean, sd := meanSD(lc)
			clipped := false
			for _, v := range lc {
				if v == 0 {
					clipped = true
				}
			}
			if clipped {
				continue
			}
			if math.Abs(mean-1) > 1e-12 || math.Abs(sd-0.3) > 1e-12 {
				t.Errorf("%s T=%d: mean %g sd %g, want 1 and 0.3", shape, T, mean, sd)
			}
		}
	}
	if lc := variableCurve(rng, CurveSine, 1, 0.3); len(lc) != 1 || lc[0] != 1 {
		t.Errorf("one timestep: %v, want [1]", lc)
	}
}

func TestTransientWindow(t *testing.T) {
	for _, c := range []struct {
		T                  int
		u1, u2, u3         float64
		wantOnset, wantEnd int
		single, off        float64
		max                int
	}{
		{8, 0, 0.1, 0, 1, 2, 0.3, 0.5, 0},        // single snapshot at the first allowed step
		{8, 0.999, 0.1, 0, 7, 8, 0.3, 0.5, 0},    // single at the last
		{8, 0.5, 0.5, 0, 4, 6, 0.3, 0.5, 0},      // switches off after 2
		{8, 0.5, 0.5, 0.999, 4, 8, 0.3, 0.5, 0},  // on to the end
		{8, 0.5, 0.9, 0, 4, -1, 0.3, 0.5, 0},     // stays on
		{1, 0.5, 0.9, 0, 0, -1, 0.3, 0.5, 0},     // one timestep: on from 0
		{20, 0, 0.5, 0.999, 1, 4, 0, 1, 3},       // at most 3 snapshots
		{20, 0, 0.5, 0, 1, 3, 0, 1, 3},           // at least 2
		{20, 0.999, 0.5, 0.999, 19, -1, 0, 1, 3}, // the last step alone: stays on
	} {
		on, end := transientWindow(c.T, c.u1, c.u2, c.u3, c.single, c.off, c.max)
		if on != c.wantOnset || end != c.wantEnd {
			t.Errorf("%+v: got [%d, %d)", c, on, end)
		}
	}
}

func TestReadSources(t *testing.T) {
	in := `# user sources
RA, Dec, flux_jy, spectral_index, onset_step, end_step, note
10.5, 52, 1.5, -0.7, , , a steady one
-10, -30, 2, , 3, 5, "a transient, quoted"
370, 10, 0.5
`
	got, err := ReadSources(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Source{
		{RA: 10.5, Dec: 52, Flux: 1.5, Alpha: -0.7, Onset: -1, End: -1},
		{RA: 350, Dec: -30, Flux: 2, Onset: 3, End: 5},
		{RA: 10, Dec: 10, Flux: 0.5, Onset: -1, End: -1},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	for _, bad := range []string{
		"", "ra,dec\n1,2\n", "ra,dec,flux_jy\n1,2,x\n", "ra,dec,flux_jy\n1,95,1\n",
		"ra,dec,flux_jy,onset_step,end_step\n1,2,1,4,3\n", "ra,dec,flux_jy,onset_step\n1,2,1,-2\n",
	} {
		if _, err := ReadSources(strings.NewReader(bad)); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// TestUserSources: user sources join the sky with their own class and
// fluxes and appear in the images that contain them.
func TestUserSources(t *testing.T) {
	c, _ := Preset(PresetTiny)
	user := []Source{
		{RA: 150, Dec: 52.91, Flux: 5, Alpha: 0, Onset: -1, End: -1},
		{RA: 150.2, Dec: 53.0, Flux: 3, Onset: 2, End: 4},
	}
	p, err := newPlan(&c, user)
	if err != nil {
		t.Fatal(err)
	}
	n := len(p.sky)
	a, b := p.sky[n-2], p.sky[n-1]
	if !a.User || a.Class != Steady || b.Class != Transient || b.Onset != 2 || b.End != 4 || a.ID != n-1 || b.ID != n {
		t.Errorf("user sources: %+v %+v", a, b)
	}
	if got := b.FluxAt(3, 150, 150); got != 3 {
		t.Errorf("transient flux on = %g, want 3", got)
	}
	if got := b.FluxAt(4, 150, 150); got != 0 {
		t.Errorf("transient flux off = %g, want 0", got)
	}
	// The first is at the pointing: pixel (W/2, H/2) (SPEC 0.1 centre).
	for _, pl := range p.fields[0].placed {
		if pl.src == n-2 && (math.Abs(pl.x-float64(c.Width/2)) > 1e-9 || math.Abs(pl.y-float64(c.Height/2)) > 1e-9) {
			t.Errorf("source at the pointing placed at (%g, %g)", pl.x, pl.y)
		}
	}
	c.Timesteps = 3
	if _, err := newPlan(&c, user); err == nil {
		t.Error("user transient beyond the last timestep accepted")
	}
}

// TestPointings: the ring beams are BeamSepDeg from the centre and 60°
// apart, so neighbours are BeamSepDeg apart too (a hexagon).
func TestPointings(t *testing.T) {
	pts := pointings(7, 359, 52.91, 5)
	if pts[0] != [2]float64{359, 52.91} {
		t.Errorf("centre %v", pts[0])
	}
	for i := 1; i < 7; i++ {
		// offset and angSep are exact spherical formulas; 1e-9 deg is
		// float64 rounding through trigonometry.
		if d := sphere.Sep(359, 52.91, pts[i][0], pts[i][1]); math.Abs(d-5) > 1e-9 {
			t.Errorf("beam %d at %g deg from the centre", i, d)
		}
		j := i%6 + 1
		if d := sphere.Sep(pts[i][0], pts[i][1], pts[j][0], pts[j][1]); math.Abs(d-5) > 0.05 {
			t.Errorf("beams %d and %d %g deg apart, want ~5 (spherical hexagon)", i, j, d)
		}
		if pts[i][0] < 0 || pts[i][0] >= 360 {
			t.Errorf("beam %d RA %g not in [0, 360)", i, pts[i][0])
		}
	}
}
