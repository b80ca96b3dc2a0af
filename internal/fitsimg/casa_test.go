package fitsimg

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/internal/testutil"
)

// casaFixture returns the path of a committed fixture in testdata/casa
// (made by testdata/casa/gen.py with python-casacore).
func casaFixture(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testutil.ProjectRoot(t), "testdata", "casa", name)
}

// samePixels requires bit-identical planes, NaN where the other is NaN.
func samePixels(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d pixels, want %d", what, len(got), len(want))
	}
	bad := 0
	for i := range got {
		g, w := got[i], want[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			if bad < 3 {
				t.Errorf("%s: pixel %d = %g, want %g", what, i, g, w)
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%s: %d of %d pixels differ", what, bad, len(got))
	}
}

// Tolerances of the comparisons of a CASA image with casacore's FITS
// conversion of it. casacore's FITS writer prints reals with 13
// significant digits (1.234567890123E+02), so a value read back from the
// FITS header differs from the double in the table by up to 5e-13
// relative; positions differ by at most 5e-13 x 360 deg = 2e-10 deg in
// CRVAL, plus CDELT's 5e-13 relative times a few hundred pixels: 1e-9
// degrees (3.6 microarcseconds) covers both. DATE-OBS is printed to the
// microsecond from the same MJD double: 1 microsecond.
const (
	casaRelTol   = 1e-12
	casaSkyTol   = 1e-9 // degrees
	casaTimeTol  = time.Microsecond
	casaPixProbe = 4 // pixels probed along each axis for the WCS
)

// compareMeta requires the metadata of a CASA image and of its FITS copy
// to agree.
func compareMeta(t *testing.T, got, want *Meta, wantBW float64) {
	t.Helper()
	if got.Naxis1 != want.Naxis1 || got.Naxis2 != want.Naxis2 || got.Planes != want.Planes {
		t.Errorf("shape %dx%d (%d planes), want %dx%d (%d)", got.Naxis1, got.Naxis2, got.Planes, want.Naxis1, want.Naxis2, want.Planes)
	}
	if got.Stokes != want.Stokes {
		t.Errorf("Stokes %s, want %s", got.Stokes, want.Stokes)
	}
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"FreqEff", got.FreqEff, want.FreqEff}, {"FreqBW", got.FreqBW, wantBW},
		{"BMaj", got.Beam.BMaj, want.Beam.BMaj}, {"BMin", got.Beam.BMin, want.Beam.BMin},
		{"BPA", got.Beam.BPA, want.Beam.BPA}, {"PixelScale", got.PixelScale, want.PixelScale},
		{"BeamPx.SMaj", got.BeamPx.SMaj, want.BeamPx.SMaj},
	} {
		if !testutil.Close(c.got, c.want, 0, casaRelTol) {
			t.Errorf("%s = %.15g, want %.15g", c.name, c.got, c.want)
		}
	}
	if got.TimeKnown != want.TimeKnown || got.TauStart.Sub(want.TauStart).Abs() > casaTimeTol {
		t.Errorf("TauStart %v (known %v), want %v (%v)", got.TauStart, got.TimeKnown, want.TauStart, want.TimeKnown)
	}
	if strings.TrimSpace(got.Telescope) != strings.TrimSpace(want.Telescope) {
		t.Errorf("Telescope %q, want %q", got.Telescope, want.Telescope)
	}
	// casacore's FITS writer of 2013 wrote the unit upper-case (JY/BEAM).
	if !strings.EqualFold(strings.TrimSpace(got.BUnit), strings.TrimSpace(want.BUnit)) {
		t.Errorf("BUnit %q, want %q", got.BUnit, want.BUnit)
	}
	for i := range casaPixProbe {
		for j := range casaPixProbe {
			x := float64(i) * float64(got.Naxis1-1) / (casaPixProbe - 1)
			y := float64(j) * float64(got.Naxis2-1) / (casaPixProbe - 1)
			r1, d1, err1 := got.WCS.PixToSky(x, y)
			r2, d2, err2 := want.WCS.PixToSky(x, y)
			if err1 != nil || err2 != nil {
				t.Fatalf("PixToSky(%g, %g): %v, %v", x, y, err1, err2)
			}
			if math.Abs(math.Remainder(r1-r2, 360))*math.Cos(d2*math.Pi/180) > casaSkyTol || math.Abs(d1-d2) > casaSkyTol {
				t.Errorf("pixel (%g, %g): (%.12f, %.12f), want (%.12f, %.12f)", x, y, r1, d1, r2, d2)
			}
		}
	}
}

// TestCASAMatchesFITS reads the real SWIFT image of TraP's test data both
// as the CASA image and as the FITS file CASA exported from it: the pixels
// must be identical and the metadata agree within the tolerances above.
func TestCASAMatchesFITS(t *testing.T) {
	data := testutil.SharedData(t)
	casa := filepath.Join(data, "casa", "SWIFT_554620-130504.image")
	fits := filepath.Join(data, "SWIFT_554620-130504.fits")
	if !IsCASAImage(casa) {
		t.Fatalf("%s is not recognised as a CASA image", casa)
	}
	if IsCASAImage(fits) || IsCASAImage(data) {
		t.Fatal("a FITS file or a plain directory recognised as a CASA image")
	}
	gi, gm, err := Read(casa, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wi, wm, err := Read(fits, Options{})
	if err != nil {
		t.Fatal(err)
	}
	samePixels(t, "SWIFT", gi.Pix, wi.Pix)
	// The one difference: the FITS export has RESTFRQ without RESTBW, which
	// gives the default 1 MHz bandwidth; the CASA image gives the channel
	// width of its spectral axis (CDELT3 of the FITS), as TraP's CASA
	// accessor does.
	cdelt3, _ := wm.Header.Float("CDELT3")
	if wm.FreqBW != DefaultBandwidth {
		t.Errorf("FITS bandwidth %g, want the default", wm.FreqBW)
	}
	compareMeta(t, gm, wm, cdelt3)
	if gm.Path != casa || gm.BeamFrom != "BMAJ" || gm.FreqFrom != wm.FreqFrom {
		t.Errorf("Path %q BeamFrom %q FreqFrom %q (FITS %q)", gm.Path, gm.BeamFrom, gm.FreqFrom, wm.FreqFrom)
	}
	// Independently of the FITS copy: the brightest pixel is at x 258, y
	// 261 (0-based; numpy's [y, x] = [261, 258]) and casacore's toworld
	// (python-casacore 3.5.2) puts it at RA 173.135571008173, Dec
	// 27.698444409120 degrees: no axis transposed or flipped.
	peak := 0
	for i, v := range gi.Pix {
		if v > gi.Pix[peak] {
			peak = i
		}
	}
	if x, y := peak%gi.Stride, peak/gi.Stride; x != 258 || y != 261 {
		t.Errorf("peak at (%d, %d), want (258, 261)", x, y)
	}
	if ra, dec, err := gm.WCS.PixToSky(258, 261); err != nil || math.Abs(ra-173.135571008173) > casaSkyTol || math.Abs(dec-27.698444409120) > casaSkyTol {
		t.Errorf("peak at RA %.12f Dec %.12f (%v), want casacore's 173.135571008173, 27.698444409120", ra, dec, err)
	}
	// ReadMeta (header only) agrees with Read.
	hm, err := ReadMeta(casa, Options{})
	if err != nil || hm.FreqEff != gm.FreqEff || !hm.TauStart.Equal(gm.TauStart) {
		t.Errorf("ReadMeta: %+v, %v", hm, err)
	}
}

// TestCASARealImages reads the other real CASA images of TraP's and
// PySE's test sets and checks their metadata against the values
// python-casacore gives: frequencies exact (the same double), beams as
// ../shared/data/casa/README.md prints them, to 4 significant digits (the
// tolerance is half a unit of the last digit).
func TestCASARealImages(t *testing.T) {
	data := testutil.SharedData(t)
	for _, c := range []struct {
		dir             string
		nx              int
		freq            float64 // Hz
		bmaj, bmin, bpa float64 // arcsec, arcsec, degrees
		dec             float64 // sign of the declination
	}{
		// The frequency is the spectral coordinate's restfreq, as TraP
		// reads it (SPEC 10.4): for ami-la it is not the axis' 15.76 GHz.
		{"ami-la.image", 512, 13882003130.0, 40.02, 24.66, 20.62, 1},
		{"kat7.image", 256, 1826492187.5, 120, 120, math.NaN(), -1},
		{"L55596_000TO009_skymodellsc_wmax6000_noise_mult10_cell40_npix512_wplanes215.img.restored.corr", 512, 115917968.75, 211.0, 148.1, 63.57, 1},
	} {
		t.Run(c.dir, func(t *testing.T) {
			img, m, err := Read(filepath.Join(data, "casa", c.dir), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Naxis1 != c.nx || m.Naxis2 != c.nx || img.Rect.Dx() != c.nx {
				t.Errorf("size %dx%d, want %d", m.Naxis1, m.Naxis2, c.nx)
			}
			if m.FreqEff != c.freq {
				t.Errorf("frequency %g, want %g", m.FreqEff, c.freq)
			}
			if !testutil.Close(m.Beam.BMaj*3600, c.bmaj, 0, 5e-4) || !testutil.Close(m.Beam.BMin*3600, c.bmin, 0, 5e-4) {
				t.Errorf("beam %g x %g arcsec, want %g x %g", m.Beam.BMaj*3600, m.Beam.BMin*3600, c.bmaj, c.bmin)
			}
			if !math.IsNaN(c.bpa) && !testutil.Close(m.Beam.BPA, c.bpa, 0, 5e-4) {
				t.Errorf("BPA %g, want %g", m.Beam.BPA, c.bpa)
			}
			if math.Signbit(m.CentreDec) != (c.dec < 0) {
				t.Errorf("centre Dec %g", m.CentreDec)
			}
			finite := 0
			for _, v := range img.Pix {
				if !math.IsNaN(float64(v)) && v != 0 {
					finite++
				}
			}
			if finite < len(img.Pix)/2 {
				t.Errorf("only %d of %d pixels finite and non-zero", finite, len(img.Pix))
			}
		})
	}
}

// TestCASADegenerate: the one-pixel CASA image of PySE's test set is
// refused as not 2-D, as a one-pixel FITS image is.
func TestCASADegenerate(t *testing.T) {
	p := filepath.Join(testutil.SharedData(t), "casa", "casa.table")
	if _, _, err := Read(p, Options{}); !errors.Is(err, ErrNot2D) || !strings.Contains(err.Error(), p) {
		t.Errorf("err %v, want ErrNot2D naming the image", err)
	}
}

// TestCASAFixtures compares every plane of the generated cube (Stokes I
// and V, three channels, tiles that do not divide the axes, a mask) with
// casacore's own FITS conversion of it: the same pixels (masked ones NaN
// in both) and metadata, plane by plane. The big-endian TiledShapeStMan
// copy gives the same pixels, and nomask.image (arcsec units, B1950)
// matches its FITS conversion too.
func TestCASAFixtures(t *testing.T) {
	for _, c := range []struct{ casa, fits string }{
		{"cube.image", "cube.fits"},
		{"cube-be.image", "cube.fits"},
		{"nomask.image", "nomask.fits"},
	} {
		t.Run(c.casa, func(t *testing.T) {
			casa, fits := casaFixture(t, c.casa), casaFixture(t, c.fits)
			h, err := ReadHeader(casa)
			if err != nil {
				t.Fatal(err)
			}
			naxis, _ := h.Int("NAXIS")
			planes := 1
			for k := 3; k <= int(naxis); k++ {
				n, _ := h.Int("NAXIS" + string(rune('0'+k)))
				planes *= int(n)
			}
			nan := 0
			for p := range planes {
				gi, gm, err := Read(casa, Options{Plane: p})
				if err != nil {
					t.Fatal(err)
				}
				wi, wm, err := Read(fits, Options{Plane: p})
				if err != nil {
					t.Fatal(err)
				}
				samePixels(t, c.casa, gi.Pix, wi.Pix)
				compareMeta(t, gm, wm, wm.FreqBW)
				for _, v := range gi.Pix {
					if v != v {
						nan++
					}
				}
			}
			// gen.py masks 1 + 1 + 2 x 6 pixels of the cube.
			if want := map[string]int{"nomask.image": 0}[c.casa]; c.casa != "nomask.image" {
				want = 14
				if nan != want {
					t.Errorf("%d masked pixels, want %d", nan, want)
				}
			} else if nan != want {
				t.Errorf("%d masked pixels, want %d", nan, want)
			}
		})
	}
	_, m, err := Read(casaFixture(t, "cube.image"), Options{Plane: 1})
	if err != nil || m.Stokes != "V" || m.Telescope != "AARTFAAC" {
		t.Errorf("plane 1: Stokes %q telescope %q (%v), want V and AARTFAAC", m.Stokes, m.Telescope, err)
	}
}

// copyTree copies the table directory src to a temporary directory.
func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), filepath.Base(src))
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestCASACorrupt: damaged tables are refused with an error naming the
// image and the file, wrapping ErrBadCASA (the pipeline records it as a
// read error).
func TestCASACorrupt(t *testing.T) {
	for _, c := range []struct {
		name, file string
		damage     func(b []byte) []byte
		want       string
	}{
		{"truncated table.dat", "table.dat", func(b []byte) []byte { return b[:len(b)/2] }, "table.dat"},
		{"bad magic", "table.dat", func(b []byte) []byte { b[0] = 0; return b }, "table.dat"},
		{"truncated tiles", "table.f0_TSM0", func(b []byte) []byte { return b[:len(b)-100] }, "table.f0_TSM0"},
		{"empty manager header", "table.f0", func(b []byte) []byte { return nil }, "table.f0"},
		{"truncated mask", "mask0/table.f0_TSM0", func(b []byte) []byte { return b[:10] }, "mask0"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := copyTree(t, casaFixture(t, "cube.image"))
			p := filepath.Join(dir, c.file)
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, c.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err = Read(dir, Options{})
			if !errors.Is(err, ErrBadCASA) || !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want ErrBadCASA naming %s", err, c.want)
			}
		})
	}
	t.Run("not an image", func(t *testing.T) {
		dir := copyTree(t, casaFixture(t, "cube.image"))
		if err := os.WriteFile(filepath.Join(dir, "table.info"), []byte("Type = Measurement Set\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		if IsCASAImage(dir) {
			t.Error("a table of another type recognised as an image")
		}
		if _, err := ReadMeta(dir, Options{}); !errors.Is(err, ErrBadCASA) || !strings.Contains(err.Error(), "Measurement Set") {
			t.Errorf("err %v", err)
		}
	})
}

// TestCASAPlaneBeams: a CASA cube with a beam per plane and no common
// beam (beams.image: channel c, Stokes s has major axis 30 + 10c + 100s
// arcsec, minor 20, position angle 10c degrees) gives each plane its
// beam; a --beam override still wins.
func TestCASAPlaneBeams(t *testing.T) {
	p := casaFixture(t, "beams.image")
	for _, c := range []struct {
		opts      Options
		ch, st    int
		wantStoke string
	}{
		{Options{}, 0, 0, "I"},
		{Options{Channel: 3}, 2, 0, "I"},
		{Options{Stokes: "V", Channel: 2}, 1, 1, "V"},
		{Options{Plane: 5}, 2, 1, "V"},
	} {
		_, m, err := Read(p, c.opts)
		if err != nil {
			t.Fatal(err)
		}
		want := Beam{BMaj: (30 + 10*float64(c.ch) + 100*float64(c.st)) / 3600, BMin: 20.0 / 3600, BPA: 10 * float64(c.ch)}
		if !testutil.Close(m.Beam.BMaj, want.BMaj, 0, 1e-12) || !testutil.Close(m.Beam.BMin, want.BMin, 0, 1e-12) ||
			!testutil.Close(m.Beam.BPA, want.BPA, 1e-12, 0) || m.BeamFrom != "perplanebeams" || m.Stokes != c.wantStoke {
			t.Errorf("%+v: beam %+v from %q Stokes %s, want %+v (channel %d, Stokes %d)", c.opts, m.Beam, m.BeamFrom, m.Stokes, want, c.ch, c.st)
		}
	}
	over := Beam{BMaj: 0.01, BMin: 0.01}
	if _, m, err := Read(p, Options{Plane: 5, Beam: &over}); err != nil || m.Beam != over || m.BeamFrom != "override" {
		t.Errorf("override: %+v %q %v", m.Beam, m.BeamFrom, err)
	}
}
