package qc

import (
	"image"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/kernels"
)

func TestCheckBeam(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	up := func(x float64) float64 { return math.Nextafter(x, inf) }
	cases := []struct {
		name       string
		a, b, th   float64
		ok         bool
		commentHas string
	}{
		{"Dirty_beam/psf.fits", 2.84955, 2.09066, 1.51427, true, ""},
		{"GRB120422A (a/b 2.2)", 5.42431, 2.46528, 0.0875200, false, "elliptical"},
		{"infinite a", inf, 2, 0, false, "not finite"},
		{"infinite theta", 3, 2, inf, false, "not finite"},
		{"NaN b", 3, nan, 0, false, "not finite"},
		// 2a <= 1 rejects: a = 0.5 is the boundary.
		{"2b = 1", 3, 0.5, 0, false, "undersampled"},
		{"2b just above 1", 0.9, up(0.5), 0, true, ""},
		{"2a = 1", 0.5, 0.5, 0, false, "undersampled"},
		// a > 30 rejects: a = 30 passes.
		{"a = 30", 30, 20, 0, true, ""},
		{"a above 30", up(30), 20, 0, false, "oversampled"},
		{"b above 30", up(30), up(30), 0, false, "oversampled"},
		// a/b > 2 rejects: a/b = 2 passes.
		{"a/b = 2", 4, 2, 1, true, ""},
		{"a/b above 2", up(4), 2, 1, false, "elliptical"},
		// Order: undersampled before oversampled before elliptical.
		{"under and over", 31, 0.4, 0, false, "undersampled"},
		{"over and elliptical", 40, 3, 0, false, "oversampled"},
	}
	for _, c := range cases {
		ok, comment := CheckBeam(fitsimg.BeamPx{SMaj: c.a, SMin: c.b, Theta: c.th}, 30, 2)
		if ok != c.ok || !strings.Contains(comment, c.commentHas) {
			t.Errorf("%s: CheckBeam(%g, %g, %g) = %v %q, want %v with %q", c.name, c.a, c.b, c.th, ok, comment, c.ok, c.commentHas)
		}
	}
}

// guardedImage returns a w×h image inside a buffer with stride w+2 whose
// padding holds values (NaN and a huge value) that Stats must not read.
func guardedImage(w, h int, fill func(x, y int) float32) *kernels.Image {
	stride := w + 2
	pix := make([]float32, stride*h)
	for i := range pix {
		if i%2 == 0 {
			pix[i] = float32(math.NaN())
		} else {
			pix[i] = 1e30
		}
	}
	img := &kernels.Image{Pix: pix, Stride: stride, Rect: image.Rect(3, 5, 3+w, 5+h)}
	for y := range h {
		for x := range w {
			img.Set(3+x, 5+y, fill(x, y))
		}
	}
	return img
}

func TestStatsFlatNaN(t *testing.T) {
	nan := float32(math.NaN())
	cases := []struct {
		name       string
		w, h       int
		fill       func(x, y int) float32
		st         PixelStats
		flat, nanf bool // flat rejects; NaN check (0.5) rejects
	}{
		{"constant", 4, 3, func(x, y int) float32 { return 7 }, PixelStats{12, 0, 7, 7}, true, false},
		{"varied", 4, 3, func(x, y int) float32 { return float32(x - y) }, PixelStats{12, 0, -2, 3}, false, false},
		{"constant with a NaN", 4, 3, func(x, y int) float32 {
			if x == 0 && y == 0 {
				return nan
			}
			return 0
		}, PixelStats{12, 1, 0, 0}, true, false},
		// 6 of 12 NaN: fraction 0.5 is not above 0.5.
		{"half NaN", 4, 3, func(x, y int) float32 {
			if x < 2 {
				return nan
			}
			return float32(x * y)
		}, PixelStats{12, 6, 0, 6}, false, false},
		{"7 of 12 NaN", 4, 3, func(x, y int) float32 {
			if x < 2 || (x == 2 && y == 0) {
				return nan
			}
			return float32(x + y)
		}, PixelStats{12, 7, 3, 5}, false, true},
		{"infinities", 2, 1, func(x, y int) float32 { return float32(math.Inf(2*x - 1)) }, PixelStats{2, 0, math.Inf(-1), math.Inf(1)}, false, true},
		{"one pixel", 1, 1, func(x, y int) float32 { return -3 }, PixelStats{1, 0, -3, -3}, true, false},
	}
	for _, c := range cases {
		st := Stats(guardedImage(c.w, c.h, c.fill))
		if st != c.st {
			t.Errorf("%s: Stats = %+v, want %+v", c.name, st, c.st)
		}
		if ok, _ := CheckFlat(st); ok == c.flat {
			t.Errorf("%s: CheckFlat ok = %v, want %v", c.name, ok, !c.flat)
		}
		if ok, _ := CheckNaN(st, 0.5); ok == c.nanf {
			t.Errorf("%s: CheckNaN ok = %v, want %v", c.name, ok, !c.nanf)
		}
	}
	// All NaN: not flat (no values), but the NaN check rejects it.
	st := Stats(guardedImage(3, 3, func(x, y int) float32 { return nan }))
	if st.N != 9 || st.NaN != 9 || !math.IsNaN(st.Min) || !math.IsNaN(st.Max) {
		t.Errorf("all-NaN Stats = %+v", st)
	}
	if ok, _ := CheckFlat(st); !ok {
		t.Error("all-NaN image rejected as flat")
	}
	if ok, c := CheckNaN(st, 0.5); ok || !strings.Contains(c, "9 of 9") {
		t.Errorf("all-NaN image: CheckNaN = %v %q", ok, c)
	}
	// Empty image.
	st = Stats(&kernels.Image{})
	if ok, _ := CheckNaN(st, 1); ok || st.N != 0 {
		t.Errorf("empty image: Stats %+v, NaN check ok %v", st, ok)
	}
	// TraP's AARTFAAC rule is max fraction 0: one NaN rejects.
	if ok, _ := CheckNaN(PixelStats{N: 100, NaN: 1}, 0); ok {
		t.Error("max_nan_fraction 0 accepted a NaN")
	}
}

func TestScalarChecks(t *testing.T) {
	nan := math.NaN()
	down := func(x float64) float64 { return math.Nextafter(x, math.Inf(-1)) }
	up := func(x float64) float64 { return math.Nextafter(x, math.Inf(1)) }
	for _, c := range []struct {
		tau float64
		ok  bool
	}{{0, false}, {-1, false}, {nan, false}, {1e-9, true}, {11, true}} {
		if ok, _ := CheckTauTime(c.tau); ok != c.ok {
			t.Errorf("CheckTauTime(%g) = %v", c.tau, ok)
		}
	}
	// rms vs theory: the bounds are inclusive (reject only below/above).
	const s = 0.0125
	for _, c := range []struct {
		rms float64
		ok  bool
		has string
	}{
		{s, true, ""}, {down(s), false, "< 1 x theoretical"},
		{80 * s, true, ""}, {up(80 * s), false, "> 80 x theoretical"},
		{nan, false, "NaN"},
	} {
		if ok, comment := CheckNoiseRatio(c.rms, s, 1, 80); ok != c.ok || !strings.Contains(comment, c.has) {
			t.Errorf("CheckNoiseRatio(%g) = %v %q", c.rms, ok, comment)
		}
	}
	// rms range: strict on both sides.
	for _, c := range []struct {
		rms float64
		ok  bool
	}{{0, false}, {5e-324, true}, {-1, false}, {down(100), true}, {100, false}, {nan, false}, {math.Inf(1), false}} {
		if ok, _ := CheckRMSRange(c.rms, 0, 100); ok != c.ok {
			t.Errorf("CheckRMSRange(%g) = %v, want %v", c.rms, ok, c.ok)
		}
	}
}

func TestCheckBrightSources(t *testing.T) {
	when := mustTime(t, "2024-06-20T20:51:00Z")
	const casaRA, casaDec = 350.850, 58.815
	cases := []struct {
		name    string
		ra, dec float64
		ok      bool
		has     string
	}{
		// Along the meridian of CasA the separation is the Dec offset.
		{"9.999° from CasA", casaRA, casaDec - 9.999, false, "CasA"},
		{"10.001° from CasA", casaRA, casaDec - 10.001, true, ""},
		{"on TauA", 83.633, 22.014, false, "TauA"},
		{"near HerA", 252.784 + 5, 4.9925, false, "HerA"},
		{"near VirA", 187.706, 12.391 + 3, false, "VirA"},
		{"near CygA", 299.868, 40.734 - 9, false, "CygA"},
		{"southern sky", 60, -45, true, ""},
		{"NaN centre", math.NaN(), 0, false, "NaN"},
	}
	for _, c := range cases {
		ok, comment := CheckBrightSources(c.ra, c.dec, when, 10)
		if ok != c.ok || !strings.Contains(comment, c.has) {
			t.Errorf("%s: CheckBrightSources = %v %q, want %v with %q", c.name, ok, comment, c.ok, c.has)
		}
	}
	// The Sun and Jupiter move: a field on the Sun's position of today is
	// rejected today and accepted half a year later.
	st := mustTime(t, "2024-03-20T03:06:00Z")
	sra, sdec := Sun(st)
	if ok, c := CheckBrightSources(sra, sdec+5, st, 10); ok || !strings.Contains(c, "Sun") {
		t.Errorf("field 5° from the Sun: %v %q", ok, c)
	}
	if ok, c := CheckBrightSources(sra, sdec+5, st.AddDate(0, 6, 0), 10); !ok {
		t.Errorf("same field half a year later: %v %q", ok, c)
	}
	jt := mustTime(t, "2023-11-03T05:00:00Z") // Jupiter at opposition, far from the Sun
	jra, jdec := Jupiter(jt)
	if ok, c := CheckBrightSources(jra, jdec-3, jt, 10); ok || !strings.Contains(c, "Jupiter") {
		t.Errorf("field 3° from Jupiter: %v %q", ok, c)
	}
	// The nearest offender is named.
	if _, c := CheckBrightSources(casaRA, casaDec-1, when, 180); !strings.HasPrefix(c, "CasA") {
		t.Errorf("min_separation 180: comment %q does not name the nearest source", c)
	}
	// No usable time: TraP's "Invalid ephemeris".
	for _, tt := range []time.Time{{}, time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC)} {
		if ok, c := CheckBrightSources(60, -45, tt, 10); ok || !strings.HasPrefix(c, "Invalid ephemeris") {
			t.Errorf("time %v: %v %q", tt, ok, c)
		}
	}
}

// TestStatsMatchesRef checks Stats against its reference twin statsRef
// on random images of every width 0-9 and a few larger ones, with NaN,
// infinities, signed zeros and ties, and on a sub-image (stride > width).
func TestStatsMatchesRef(t *testing.T) {
	g := rand.New(rand.NewPCG(7, 11))
	specials := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1, -1}
	same := func(a, b float64) bool {
		return math.Float64bits(a) == math.Float64bits(b) || (a != a && b != b)
	}
	for trial := range 400 {
		w, h := trial%10, 1+g.IntN(6)
		if trial%7 == 0 {
			w, h = 37+g.IntN(50), 1+g.IntN(20)
		}
		stride := w + g.IntN(3)
		img := &kernels.Image{Pix: make([]float32, max(0, (h-1)*stride+w)), Stride: stride, Rect: image.Rect(0, 0, w, h)}
		pSpecial := []float64{0, 0.01, 0.2, 1}[trial%4]
		pool := specials
		if trial%3 == 0 {
			pool = specials[3:6] // zeros of both signs and 1: a zero minimum
		}
		for i := range img.Pix {
			if g.Float64() < pSpecial {
				img.Pix[i] = pool[g.IntN(len(pool))]
			} else {
				img.Pix[i] = float32(g.NormFloat64())
			}
		}
		got, want := Stats(img), statsRef(img)
		if got.N != want.N || got.NaN != want.NaN || !same(got.Min, want.Min) || !same(got.Max, want.Max) {
			t.Fatalf("trial %d (%dx%d stride %d): Stats %+v, statsRef %+v", trial, w, h, stride, got, want)
		}
	}
}

// TestStatsCopy checks that StatsCopy returns Stats' result and copies
// the pixels (compact rows, bits kept, NaN included) of images with and
// without NaN, zero extremes and stride beyond the width, and that it
// panics on a destination shorter than the image.
func TestStatsCopy(t *testing.T) {
	g := rand.New(rand.NewPCG(18, 13))
	for trial := range 40 {
		w, h := g.IntN(70), 1+g.IntN(9)
		stride := w + g.IntN(4)
		img := &kernels.Image{Pix: make([]float32, max(0, (h-1)*stride+w)), Stride: stride, Rect: image.Rect(3, 5, 3+w, 5+h)}
		for i := range img.Pix {
			img.Pix[i] = float32(g.NormFloat64())
			switch g.IntN(50) {
			case 0:
				img.Pix[i] = float32(math.NaN())
			case 1:
				img.Pix[i] = float32(math.Copysign(0, -1))
			}
		}
		if trial%5 == 0 {
			for i := range img.Pix {
				img.Pix[i] = max(img.Pix[i], 0) // a zero minimum: statsRef decides
			}
		}
		dst := make([]float32, w*h+2)
		dst[w*h], dst[w*h+1] = 7, 7
		got, want := StatsCopy(img, dst), statsRef(img)
		same := func(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) || a != a && b != b }
		if got.N != want.N || got.NaN != want.NaN || !same(got.Min, want.Min) || !same(got.Max, want.Max) {
			t.Fatalf("trial %d (%dx%d stride %d): StatsCopy %+v, statsRef %+v", trial, w, h, stride, got, want)
		}
		for y := range h {
			for x := range w {
				if a, b := dst[y*w+x], img.Pix[y*stride+x]; math.Float32bits(a) != math.Float32bits(b) {
					t.Fatalf("trial %d: copy of pixel (%d,%d) is %v, want %v", trial, x, y, a, b)
				}
			}
		}
		if dst[w*h] != 7 || dst[w*h+1] != 7 {
			t.Fatalf("trial %d: StatsCopy wrote beyond w*h", trial)
		}
	}
	t.Run("short", func(t *testing.T) {
		img := &kernels.Image{Pix: make([]float32, 12), Stride: 4, Rect: image.Rect(0, 0, 4, 3)}
		defer func() {
			if r := recover(); r != badCopy {
				t.Fatalf("panic %v, want %q", r, badCopy)
			}
		}()
		StatsCopy(img, make([]float32, 11))
	})
}

// BenchmarkStats times the pixel statistics of a 2048x2048 image alone
// (impl=build: the build's scan, the vector one in the GOEXPERIMENT=simd
// build; impl=twin: scanPixGo), and with the copy kept for the forced
// fits, as two passes (Stats, then copy) and as one (StatsCopy).
func BenchmarkStats(b *testing.B) {
	const n = 2048
	g := rand.New(rand.NewPCG(1, 2))
	img := &kernels.Image{Pix: make([]float32, n*n), Stride: n, Rect: image.Rect(0, 0, n, n)}
	for i := range img.Pix {
		img.Pix[i] = float32(g.NormFloat64())
	}
	dst := make([]float32, n*n)
	run := func(name string, f func()) {
		b.Run(name, func(b *testing.B) {
			b.SetBytes(4 * n * n)
			for b.Loop() {
				f()
			}
		})
	}
	run("impl=build", func() { Stats(img) })
	run("impl=twin", func() { scanPixGo(img.Pix, n, n, n, nil) })
	run("copy=two-passes", func() { Stats(img); copy(dst, img.Pix) })
	run("copy=one-pass", func() { StatsCopy(img, dst) })
}
