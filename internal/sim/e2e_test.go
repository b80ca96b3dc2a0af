package sim

import (
	"context"
	"gotrap/internal/testutil"
	"math"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/kernels"
)

func num(t *testing.T, s string) float64 {
	t.Helper()
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return f
}

// TestSourceFreeImageFile is the acceptance test on a written file: a
// source-free 1024x1024 image read back with fitsimg has the rms of
// images.csv within 2%, and its noise autocorrelation matches the beam of
// its own header (BMAJ/BMIN/BPA converted by SPEC 0.3) within 10%: ρ(Δ) =
// exp(-½ΔᵀΣ⁻¹Δ) with Σ the restoring beam's covariance (see
// TestNoiseStatistics for why this and not the √2-wider convolution).
func TestSourceFreeImageFile(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Seed = 5
	t.Logf("seed %d", cfg.Seed)
	for k, v := range map[string]string{
		"steady_density": "0", "variables": "0", "transients": "0", "bad_images": "0",
		"size": "1024", "timesteps": "1", "bands": "1",
	} {
		if err := cfg.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	if _, err := Generate(context.Background(), cfg, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	rows := testutil.ReadCSV(t, filepath.Join(dir, "truth", "images.csv"))
	if len(rows) != 1 {
		t.Fatalf("%d images, want 1", len(rows))
	}
	img, meta, err := fitsimg.Read(filepath.Join(dir, rows[0]["image"]), fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := num(t, rows[0]["rms_jy"])
	const r = 14
	rho, sd := autocorr(img, r)
	// 2%: see TestNoiseStatistics (the statistical error is 0.6% here).
	if math.Abs(sd/want-1) > 0.02 {
		t.Errorf("rms %.5g, want %.5g within 2%%", sd, want)
	}
	got := fitGaussianShape(t, rho, r, 0.25)
	bp := meta.BeamPx
	t.Logf("header beam a=%.3f b=%.3f θ=%.1f°; noise a=%.3f b=%.3f θ=%.1f°; rms %.5g (want %.5g)",
		bp.SMaj, bp.SMin, bp.Theta*rad2deg, got.a, got.b, got.theta*rad2deg, sd, want)
	if math.Abs(got.a/bp.SMaj-1) > 0.10 || math.Abs(got.b/bp.SMin-1) > 0.10 {
		t.Errorf("noise autocorrelation semi-axes (%.3f, %.3f) px, want the header beam's (%.3f, %.3f) within 10%%",
			got.a, got.b, bp.SMaj, bp.SMin)
	}
	if d := angleDiff(got.theta, bp.Theta); d > 5*deg2rad {
		t.Errorf("noise autocorrelation angle %.1f°, want %.1f° within 5°", got.theta*rad2deg, bp.Theta*rad2deg)
	}
}

// fitPoint fits A·exp(-½ dᵀΣ⁻¹d), d = (x-x0, y-y0), with the beam's
// shape fixed, to the pixels within the 3σ ellipse around the start
// position, by Gauss-Newton. It returns A, x0, y0.
func fitPoint(t *testing.T, img *kernels.Image, bm *pixBeam, x0, y0 float64) (a, x, y float64) {
	t.Helper()
	x, y = x0, y0
	a = float64(img.At(int(math.Round(x)), int(math.Round(y))))
	hx, hy := paintBox(bm)
	for range 30 {
		var ata [3][3]float64
		var atb [3]float64
		for py := int(y0) - hy; py <= int(y0)+hy; py++ {
			for px := int(x0) - hx; px <= int(x0)+hx; px++ {
				dx0, dy0 := float64(px)-x0, float64(py)-y0
				if bm.ixx*dx0*dx0+2*bm.ixy*dx0*dy0+bm.iyy*dy0*dy0 > 9 {
					continue
				}
				v := float64(img.At(px, py))
				if math.IsNaN(v) {
					t.Fatalf("NaN pixel at (%d, %d)", px, py)
				}
				dx, dy := float64(px)-x, float64(py)-y
				g := math.Exp(-0.5 * (bm.ixx*dx*dx + 2*bm.ixy*dx*dy + bm.iyy*dy*dy))
				j := [3]float64{g, a * g * (bm.ixx*dx + bm.ixy*dy), a * g * (bm.ixy*dx + bm.iyy*dy)}
				res := v - a*g
				for i := range 3 {
					for k := range 3 {
						ata[i][k] += j[i] * j[k]
					}
					atb[i] += j[i] * res
				}
			}
		}
		d, ok := solve3(ata, atb)
		if !ok {
			t.Fatal("singular fit")
		}
		a, x, y = a+d[0], x+d[1], y+d[2]
	}
	return a, x, y
}

// TestRecoverSources: bright isolated sources are found in the pixels
// where the truth tables put them, with the flux they list. The truth
// position is taken from sources.csv (RA, Dec) through the WCS that
// fitsimg reads from each image's header, so the test covers painting,
// headers and truth together. The expected errors of a fit with the
// beam's shape fixed in noise whose correlation is the beam (Fisher
// information, Condon 1997 with correlated noise) are σ(x0) = √Σxx/SNR,
// σ(y0) = √Σyy/SNR and σ(A) = rms; the unweighted fit here is a little
// less efficient, so each error must be within 5 of those σ and their
// root mean square within 2.
func TestRecoverSources(t *testing.T) {
	cfg := tinyConfig(t)
	t.Logf("seed %d", cfg.Seed)
	dir := t.TempDir()
	if _, err := Generate(context.Background(), cfg, dir, Options{}); err != nil {
		t.Fatal(err)
	}
	truth := filepath.Join(dir, "truth")
	srcRows := testutil.ReadCSV(t, filepath.Join(truth, "sources.csv"))
	pos := map[string][2]float64{}
	for _, s := range srcRows {
		pos[s["source_id"]] = [2]float64{num(t, s["ra"]), num(t, s["dec"])}
	}
	bad := map[string]string{}
	for _, im := range testutil.ReadCSV(t, filepath.Join(truth, "images.csv")) {
		bad[im["image"]] = im["bad"]
	}
	byImage := map[string][]map[string]string{}
	var order []string
	for _, f := range testutil.ReadCSV(t, filepath.Join(truth, "fluxes.csv")) {
		if byImage[f["image"]] == nil {
			order = append(order, f["image"])
		}
		byImage[f["image"]] = append(byImage[f["image"]], f)
	}
	var n int
	var sumPull2 float64
	for _, name := range order {
		if bad[name] != "" {
			continue
		}
		img, meta, err := fitsimg.Read(filepath.Join(dir, name), fitsimg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		rms, _ := meta.Header.Float("SIMRMS")
		bm := beamFromAxes(meta.BeamPx.SMaj, meta.BeamPx.SMin, meta.BeamPx.Theta)
		rows := byImage[name]
		for _, f := range rows {
			snr := num(t, f["snr"])
			x, y := num(t, f["x"]), num(t, f["y"])
			if snr < 15 || x < 15 || y < 15 || x > float64(meta.Naxis1)-16 || y > float64(meta.Naxis2)-16 {
				continue
			}
			isolated := true
			for _, o := range rows {
				d := math.Hypot(num(t, o["x"])-x, num(t, o["y"])-y)
				if o["source_id"] != f["source_id"] && d < 6*bm.a && num(t, o["peak_jy"]) > 0.01*num(t, f["peak_jy"]) {
					isolated = false
				}
			}
			if !isolated {
				continue
			}
			p := pos[f["source_id"]]
			tx, ty, err := meta.WCS.SkyToPix(p[0], p[1])
			if err != nil {
				t.Fatal(err)
			}
			// The truth pixel position agrees with the header WCS to the
			// 1e-4 px printed precision of fluxes.csv.
			if math.Abs(tx-x) > 1e-4 || math.Abs(ty-y) > 1e-4 {
				t.Errorf("%s source %s: fluxes.csv (%.4f, %.4f), WCS of the file (%.4f, %.4f)", name, f["source_id"], x, y, tx, ty)
			}
			// Start 0.7 px off so that the fit has to find the source.
			a, fx, fy := fitPoint(t, img, &bm, tx+0.7, ty-0.7)
			peak := num(t, f["peak_jy"])
			pulls := [3]float64{
				(fx - tx) / (math.Sqrt(bm.sxx) / snr),
				(fy - ty) / (math.Sqrt(bm.syy) / snr),
				(a - peak) / rms,
			}
			for i, pl := range pulls {
				if math.Abs(pl) > 5 {
					t.Errorf("%s source %s (SNR %.0f): %s off by %.1fσ (fit x=%.3f y=%.3f A=%.4g; truth %.3f %.3f %.4g)",
						name, f["source_id"], snr, [...]string{"x", "y", "peak"}[i], pl, fx, fy, a, tx, ty, peak)
				}
				sumPull2 += pl * pl
			}
			n++
		}
	}
	if n < 20 {
		t.Fatalf("only %d bright isolated source measurements; the test needs at least 20", n)
	}
	rmsPull := math.Sqrt(sumPull2 / float64(3*n))
	t.Logf("%d source measurements, rms pull %.2f", n, rmsPull)
	if rmsPull > 2 {
		t.Errorf("rms of the normalised errors %.2f, want <= 2", rmsPull)
	}
}

// TestTruthTables checks the truth tables against each other and the
// FITS headers: every image listed and present with the right time,
// frequency and beam; bad images as described; flux rows only for sources
// inside the image; transients off outside their window.
func TestTruthTables(t *testing.T) {
	cfg := tinyConfig(t)
	dir := t.TempDir()
	sum, err := Generate(context.Background(), cfg, dir, Options{Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	truth := filepath.Join(dir, "truth")
	images := testutil.ReadCSV(t, filepath.Join(truth, "images.csv"))
	if len(images) != cfg.NumImages() || sum.Images != len(images) {
		t.Fatalf("%d images listed, %d made, want %d", len(images), sum.Images, cfg.NumImages())
	}
	badSeen := map[string]int{}
	for _, im := range images {
		img, meta, err := fitsimg.Read(filepath.Join(dir, im["image"]), fitsimg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		tm, err := time.Parse(time.RFC3339, im["time"])
		if err != nil || !meta.TauStart.Equal(tm) {
			t.Errorf("%s: DATE-OBS %v, images.csv %q", im["image"], meta.TauStart, im["time"])
		}
		if meta.FreqEff != num(t, im["freq_hz"]) || meta.FreqBW != num(t, im["bandwidth_hz"]) {
			t.Errorf("%s: frequency %g/%g, images.csv %s/%s", im["image"], meta.FreqEff, meta.FreqBW, im["freq_hz"], im["bandwidth_hz"])
		}
		if !meta.LOFAR || meta.TauTime != cfg.TauS || meta.Stokes != "I" {
			t.Errorf("%s: LOFAR %v tau %g stokes %q", im["image"], meta.LOFAR, meta.TauTime, meta.Stokes)
		}
		// Centre (SPEC 0.1) is the pointing, to float rounding of the WCS.
		if math.Abs(meta.CentreRA-num(t, im["pointing_ra"])) > 1e-9 || math.Abs(meta.CentreDec-num(t, im["pointing_dec"])) > 1e-9 {
			t.Errorf("%s: centre (%g, %g), pointing (%s, %s)", im["image"], meta.CentreRA, meta.CentreDec, im["pointing_ra"], im["pointing_dec"])
		}
		nan := 0
		for _, v := range img.Pix {
			if v != v {
				nan++
			}
		}
		ratio := meta.Beam.BMaj / meta.Beam.BMin
		switch b := im["bad"]; b {
		case "":
			if nan != 0 || ratio > 2 {
				t.Errorf("%s: good image has %d NaN and axis ratio %.2f", im["image"], nan, ratio)
			}
		case BadNaNBlock:
			if want := (3 * cfg.Width / 4) * (3 * cfg.Height / 4); nan != want {
				t.Errorf("%s: %d NaN pixels, want %d", im["image"], nan, want)
			}
		case BadBeam:
			if ratio <= 2 {
				t.Errorf("%s: bad beam has axis ratio %.2f, want > 2 (SPEC 3.4)", im["image"], ratio)
			}
		case BadRMS:
			band, _ := meta.Header.Int("SIMBAND")
			want := cfg.RmsJy[band] * cfg.BadRmsFactor
			if r := num(t, im["rms_jy"]); r != want {
				t.Errorf("%s: rms_jy %g, want %g", im["image"], r, want)
			}
			// The sample rms of 256² correlated pixels scatters by ~3%
			// (sqrt(2π σa σb/N)); 10% is > 3σ and far from the good 1/20.
			_, sd := autocorr(img, 0)
			if math.Abs(sd/want-1) > 0.1 {
				t.Errorf("%s: pixel rms %g, want %g", im["image"], sd, want)
			}
		default:
			t.Errorf("%s: unknown bad reason %q", im["image"], b)
		}
		badSeen[im["bad"]]++
	}
	for _, b := range []string{BadNaNBlock, BadRMS, BadBeam} {
		if badSeen[b] != 1 {
			t.Errorf("%d images with %s, want 1", badSeen[b], b)
		}
	}
	for _, b := range []string{BadNaNBlock, BadRMS, BadBeam} {
		if badSeen[b] != 1 {
			t.Errorf("%d images with %s, want 1", badSeen[b], b)
		}
	}

	// Flux rows: sources inside their image only; transients on exactly
	// in [onset_time, end_time); variables' fluxes vary with the
	// modulation index listed.
	srcs := map[string]map[string]string{}
	for _, s := range testutil.ReadCSV(t, filepath.Join(truth, "sources.csv")) {
		srcs[s["source_id"]] = s
	}
	classes := map[string]int{}
	for _, s := range srcs {
		classes[s["class"]]++
	}
	if classes["variable"] != cfg.Variables || classes["transient"] != cfg.Transients || classes["steady"] == 0 {
		t.Errorf("classes %v, want %d variables, %d transients and some steady sources", classes, cfg.Variables, cfg.Transients)
	}
	rows := testutil.ReadCSV(t, filepath.Join(truth, "fluxes.csv"))
	if len(rows) != sum.FluxRows {
		t.Errorf("%d flux rows, summary says %d", len(rows), sum.FluxRows)
	}
	seen := map[string]bool{}
	for _, f := range rows {
		s := srcs[f["source_id"]]
		if s == nil {
			t.Fatalf("flux row for unknown source %s", f["source_id"])
		}
		seen[f["source_id"]] = true
		x, y := num(t, f["x"]), num(t, f["y"])
		if x < -0.5 || y < -0.5 || x >= float64(cfg.Width)-0.5 || y >= float64(cfg.Height)-0.5 {
			t.Errorf("source %s listed in %s at (%g, %g), outside the image", f["source_id"], f["image"], x, y)
		}
		flux := num(t, f["flux_jy"])
		if s["class"] == "transient" {
			on := f["time"] >= s["onset_time"] && (s["end_time"] == "" || f["time"] < s["end_time"])
			if on != (flux > 0) {
				t.Errorf("transient %s at %s: flux %g, window [%s, %s)", f["source_id"], f["time"], flux, s["onset_time"], s["end_time"])
			}
		} else if !(flux > 0) {
			t.Errorf("%s source %s has flux %g in %s", s["class"], f["source_id"], flux, f["image"])
		}
	}
	for id, s := range srcs {
		if (s["class"] != "steady") && !seen[id] {
			t.Errorf("%s %s lies in no image (beams %q)", s["class"], id, s["beams"])
		}
		if seen[id] != (s["beams"] != "") {
			t.Errorf("source %s: beams %q but flux rows %v", id, s["beams"], seen[id])
		}
	}
}
