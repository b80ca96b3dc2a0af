package sim

import (
	"context"
	"math"
	"path/filepath"
	"testing"

	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// genOne generates cfg (from the tiny preset with the settings) into a
// temporary directory and returns it.
func genOne(t *testing.T, set map[string]string) (string, Config) {
	t.Helper()
	cfg := tinyConfig(t)
	for k, v := range set {
		if err := cfg.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if _, err := Generate(context.Background(), cfg, dir, Options{Workers: 2}); err != nil {
		t.Fatal(err)
	}
	return dir, cfg
}

func readImage(t *testing.T, path string) (*kernels.Image, *fitsimg.Meta) {
	t.Helper()
	img, meta, err := fitsimg.Read(path, fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return img, meta
}

// sourceFree are the settings of a data set without sources or bad images.
var sourceFree = map[string]string{
	"steady_density": "0", "variables": "0", "transients": "0", "bad_images": "0",
	"timesteps": "1", "bands": "1",
}

func with(base map[string]string, kv ...string) map[string]string {
	out := map[string]string{}
	for k, v := range base {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[i]] = kv[i+1]
	}
	return out
}

// TestPSFNoise: with noise_psf=lofar the noise autocorrelation of a
// source-free image follows the embedded PSF scaled to the image's beam,
// in the figures of NoiseACF (ρ at 1 and 2 beam FWHM, rms of ρ at 3-6
// FWHM), and not the Gaussian restoring beam's.
//
// Tolerance: the standard error of a sample autocorrelation of N pixels of
// noise with autocorrelation ρ is about sqrt(Σ_Δ ρ(Δ)²/N) (Bartlett's
// formula); the test allows 4 of it. The sample rms of ρ over the 3-6 FWHM
// annulus is inflated by that error in quadrature, so it is compared as
// sqrt(got² − se²).
func TestPSFNoise(t *testing.T) {
	dir, cfg := genOne(t, with(sourceFree, "size", "768", "noise_psf", PSFLOFAR))
	img, meta := readImage(t, filepath.Join(dir, imagePath(0, 0, 0)))
	beam := CheckBeam{meta.BeamPx.SMaj, meta.BeamPx.SMin, meta.BeamPx.Theta}
	got := NoiseACF(img, nil, beam)

	p, err := newPlan(&cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := p.psf[0]
	bm := p.beams[0]
	want := summariseACF(&bm, func(dx, dy int) (float64, bool) { return s.at(float64(dx), float64(dy)), true })
	gauss := summariseACF(&bm, func(dx, dy int) (float64, bool) {
		return math.Exp(-0.5 * (bm.ixx*float64(dx*dx) + 2*bm.ixy*float64(dx*dy) + bm.iyy*float64(dy*dy))), true
	})
	R := int(math.Ceil(s.radius))
	var s2 float64
	for dy := -R; dy <= R; dy++ {
		for dx := -R; dx <= R; dx++ {
			v := s.at(float64(dx), float64(dy))
			s2 += v * v
		}
	}
	se := math.Sqrt(s2 / float64(got.Pixels))
	side := math.Sqrt(math.Max(0, got.SideRMS*got.SideRMS-se*se))
	t.Logf("clipped negative transform %.3f; se %.4f", p.psfNeg[0], se)
	t.Logf("noise: ρ1 %.4f ρ2 %.4f side %.4f (corrected %.4f) min %.4f", got.Rho1, got.Rho2, got.SideRMS, side, got.Min)
	t.Logf("PSF:   ρ1 %.4f ρ2 %.4f side %.4f min %.4f", want.Rho1, want.Rho2, want.SideRMS, want.Min)
	t.Logf("Gauss: ρ1 %.4f ρ2 %.4f side %.4f min %.4f", gauss.Rho1, gauss.Rho2, gauss.SideRMS, gauss.Min)
	for _, c := range []struct {
		name            string
		got, want, away float64
	}{
		{"ρ at 1 FWHM", got.Rho1, want.Rho1, gauss.Rho1},
		{"ρ at 2 FWHM", got.Rho2, want.Rho2, gauss.Rho2},
		{"rms ρ at 3-6 FWHM", side, want.SideRMS, gauss.SideRMS},
	} {
		if math.Abs(c.got-c.want) > 4*se {
			t.Errorf("%s: %.4f, want the PSF's %.4f within %.4f", c.name, c.got, c.want, 4*se)
		}
	}
	// The test can tell the two apart: the real PSF's main lobe has wide
	// shoulders, so ρ at 1 FWHM is twice the Gaussian's.
	if math.Abs(want.Rho1-gauss.Rho1) < 8*se {
		t.Errorf("the PSF's ρ at 1 FWHM %.4f is within 8 se of the Gaussian's %.4f: the test cannot tell them apart", want.Rho1, gauss.Rho1)
	}
	// The rms stays the band's (2%: TestNoiseStatistics, with the wider
	// correlation of the PSF about 3 times the statistical error here).
	if sd := madSigma(pix64(img)); math.Abs(sd/cfg.RmsJy[0]-1) > 0.03 {
		t.Errorf("rms %.5g, want %.5g within 3%%", sd, cfg.RmsJy[0])
	}
}

func pix64(img *kernels.Image) []float64 {
	out := make([]float64, 0, len(img.Pix))
	for _, v := range img.Pix {
		if v == v {
			out = append(out, float64(v))
		}
	}
	return out
}

// TestPBCorrected: with primary_beam and pb_corrected, a source-free
// image's noise rises as 1/PB: the rms in rings around the centre matches
// rms·sqrt(mean of 1/PB² over the ring's pixels), within 5 standard errors
// of a sample rms of n pixels with correlation area A (pixels per
// independent sample, 2π σa σb of the beam): sqrt(A/(2n)).
func TestPBCorrected(t *testing.T) {
	dir, cfg := genOne(t, with(sourceFree, "size", "512", "primary_beam", "true", "pb_corrected", "true", "pb_fwhm_deg", "2"))
	img, meta := readImage(t, filepath.Join(dir, imagePath(0, 0, 0)))
	bp := meta.BeamPx
	area := 2 * math.Pi * bp.SMaj * bp.SMin / (2 * math.Ln2)
	c := &cfg
	cx, cy := float64(c.Width/2), float64(c.Height/2)
	const ringW = 32.0
	var rising []float64
	for r0 := 0.0; r0+ringW <= 256; r0 += ringW {
		var s2, w2 float64
		n := 0
		for y := range c.Height {
			for x := range c.Width {
				r := math.Hypot(float64(x)-cx, float64(y)-cy)
				if r >= r0 && r < r0+ringW {
					v := float64(img.At(x, y))
					s2 += v * v
					sep := math.Asin(r*c.PixelArcsec/3600*deg2rad) * rad2deg
					g := c.pbGain(sep, c.FreqMHz[0])
					w2 += 1 / (g * g)
					n++
				}
			}
		}
		got := math.Sqrt(s2 / float64(n))
		want := c.RmsJy[0] * math.Sqrt(w2/float64(n))
		tol := 5 * math.Sqrt(area/(2*float64(n)))
		t.Logf("ring %3.0f-%3.0f px: rms %.4f, want %.4f (tolerance %.3f)", r0, r0+ringW, got, want, tol)
		if math.Abs(got/want-1) > tol {
			t.Errorf("ring %.0f-%.0f px: rms %.4g, want %.4g within %.1f%%", r0, r0+ringW, got, want, 100*tol)
		}
		rising = append(rising, got)
	}
	if rising[len(rising)-1] < 1.5*rising[0] {
		t.Errorf("noise does not rise to the edges: %v", rising)
	}
}

// TestPBFluxes: the same sky with the primary beam applied (apparent
// image) and corrected: a bright isolated source's fitted peak is
// flux·PB (= apparent_jy) in the first and flux in the second, each
// within 5 times its local noise (rms, and rms/PB when corrected); the
// truth lists pb = exp(-4 ln2 sep²/FWHM²).
func TestPBFluxes(t *testing.T) {
	base := map[string]string{"size": "512", "timesteps": "1", "bands": "1", "variables": "0", "transients": "0",
		"bad_images": "0", "primary_beam": "true", "pb_fwhm_deg": "3", "steady_density": "4", "steady_flux_min": "1"}
	type meas struct{ peak, flux, pb, app, snr float64 }
	runs := map[string]map[string]meas{}
	var cfg Config
	for _, corr := range []string{"false", "true"} {
		dir, c := genOne(t, with(base, "pb_corrected", corr))
		cfg = c
		img, meta := readImage(t, filepath.Join(dir, imagePath(0, 0, 0)))
		bm := beamFromAxes(meta.BeamPx.SMaj, meta.BeamPx.SMin, meta.BeamPx.Theta)
		rows := testutil.ReadCSV(t, filepath.Join(dir, "truth", "fluxes.csv"))
		runs[corr] = map[string]meas{}
		for _, f := range rows {
			x, y := num(t, f["x"]), num(t, f["y"])
			if x < 20 || y < 20 || x > 491 || y > 491 || num(t, f["snr"]) < 20 {
				continue
			}
			iso := true
			for _, o := range rows {
				if o["source_id"] != f["source_id"] && math.Hypot(num(t, o["x"])-x, num(t, o["y"])-y) < 8*bm.a {
					iso = false
				}
			}
			if !iso {
				continue
			}
			a, _, _ := fitPoint(t, img, &bm, x, y)
			runs[corr][f["source_id"]] = meas{a, num(t, f["flux_jy"]), num(t, f["pb"]), num(t, f["apparent_jy"]), num(t, f["snr"])}
			if p := num(t, f["peak_jy"]); (corr == "true" && p != num(t, f["flux_jy"])) || (corr == "false" && p != num(t, f["apparent_jy"])) {
				t.Errorf("pb_corrected=%s source %s: peak_jy %s, flux_jy %s, apparent_jy %s", corr, f["source_id"], f["peak_jy"], f["flux_jy"], f["apparent_jy"])
			}
		}
	}
	rms := cfg.RmsJy[0]
	n := 0
	for id, a := range runs["false"] {
		b, ok := runs["true"][id]
		if !ok {
			t.Fatalf("source %s measured in one image only", id)
		}
		if math.Abs(a.app-a.flux*a.pb) > 1e-6*a.flux || a.pb >= 1 || a.pb <= 0 {
			t.Errorf("source %s: apparent %g, flux %g x pb %g", id, a.app, a.flux, a.pb)
		}
		if math.Abs(a.peak-a.flux*a.pb) > 5*rms {
			t.Errorf("source %s apparent image: peak %.4f, want flux x PB %.4f within 5 rms (%.4f)", id, a.peak, a.flux*a.pb, 5*rms)
		}
		if math.Abs(b.peak-b.flux) > 5*rms/b.pb {
			t.Errorf("source %s corrected image: peak %.4f, want flux %.4f within 5 rms/PB (%.4f)", id, b.peak, b.flux, 5*rms/b.pb)
		}
		n++
	}
	if n < 5 {
		t.Fatalf("only %d bright isolated sources; the test needs 5", n)
	}
	t.Logf("%d sources", n)
}

// TestExtendedSources: resolved sources are painted as the intrinsic
// Gaussian convolved with the beam. In a nearly noiseless image (rms
// 1e-7 Jy) the second moments of each isolated resolved source's pixels
// give the convolved covariance (intrinsic + beam, from sources.csv and
// the header) within 2% (sampling a Gaussian of σ >= 1.4 px at pixel
// centres and cutting it at 5σ bias the moments by < 0.5%), and the sum of
// its pixels over the beam area (2π σa σb) gives flux_jy within 1%.
func TestExtendedSources(t *testing.T) {
	dir, cfg := genOne(t, map[string]string{"size": "512", "timesteps": "1", "bands": "1", "variables": "0", "transients": "0",
		"bad_images": "0", "rms_jy": "1e-7", "steady_density": "2", "steady_flux_min": "1", "extended_frac": "1",
		"ext_min_arcsec": "150", "ext_max_arcsec": "400"})
	img, meta := readImage(t, filepath.Join(dir, imagePath(0, 0, 0)))
	bm := beamFromAxes(meta.BeamPx.SMaj, meta.BeamPx.SMin, meta.BeamPx.Theta)
	srcs := map[string]map[string]string{}
	for _, s := range testutil.ReadCSV(t, filepath.Join(dir, "truth", "sources.csv")) {
		srcs[s["source_id"]] = s
	}
	rows := testutil.ReadCSV(t, filepath.Join(dir, "truth", "fluxes.csv"))
	pixDeg := cfg.PixelArcsec / 3600
	n := 0
	for _, f := range rows {
		s := srcs[f["source_id"]]
		maj := num(t, s["maj_arcsec"])
		if maj == 0 {
			t.Errorf("source %s is not resolved with extended_frac=1", f["source_id"])
			continue
		}
		in := newPixBeam(maj/3600, num(t, s["min_arcsec"])/3600, num(t, s["pa_deg"]), pixDeg)
		conv, k := convolve(&bm, &in)
		x0, y0 := num(t, f["x"]), num(t, f["y"])
		R := 5 * math.Sqrt(math.Max(conv.sxx, conv.syy))
		if x0 < R || y0 < R || x0 > 511-R || y0 > 511-R {
			continue
		}
		iso := true
		for _, o := range rows {
			if o["source_id"] != f["source_id"] && math.Hypot(num(t, o["x"])-x0, num(t, o["y"])-y0) < 2*R {
				iso = false
			}
		}
		if !iso {
			continue
		}
		// 1e-4: sizes are printed to 0.001".
		if p := num(t, f["peak_jy"]); math.Abs(p-k*num(t, f["flux_jy"])) > 1e-4*p {
			t.Errorf("source %s: peak_jy %g, want flux x %.4f", f["source_id"], p, k)
		}
		var sw, sx, sy, sxx, sxy, syy float64
		for y := int(y0 - R); y <= int(y0+R); y++ {
			for x := int(x0 - R); x <= int(x0+R); x++ {
				v := float64(img.At(x, y))
				dx, dy := float64(x)-x0, float64(y)-y0
				sw += v
				sx += v * dx
				sy += v * dy
				sxx += v * dx * dx
				sxy += v * dx * dy
				syy += v * dy * dy
			}
		}
		mx, my := sx/sw, sy/sw
		cxx, cxy, cyy := sxx/sw-mx*mx, sxy/sw-mx*my, syy/sw-my*my
		area := 2 * math.Pi * math.Sqrt(bm.sxx*bm.syy-bm.sxy*bm.sxy)
		flux := sw / area
		t.Logf("source %s: intrinsic %s\"x%s\" PA %s; moments (%.2f %.2f %.2f) want (%.2f %.2f %.2f); flux %.4f want %s",
			f["source_id"], s["maj_arcsec"], s["min_arcsec"], s["pa_deg"], cxx, cxy, cyy, conv.sxx, conv.sxy, conv.syy, flux, f["flux_jy"])
		scale := math.Sqrt(conv.sxx * conv.syy)
		if math.Abs(cxx/conv.sxx-1) > 0.02 || math.Abs(cyy/conv.syy-1) > 0.02 || math.Abs(cxy-conv.sxy) > 0.02*scale {
			t.Errorf("source %s: second moments (%.3f, %.3f, %.3f), want intrinsic + beam (%.3f, %.3f, %.3f) within 2%%",
				f["source_id"], cxx, cxy, cyy, conv.sxx, conv.sxy, conv.syy)
		}
		if want := num(t, f["flux_jy"]); math.Abs(flux/want-1) > 0.01 {
			t.Errorf("source %s: integrated flux %.5f, want %.5f within 1%%", f["source_id"], flux, want)
		}
		n++
	}
	if n < 3 {
		t.Fatalf("%d isolated resolved sources; the test needs 3", n)
	}
}

// TestArtefactsNearBrightOnly: the sidelobe residuals and artefacts are
// the difference between the same data set with and without them (same
// seed: same noise and sources). That difference is zero farther than the
// PSF's and the artefacts' extent from every source flagged bright in
// fluxes.csv (or bright just outside the image, from the plan), non-zero
// near each of them, and the flags are exactly the sources with snr >=
// bright_snr.
func TestArtefactsNearBrightOnly(t *testing.T) {
	base := map[string]string{"size": "384", "timesteps": "2", "bands": "1", "variables": "0", "transients": "0",
		"bad_images": "0", "noise_psf": PSFLOFAR, "bright_snr": "40"}
	on, cfg := genOne(t, with(base, "sidelobe_frac", "0.05", "artefact_frac", "0.02"))
	off, _ := genOne(t, base)
	p, err := newPlan(&cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	reach := math.Max(p.psf[0].radius, p.artefactRadius(0)) + 2
	rows := testutil.ReadCSV(t, filepath.Join(on, "truth", "fluxes.csv"))
	nBright := 0
	for ts := range cfg.Timesteps {
		rel := imagePath(ts, 0, 0)
		a, _ := readImage(t, filepath.Join(on, rel))
		b, _ := readImage(t, filepath.Join(off, rel))
		var bright [][3]float64 // x, y, apparent peak
		for _, f := range rows {
			if f["image"] != rel {
				continue
			}
			flag := f["artefacts"] == "true"
			if flag != (num(t, f["snr"]) >= 40) {
				t.Errorf("%s source %s: artefacts %s at snr %s", rel, f["source_id"], f["artefacts"], f["snr"])
			}
			if flag {
				bright = append(bright, [3]float64{num(t, f["x"]), num(t, f["y"]), num(t, f["snr"]) * cfg.RmsJy[0]})
			}
		}
		im := &p.images[ts]
		for _, pl := range p.fields[0].placed {
			if tr := p.truthOf(im, &p.sky[pl.src], pl.sep); !pl.inside && tr.bright {
				bright = append(bright, [3]float64{pl.x, pl.y, tr.appPeak})
			}
		}
		nBright += len(bright)
		near := make([]float64, len(bright))
		for y := range cfg.Height {
			for x := range cfg.Width {
				d := math.Abs(float64(a.At(x, y)) - float64(b.At(x, y)))
				if d == 0 {
					continue
				}
				best, bi := math.Inf(1), -1
				for i, q := range bright {
					if r := math.Hypot(float64(x)-q[0], float64(y)-q[1]); r < best {
						best, bi = r, i
					}
				}
				if best > reach {
					t.Fatalf("%s: pixel (%d, %d) changed by %g, %.0f px from the nearest bright source (reach %.0f px)", rel, x, y, d, best, reach)
				}
				near[bi] = math.Max(near[bi], d)
			}
		}
		for i, v := range near {
			if q := bright[i]; q[0] < 0 || q[1] < 0 || q[0] > float64(cfg.Width-1) || q[1] > float64(cfg.Height-1) {
				continue // outside: its artefacts may miss the image
			}
			// The sidelobe residual alone reaches 0.05 x peak x max|PSF -
			// beam| (0.2 within the PSF's first sidelobes): 1% of the peak.
			if v < 0.005*bright[i][2] {
				t.Errorf("%s: bright source at (%.0f, %.0f) of peak %.3g has artefacts of at most %g Jy/beam, want 0.5%% of its peak",
					rel, bright[i][0], bright[i][1], bright[i][2], v)
			}
		}
	}
	if nBright == 0 {
		t.Fatal("no bright source: the test needs one")
	}
	t.Logf("%d bright source images", nBright)
}

// TestRealisticDeterministic: the realistic preset (shrunk) gives
// byte-identical files with 1 and 3 workers.
func TestRealisticDeterministic(t *testing.T) {
	cfg, err := Preset(PresetRealistic)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Width, cfg.Height, cfg.Timesteps, cfg.BadImages, cfg.Beams = 256, 256, 3, 1, 1
	cfg.Variables, cfg.Transients = 3, 3
	var trees []map[string]string
	for _, w := range []int{1, 3} {
		dir := t.TempDir()
		if _, err := Generate(context.Background(), cfg, dir, Options{Workers: w}); err != nil {
			t.Fatal(err)
		}
		trees = append(trees, testutil.HashTree(t, dir))
	}
	if len(trees[0]) != cfg.NumImages()+4 {
		t.Errorf("%d files, want %d", len(trees[0]), cfg.NumImages()+4)
	}
	for k, h := range trees[0] {
		if trees[1][k] != h {
			t.Errorf("%s differs between 1 and 3 workers", k)
		}
	}
}

// TestCountNearBright: hand-made detections on a 100x100 image, beam
// FWHM 4 px (near = 2 to 20 px from a bright one).
func TestCountNearBright(t *testing.T) {
	beam := CheckBeam{SMaj: 2, SMin: 2}
	dets := []Detection{
		{50, 50, 100}, // bright
		{51, 50, 7},   // the bright source itself (< 0.5 FWHM)
		{60, 50, 6},   // near, true
		{50, 65, 6},   // near, false
		{90, 90, 6},   // far
		{10, 10, 6},   // far
	}
	truth := func(i int) bool { return i != 3 }
	got := CountNearBright(dets, truth, 100, 100, beam, 50, 5)
	// The near zone holds π(20² − 2²) ≈ 1244 pixel centres of 10,000, the
	// far zone the rest minus the self disc: 2 far detections predict
	// 2·1244/8744 ≈ 0.28.
	if got.Bright != 1 || got.Near != 2 || got.False != 1 {
		t.Errorf("got %+v, want 1 bright, 2 near, 1 false", got)
	}
	if math.Abs(got.Expected-0.285) > 0.01 {
		t.Errorf("expected %.3f, want about 0.285", got.Expected)
	}
	if n := CountNearBright(dets, nil, 100, 100, beam, 50, 5); n.False != -1 {
		t.Errorf("without truth False = %d, want -1", n.False)
	}
}
