package qc

import (
	"image"
	"math"
	"strings"
	"testing"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// goodLOFAR returns an Input that passes every check: TraP's noise test
// observation, rms_qc 5 σ_th, a sane beam, a southern field far from the
// A-team, the Sun and Jupiter.
func goodLOFAR(t *testing.T) (Input, float64) {
	t.Helper()
	sigma, err := TheoreticalNoise(trapObs)
	if err != nil {
		t.Fatal(err)
	}
	return Input{
		RMSQC:      5 * sigma,
		Pixels:     PixelStats{N: 100, NaN: 3, Min: -0.2, Max: 1.5},
		Band:       1,
		Beam:       fitsimg.BeamPx{SMaj: 2.84955, SMin: 2.09066, Theta: 1.51427},
		TauStart:   time.Date(2024, 3, 20, 3, 6, 0, 0, time.UTC),
		TauTime:    trapObs.Time,
		FreqEff:    trapObs.Freq,
		FreqBW:     trapObs.Bandwidth,
		CentreRA:   60,
		CentreDec:  -45,
		LOFAR:      true,
		AntennaSet: "LBA_INNER",
		Stations:   trapObs.Stations,
	}, sigma
}

// steadyHistory returns a History whose band holds n values alternating
// mean−sd and mean+sd (population mean and std exactly mean and sd for
// even n).
func steadyHistory(band, n int, mean, sd float64) *History {
	h := NewHistory(n)
	for i := range n {
		h.Add(band, mean+sd*float64(1-2*(i%2)))
	}
	return h
}

// TestCheckOrder starts from an image that fails every check and repairs
// one failure at a time, in SPEC 3.2's order: each step must expose the
// next check, with its reason; switching the failing check off must give
// the same result as repairing it.
func TestCheckOrder(t *testing.T) {
	good, sigma := goodLOFAR(t)
	in := good
	in.Pixels = PixelStats{N: 100, NaN: 80, Min: 0, Max: 0}
	in.TauTime = 0
	in.RMSQC = 200
	in.Beam.SMaj = 40
	in.CentreRA, in.CentreDec = 350.850, 55
	cfg := DefaultConfig()
	cfg.RMSEstMax = 0.5 * good.RMSQC
	hist := steadyHistory(good.Band, cfg.RMSEstHistory, 1, 0.01) // 1 Jy: good.RMSQC is an outlier

	steps := []struct {
		reason Reason
		test   string
		has    string
		off    func(*Config)
		repair func()
	}{
		{ReasonFlat, TestFlat, "flat", func(c *Config) { c.CheckFlat = false }, func() { in.Pixels.Max = 1 }},
		{ReasonNaN, TestNaN, "80 of 100", func(c *Config) { c.CheckNaN = false }, func() { in.Pixels.NaN = 50 }},
		{ReasonTauTime, TestTauTime, "tau_time 0", func(c *Config) { c.CheckTauTime = false }, func() { in.TauTime = good.TauTime }},
		{ReasonRMS, TestNoise, "> 80 x theoretical", func(c *Config) { c.CheckNoise = false }, func() { in.RMSQC = good.RMSQC }},
		{ReasonBeam, TestBeam, "oversampled", func(c *Config) { c.CheckBeam = false }, func() { in.Beam = good.Beam }},
		{ReasonBrightSource, TestBrightSource, "CasA", func(c *Config) { c.CheckBrightSources = false }, func() { in.CentreRA, in.CentreDec = good.CentreRA, good.CentreDec }},
		{ReasonRMS, TestRMSRange, "outside (0, ", func(c *Config) { c.CheckRMSRange = false }, func() { cfg.RMSEstMax = 100 }},
		{ReasonRMS, TestRMSHistory, "accepted images of band 1", func(c *Config) { c.CheckRMSHistory = false }, func() { hist = steadyHistory(good.Band, cfg.RMSEstHistory, good.RMSQC, 0.1*good.RMSQC) }},
	}
	for i, s := range steps {
		res := Check(in, hist, cfg)
		if res.Accepted || res.Reason != s.reason || res.Test != s.test || !strings.Contains(res.Comment, s.has) {
			t.Fatalf("step %d: Check = %+v, want reason %d (%s) test %s with %q", i, res, s.reason, s.reason, s.test, s.has)
		}
		off := cfg
		s.off(&off)
		resOff := Check(in, hist, off)
		s.repair()
		resFixed := Check(in, hist, cfg)
		if resOff.Accepted != resFixed.Accepted || resOff.Test != resFixed.Test || resOff.Reason != resFixed.Reason {
			t.Errorf("step %d: with %s off: %+v; repaired: %+v", i, s.test, resOff, resFixed)
		}
	}
	res := Check(in, hist, cfg)
	if !res.Accepted || res.Test != "" || res.Comment != "" {
		t.Fatalf("repaired image: %+v", res)
	}
	if res.TheoreticalNoise != sigma {
		t.Errorf("Result.TheoreticalNoise = %g, want %g", res.TheoreticalNoise, sigma)
	}
}

// TestCheckLOFAROnly: tau_time, the theoretical noise and bright sources
// apply to LOFAR images only; the beam check applies to all, before the
// rms range for LOFAR images and after it for the others.
func TestCheckLOFAROnly(t *testing.T) {
	good, _ := goodLOFAR(t)
	cfg := DefaultConfig()

	in := good
	in.LOFAR = false
	in.TauTime = 0
	in.Stations = Stations{-1, -1, -1}
	in.AntennaSet = ""
	in.CentreRA, in.CentreDec = 350.850, 58.815 // on CasA
	in.TauStart = time.Time{}
	if res := Check(in, nil, cfg); !res.Accepted || res.TheoreticalNoise != 0 {
		t.Errorf("non-LOFAR image: %+v, want accepted without σ_th", res)
	}

	bad := good
	bad.Beam.SMin = 0.4
	bad.RMSQC = 150 // above rms_est_max and 80 σ_th
	cfg.CheckNoise = false
	if res := Check(bad, nil, cfg); res.Test != TestBeam {
		t.Errorf("LOFAR, bad beam and rms: %+v, want the beam first", res)
	}
	bad.LOFAR = false
	if res := Check(bad, nil, cfg); res.Test != TestRMSRange {
		t.Errorf("non-LOFAR, bad beam and rms: %+v, want the rms range first", res)
	}
	bad.RMSQC = good.RMSQC
	if res := Check(bad, nil, cfg); res.Test != TestBeam || res.Reason != ReasonBeam {
		t.Errorf("non-LOFAR, bad beam: %+v", res)
	}
}

func TestCheckNoiseBoundsAndErrors(t *testing.T) {
	good, sigma := goodLOFAR(t)
	cfg := DefaultConfig()
	cases := []struct {
		name string
		mod  func(*Input)
		ok   bool
		has  string
	}{
		{"rms = 1 σ", func(in *Input) { in.RMSQC = sigma }, true, ""},
		{"rms just below 1 σ", func(in *Input) { in.RMSQC = math.Nextafter(sigma, 0) }, false, "< 1 x theoretical"},
		{"rms = 80 σ", func(in *Input) { in.RMSQC = 80 * sigma }, true, ""},
		{"rms just above 80 σ", func(in *Input) { in.RMSQC = math.Nextafter(80*sigma, math.Inf(1)) }, false, "> 80 x theoretical"},
		{"unknown antenna set", func(in *Input) { in.AntennaSet = "XBA" }, false, "antenna set"},
		{"unknown station count", func(in *Input) { in.Stations.Core = -1 }, false, "core stations is unknown"},
		{"rms NaN", func(in *Input) { in.RMSQC = math.NaN() }, false, "NaN"},
	}
	for _, c := range cases {
		in := good
		c.mod(&in)
		res := Check(in, nil, cfg)
		if res.Accepted != c.ok || !strings.Contains(res.Comment, c.has) || (!c.ok && (res.Reason != ReasonRMS || res.Test != TestNoise)) {
			t.Errorf("%s: %+v, want accepted=%v with %q", c.name, res, c.ok, c.has)
		}
	}
}

func TestReasonString(t *testing.T) {
	want := []string{"RMS invalid", "beam invalid", "bright source near", "tau_time invalid", "contains NaN", "data is flat"}
	for id, w := range want {
		if got := Reason(id).String(); got != w {
			t.Errorf("Reason(%d) = %q, want %q", id, got, w)
		}
	}
	if ReasonRMS != 0 || ReasonBeam != 1 || ReasonBrightSource != 2 || ReasonTauTime != 3 || ReasonNaN != 4 || ReasonFlat != 5 {
		t.Error("reason ids differ from TraP's")
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	bad := []func(*Config){
		func(c *Config) { c.MaxNaNFraction = 1.5 },
		func(c *Config) { c.HighBound = c.LowBound },
		func(c *Config) { c.LowBound = -1 },
		func(c *Config) { c.OversampledX = 0 },
		func(c *Config) { c.EllipticalX = 0.9 },
		func(c *Config) { c.MinSeparation = math.NaN() },
		func(c *Config) { c.RMSEstMax = c.RMSEstMin },
		func(c *Config) { c.RMSEstHistory = 0 },
		func(c *Config) { c.RMSRejSigma = 0 },
		func(c *Config) { c.RMSEstSigma = 0 },
		func(c *Config) { c.RMSEstFraction = 0 },
	}
	for i, mod := range bad {
		c := DefaultConfig()
		mod(&c)
		if c.Validate() == nil {
			t.Errorf("case %d: %+v validated", i, c)
		}
	}
	expectPanic(t, "invalid config", func() {
		c := DefaultConfig()
		c.RMSEstHistory = 0
		Check(Input{}, nil, c)
	})
	expectPanic(t, "shallow history", func() { Check(Input{}, NewHistory(10), DefaultConfig()) })
}

func expectPanic(t *testing.T, name string, f func()) {
	t.Helper()
	defer func() {
		if recover() == nil {
			t.Errorf("%s: no panic", name)
		}
	}()
	f()
}

func TestPrepare(t *testing.T) {
	img, err := kernels.NewImage(image.Rect(0, 0, 64, 48))
	if err != nil {
		t.Fatal(err)
	}
	for i := range img.Pix {
		img.Pix[i] = float32(i%7) - 3
	}
	img.Pix[5] = float32(math.NaN())
	ncore, nremote := 23, 8
	m := &fitsimg.Meta{
		FreqEff: 1.5e8, FreqBW: 2e5, TauTime: 11, TauStart: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), TimeKnown: true,
		BeamPx: fitsimg.BeamPx{SMaj: 3, SMin: 2, Theta: 0.5}, CentreRA: 12, CentreDec: 34,
		LOFAR: true, AntennaSet: "HBA_DUAL", NCore: &ncore, NRemote: &nremote,
	}
	cfg := DefaultConfig()
	var q kernels.QCScratch
	in := Prepare(m, img, cfg, &q)
	wantRMS := new(kernels.QCScratch).RMSQC(img, cfg.RMSEstFraction, cfg.RMSEstSigma)
	if in.RMSQC != wantRMS || !(in.RMSQC > 0) {
		t.Errorf("RMSQC = %g, want kernels.QCScratch.RMSQC %g", in.RMSQC, wantRMS)
	}
	// And the reference twin's to rounding (kernels.TestQCScratchMatchesRef's bound).
	if ref, _ := kernels.RMSQC(img, cfg.RMSEstFraction, cfg.RMSEstSigma, nil); !testutil.Close(in.RMSQC, ref, 0, 1e-13) {
		t.Errorf("RMSQC = %.17g, want kernels.RMSQC %.17g", in.RMSQC, ref)
	}
	want := Input{
		RMSQC: wantRMS, Pixels: PixelStats{N: 64 * 48, NaN: 1, Min: -3, Max: 3},
		Beam: m.BeamPx, TauStart: m.TauStart, TauTime: 11, FreqEff: 1.5e8, FreqBW: 2e5,
		CentreRA: 12, CentreDec: 34, LOFAR: true, AntennaSet: "HBA_DUAL", Stations: Stations{23, 8, -1},
	}
	if in != want {
		t.Errorf("Prepare = %+v\nwant %+v", in, want)
	}
	// PrepareCopy: the same Input, and the pixels copied in the same pass.
	dst := make([]float32, len(img.Pix))
	if got := PrepareCopy(m, img, cfg, &q, dst); got != want {
		t.Errorf("PrepareCopy = %+v\nwant %+v", got, want)
	}
	for i, v := range img.Pix {
		if math.Float32bits(dst[i]) != math.Float32bits(v) {
			t.Fatalf("PrepareCopy's copy of pixel %d is %v, want %v", i, dst[i], v)
		}
	}
	m.TimeKnown = false
	if in = Prepare(m, img, cfg, &q); !in.TauStart.IsZero() {
		t.Errorf("unknown start time became %v", in.TauStart)
	}
}
