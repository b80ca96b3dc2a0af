package wcs_test

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"gotrap/internal/wcs"
	"gotrap/kernels/sphere"
)

// grbHeader is the celestial part of GRB120422A-120429.fits (SIN, 5"
// pixels, CRPIX at 0-based 256).
func grbHeader() wcs.MapHeader {
	return wcs.MapHeader{
		"CTYPE1": "RA---SIN", "CTYPE2": "DEC--SIN",
		"CRVAL1": 136.91025, "CRVAL2": 14.01822222,
		"CRPIX1": 257.0, "CRPIX2": 257.0,
		"CDELT1": -0.001388888888889, "CDELT2": 0.001388888888889,
		"CUNIT1": "deg", "CUNIT2": "deg",
	}
}

func with(h wcs.MapHeader, kv ...any) wcs.MapHeader {
	out := wcs.MapHeader{}
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(out, k)
		} else {
			out[k] = kv[i+1]
		}
	}
	return out
}

func mustWCS(t testing.TB, h wcs.Header) *wcs.WCS {
	t.Helper()
	w, err := wcs.FromHeader(h)
	if err != nil {
		t.Fatalf("FromHeader: %v", err)
	}
	return w
}

func TestFromHeaderErrors(t *testing.T) {
	base := grbHeader()
	car := with(base, "CTYPE1", "RA---CAR", "CTYPE2", "DEC--CAR", "CRVAL2", 50.0)
	for _, tc := range []struct {
		name string
		h    wcs.MapHeader
		want string // in the message
	}{
		{"no CRVAL1", with(base, "CRVAL1", nil), "CRVAL1 missing"},
		{"no CRVAL2", with(base, "CRVAL2", nil), "CRVAL2 missing"},
		{"no CRPIX2", with(base, "CRPIX2", nil), "CRPIX2 missing"},
		{"no CDELT1", with(base, "CDELT1", nil), "CDELT1 missing"},
		{"no CTYPE1", with(base, "CTYPE1", nil), "CTYPE1 missing"},
		{"empty CTYPE2", with(base, "CTYPE2", ""), "CTYPE2 missing"},
		{"unknown projection", with(base, "CTYPE1", "RA---XYZ", "CTYPE2", "DEC--XYZ"), `"XYZ" is not supported`},
		{"bad CUNIT", with(base, "CUNIT2", "arcsec"), "CUNIT2"},
		{"mismatched pair", with(base, "CTYPE2", "GLAT-SIN"), "not a longitude/latitude pair"},
		{"two longitudes", with(base, "CTYPE2", "RA---SIN"), "not a longitude/latitude pair"},
		{"different projections", with(base, "CTYPE2", "DEC--TAN"), "different projections"},
		{"spectral axis", with(base, "CTYPE1", "FREQ"), "CTYPE1"},
		{"linear RA", with(base, "CTYPE1", "RA"), "CTYPE1"},
		{"distortion suffix", with(base, "CTYPE1", "RA---TAN-SIP", "CTYPE2", "DEC--TAN-SIP"), "distortion"},
		{"zero CDELT", with(base, "CDELT1", 0.0), "singular"},
		{"singular CD", with(base, "CD1_1", 1.0, "CD1_2", 2.0, "CD2_1", 2.0, "CD2_2", 4.0), "singular"},
		{"string CRVAL", with(base, "CRVAL1", "136.9"), "not a number"},
		{"number CTYPE", with(base, "CTYPE1", int64(5)), "not a string"},
		{"NaN CRPIX", with(base, "CRPIX1", math.NaN()), "not finite"},
		{"dec beyond pole", with(base, "CRVAL2", 95.0), "beyond ±90"},
		{"NCP on the equator", with(base, "CTYPE1", "RA---NCP", "CTYPE2", "DEC--NCP", "CRVAL2", 0.0), "NCP"},
		{"fiducial offset", with(base, "PV1_1", 10.0), "fiducial"},
		{"impossible LONPOLE", with(car, "LONPOLE", 90.0), "LONPOLE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := wcs.FromHeader(tc.h)
			if !errors.Is(err, wcs.ErrNoCelestial) || w != nil {
				t.Fatalf("FromHeader = %v, %v; want nil, ErrNoCelestial", w, err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not mention %q", err, tc.want)
			}
		})
	}
}

func TestFromHeaderAccepts(t *testing.T) {
	base := grbHeader()
	ref := mustWCS(t, base)
	for _, tc := range []struct {
		name string
		h    wcs.MapHeader
	}{
		{"upper-case unit", with(base, "CUNIT1", "DEG", "CUNIT2", " deg ")},
		{"no unit", with(base, "CUNIT1", nil, "CUNIT2", "")},
		{"integer cards", with(base, "CRPIX1", int64(257), "CRPIX2", 257)},
		{"unit PC (AIPS form) as in the real files", with(base, "PC001001", 1.0, "PC002002", 1.0, "PC001002", 0.0)},
		{"unit PC", with(base, "PC1_1", 1.0, "PC2_2", int64(1))},
		{"CROTA on the longitude axis is ignored", with(base, "CROTA1", 30.0)},
		{"zero slant", with(base, "PV2_1", 0.0, "PV2_2", 0.0)},
		{"default LONPOLE and LATPOLE given", with(base, "LONPOLE", 180.0, "LATPOLE", 14.01822222)},
		{"PV1_3 as LONPOLE", with(base, "PV1_3", 180.0, "PV1_2", 90.0)},
		{"CD equal to CDELT", with(base, "CD1_1", -0.001388888888889, "CD2_2", 0.001388888888889, "CDELT1", nil, "CDELT2", nil)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := mustWCS(t, tc.h)
			for _, p := range [][2]float64{{0, 0}, {511, 0}, {256, 256}, {100.25, 480.5}} {
				ra, dec, err := w.PixToSky(p[0], p[1])
				ra0, dec0, _ := ref.PixToSky(p[0], p[1])
				// The same numbers through the same arithmetic: exact.
				if err != nil || ra != ra0 || dec != dec0 {
					t.Errorf("PixToSky(%v) = %v, %v, %v; want %v, %v", p, ra, dec, err, ra0, dec0)
				}
			}
		})
	}
}

// TestReferencePixel checks the 0-based convention on every golden header:
// the pixel CRPIX-1 maps to CRVAL.
func TestReferencePixel(t *testing.T) {
	for _, c := range loadGolden(t) {
		h := c.header(t)
		w := fromGolden(t, &c)
		num := func(k string) float64 {
			switch v := h[k].(type) {
			case int64:
				return float64(v)
			case float64:
				return v
			}
			t.Fatalf("%s: %s is %T", c.Name, k, h[k])
			return 0
		}
		ra0, dec0 := num("CRVAL1"), num("CRVAL2")
		if strings.HasPrefix(h["CTYPE1"].(string), "DEC") {
			ra0, dec0 = dec0, ra0
		}
		if h["CUNIT1"] == "rad" {
			ra0, dec0 = ra0*180/math.Pi, dec0*180/math.Pi
		}
		ra, dec, err := w.PixToSky(num("CRPIX1")-1, num("CRPIX2")-1)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		// Rounding of a rotation and back: ~1e-14 degrees.
		if s := sphere.Sep(ra, dec, math.Mod(ra0+360, 360), dec0); s > 1e-12 {
			t.Errorf("%s: CRPIX-1 -> (%v, %v), want CRVAL (%v, %v)", c.Name, ra, dec, ra0, dec0)
		}
	}
}

// TestPoleNudge: SPEC 0.1 moves a CRVAL2 of exactly 90 degrees (or π/2
// radians) to 90(1-2⁻⁵²), which makes the default LONPOLE 180.
func TestPoleNudge(t *testing.T) {
	h := with(grbHeader(), "CRVAL2", 90.0)
	w := mustWCS(t, h)
	nudged := mustWCS(t, with(h, "CRVAL2", 90*(1-0x1p-52)))
	// In radians: the same header scaled.
	const r = math.Pi / 180
	rad := mustWCS(t, with(h, "CRVAL1", 136.91025*r, "CRVAL2", math.Pi/2,
		"CDELT1", -0.001388888888889*r, "CDELT2", 0.001388888888889*r, "CUNIT1", "rad", "CUNIT2", "rad"))
	// Plain LONPOLE = 0 on the exact pole: what wcslib makes of 90.
	plain := mustWCS(t, with(h, "CRVAL2", 89.999999, "LONPOLE", 0.0))
	for _, p := range [][2]float64{{0, 0}, {300, 20}, {256, 400}} {
		ra, dec, _ := w.PixToSky(p[0], p[1])
		ra1, dec1, _ := nudged.PixToSky(p[0], p[1])
		if ra != ra1 || dec != dec1 {
			t.Errorf("CRVAL2 = 90: PixToSky(%v) = %v, %v; 90(1-eps) gives %v, %v", p, ra, dec, ra1, dec1)
		}
		ra2, dec2, _ := rad.PixToSky(p[0], p[1])
		// Unit conversion rounds CRVAL and CDELT by an ulp: ~1e-13 deg.
		if s := sphere.Sep(ra, dec, ra2, dec2); s > 1e-11 {
			t.Errorf("CRVAL2 = π/2 rad: PixToSky(%v) = %v, %v; want %v, %v", p, ra2, dec2, ra, dec)
		}
		// The nudged pole turns the image by 180 deg about the pole: RA
		// differs by 180 from the LONPOLE = 0 twin, whose reference
		// point sits 1e-6 deg off the pole, which moves RA by ~1e-4 deg
		// half a degree from the pole.
		ra3, _, _ := plain.PixToSky(p[0], p[1])
		if d := math.Abs(math.Mod(ra-ra3+720, 360) - 180); d > 1e-3 {
			t.Errorf("PixToSky(%v): RA %v vs %v with LONPOLE 0: not 180 deg apart", p, ra, ra3)
		}
	}
}

func TestOutsideSky(t *testing.T) {
	sin := mustWCS(t, grbHeader())
	tan := mustWCS(t, with(grbHeader(), "CTYPE1", "RA---TAN", "CTYPE2", "DEC--TAN"))
	car := mustWCS(t, with(grbHeader(), "CTYPE1", "RA---CAR", "CTYPE2", "DEC--CAR", "CDELT1", -1.0, "CDELT2", 1.0))
	nan := math.NaN()
	inf := math.Inf(1)
	// The SIN disc has a radius of 180/π degrees = 41253 pixels of 5".
	for _, tc := range []struct {
		name string
		w    *wcs.WCS
		x, y float64
	}{
		{"beyond the SIN disc", sin, 256 + 42000, 256},
		{"beyond the SIN disc diagonally", sin, 256 - 30000, 256 + 30000},
		{"NaN pixel", sin, nan, 0},
		{"infinite pixel", tan, 0, inf},
		{"beyond CAR's latitude 90", car, 256, 256 + 91},
		{"beyond CAR's longitude 180", car, 256 - 181, 256},
	} {
		ra, dec, err := tc.w.PixToSky(tc.x, tc.y)
		if !errors.Is(err, wcs.ErrOutsideSky) || !math.IsNaN(ra) || !math.IsNaN(dec) {
			t.Errorf("%s: PixToSky(%v, %v) = %v, %v, %v; want NaN, NaN, ErrOutsideSky", tc.name, tc.x, tc.y, ra, dec, err)
		}
	}
	for _, tc := range []struct {
		name    string
		w       *wcs.WCS
		ra, dec float64
	}{
		{"SIN far hemisphere", sin, 136.91025 + 180, -14.0},
		{"TAN far hemisphere", tan, 136.91025 + 180, 0},
		{"TAN beyond the horizon", tan, 136.91025 + 95, 0},
		{"dec beyond 90", sin, 0, 90.5},
		{"NaN dec", sin, 0, nan},
		{"infinite RA", sin, inf, 0},
	} {
		x, y, err := tc.w.SkyToPix(tc.ra, tc.dec)
		if !errors.Is(err, wcs.ErrOutsideSky) || !math.IsNaN(x) || !math.IsNaN(y) {
			t.Errorf("%s: SkyToPix(%v, %v) = %v, %v, %v; want NaN, NaN, ErrOutsideSky", tc.name, tc.ra, tc.dec, x, y, err)
		}
	}
	// Just inside the SIN disc still maps.
	if _, _, err := sin.PixToSky(256+41000, 256); err != nil {
		t.Errorf("inside the SIN disc: %v", err)
	}
}

// TestSwappedAxes: a header with DEC on axis 1 and RA on axis 2 is the
// transpose of the normal one, pixel for pixel.
func TestSwappedAxes(t *testing.T) {
	h := wcs.MapHeader{
		"CTYPE1": "RA---ZEA", "CTYPE2": "DEC--ZEA",
		"CRVAL1": 250.0, "CRVAL2": -61.0, "CRPIX1": 40.0, "CRPIX2": 70.0,
		"CD1_1": -0.05, "CD1_2": 0.01, "CD2_1": 0.02, "CD2_2": 0.04,
	}
	swapped := wcs.MapHeader{
		"CTYPE1": "DEC--ZEA", "CTYPE2": "RA---ZEA",
		"CRVAL1": -61.0, "CRVAL2": 250.0, "CRPIX1": 70.0, "CRPIX2": 40.0,
		"CD1_1": 0.04, "CD1_2": 0.02, "CD2_1": 0.01, "CD2_2": -0.05,
	}
	a, b := mustWCS(t, h), mustWCS(t, swapped)
	rng := rand.New(rand.NewPCG(7, 1))
	for range 100 {
		x, y := rng.Float64()*100, rng.Float64()*100
		ra, dec, err := a.PixToSky(x, y)
		ra2, dec2, err2 := b.PixToSky(y, x)
		// Identical arithmetic after the swap: exact.
		if err != nil || err2 != nil || ra != ra2 || dec != dec2 {
			t.Fatalf("PixToSky(%v, %v) = %v, %v; swapped header gives %v, %v (%v, %v)", x, y, ra, dec, ra2, dec2, err, err2)
		}
	}
}

func TestPixToSkyTo(t *testing.T) {
	w := mustWCS(t, grbHeader())
	x := []float64{0, 256, 511.5, 50000, 3}
	y := []float64{0, 256, 7.25, 256, math.NaN()}
	ra := make([]float64, len(x))
	dec := make([]float64, len(x))
	if n := w.PixToSkyTo(ra, dec, x, y); n != 2 {
		t.Errorf("PixToSkyTo reported %d outside, want 2", n)
	}
	for i := range x {
		r, d, err := w.PixToSky(x[i], y[i])
		if err != nil {
			if !math.IsNaN(ra[i]) || !math.IsNaN(dec[i]) {
				t.Errorf("point %d: outside but got %v, %v", i, ra[i], dec[i])
			}
			continue
		}
		if ra[i] != r || dec[i] != d {
			t.Errorf("point %d: PixToSkyTo %v, %v; PixToSky %v, %v", i, ra[i], dec[i], r, d)
		}
	}
	defer func() {
		if r := recover(); r == nil {
			t.Error("PixToSkyTo with unequal lengths did not panic")
		}
	}()
	w.PixToSkyTo(ra[:1], dec, x, y)
}

func TestMisusePanics(t *testing.T) {
	for name, f := range map[string]func(){
		"nil header": func() { _, _ = wcs.FromHeader(nil) },
		"zero WCS":   func() { var w wcs.WCS; _, _, _ = w.PixToSky(1, 2) },
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "wcs: ") {
					t.Errorf("%s: recovered %v, want a wcs: panic", name, r)
				}
			}()
			f()
		}()
	}
}

func TestNoAllocs(t *testing.T) {
	w := mustWCS(t, grbHeader())
	var sink float64
	if n := testing.AllocsPerRun(100, func() {
		ra, dec, _ := w.PixToSky(10.5, 300)
		x, y, _ := w.SkyToPix(ra, dec)
		_, _, err := w.PixToSky(1e9, 0)
		sink += x + y + float64(len(err.Error()))
	}); n != 0 {
		t.Errorf("PixToSky/SkyToPix allocate %v times per call", n)
	}
	_ = sink
}

// TestConcurrent shares one WCS between goroutines; `go test -race` checks
// that nothing is written.
func TestConcurrent(t *testing.T) {
	w := mustWCS(t, grbHeader())
	want := make([][2]float64, 512)
	for i := range want {
		want[i][0], want[i][1], _ = w.PixToSky(float64(i), float64(511-i))
	}
	var wg sync.WaitGroup
	errs := make(chan string, 4)
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range want {
				ra, dec, _ := w.PixToSky(float64(i), float64(511-i))
				if ra != want[i][0] || dec != want[i][1] {
					errs <- "goroutine result differs"
					return
				}
				_, _, _ = w.SkyToPix(ra+float64(g), dec)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

// benchHeaders are one header per projection, 2048² pixels of 10".
func benchHeaders() map[string]wcs.MapHeader {
	base := wcs.MapHeader{
		"CRVAL1": 136.9, "CRVAL2": 54.0, "CRPIX1": 1024.0, "CRPIX2": 1024.0,
		"CDELT1": -10.0 / 3600, "CDELT2": 10.0 / 3600,
	}
	out := map[string]wcs.MapHeader{}
	for _, p := range []string{"SIN", "TAN", "ARC", "STG", "ZEA", "CAR", "NCP"} {
		out[p] = with(base, "CTYPE1", "RA---"+p, "CTYPE2", "DEC--"+p)
	}
	out["SIN-slant"] = with(out["SIN"], "PV2_1", 0.1, "PV2_2", 0.2)
	out["SIN-CROTA"] = with(out["SIN"], "CROTA2", 12.0)
	return out
}

func benchPixels() (x, y []float64) {
	rng := rand.New(rand.NewPCG(1, 2))
	x = make([]float64, 1024)
	y = make([]float64, 1024)
	for i := range x {
		x[i], y[i] = rng.Float64()*2047, rng.Float64()*2047
	}
	return x, y
}

func BenchmarkPixToSky(b *testing.B) {
	x, y := benchPixels()
	for _, p := range []string{"SIN", "SIN-slant", "SIN-CROTA", "NCP", "TAN", "ARC", "STG", "ZEA", "CAR"} {
		b.Run("proj="+p, func(b *testing.B) {
			w := mustWCS(b, benchHeaders()[p])
			b.SetBytes(16) // one pixel position in: x and y, float64
			b.ReportAllocs()
			var sum float64
			i := 0
			for b.Loop() {
				ra, dec, _ := w.PixToSky(x[i], y[i])
				sum += ra + dec
				i = (i + 1) & 1023
			}
			_ = sum
		})
	}
}

func BenchmarkSkyToPix(b *testing.B) {
	x, y := benchPixels()
	for _, p := range []string{"SIN", "TAN", "CAR"} {
		b.Run("proj="+p, func(b *testing.B) {
			w := mustWCS(b, benchHeaders()[p])
			ra := make([]float64, len(x))
			dec := make([]float64, len(x))
			w.PixToSkyTo(ra, dec, x, y)
			b.SetBytes(16) // one sky position in: ra and dec, float64
			b.ReportAllocs()
			var sum float64
			i := 0
			for b.Loop() {
				px, py, _ := w.SkyToPix(ra[i], dec[i])
				sum += px + py
				i = (i + 1) & 1023
			}
			_ = sum
		})
	}
}
