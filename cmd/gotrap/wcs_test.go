package main

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

func TestWCSCommand(t *testing.T) {
	grb := testutil.SharedFile(t, "GRB120422A-120429.fits")
	// Pixel (256, 256) is FITS pixel 257 = CRPIX: the sky position is
	// CRVAL exactly as printed with %.10f.
	code, out, errs := runCmd(t, "wcs", grb, "256", "256", "0", "0", "-10", "-20.5")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || lines[0] != "136.9102500000 14.0182222200" {
		t.Fatalf("output %q", out)
	}
	// Round trip each line through --sky2pix (1e-6 px: the %.10f of
	// degrees is 3.6e-7" and the WCS is exact to about 1e-9 px).
	for i, pix := range [][2]float64{{256, 256}, {0, 0}, {-10, -20.5}} {
		var ra, dec float64
		if _, err := fmt.Sscanf(lines[i], "%f %f", &ra, &dec); err != nil {
			t.Fatal(err)
		}
		code, back, _ := runCmd(t, "wcs", "--sky2pix", grb, fmt.Sprint(ra), fmt.Sprint(dec))
		var x, y float64
		if _, err := fmt.Sscanf(back, "%f %f", &x, &y); err != nil || code != 0 {
			t.Fatalf("sky2pix %q: %v exit %d", back, err, code)
		}
		if math.Abs(x-pix[0]) > 1e-6 || math.Abs(y-pix[1]) > 1e-6 {
			t.Errorf("(%v, %v) -> (%v, %v) -> (%v, %v)", pix[0], pix[1], ra, dec, x, y)
		}
	}
	// Flags after the file; a position on the far side of the sky has no
	// SIN pixel: "nan nan", a reason, exit 1, the other pair still printed.
	code, out, errs = runCmd(t, "wcs", grb, "--sky2pix", "136.91025", "14.01822222", "316.9", "-14")
	if code != 1 || out != "256.0000000000 256.0000000000\nnan nan\n" || !strings.Contains(errs, "outside") {
		t.Errorf("far side: exit %d, out %q, err %q", code, out, errs)
	}
}

func TestWCSCommandErrors(t *testing.T) {
	grb := testutil.SharedFile(t, "GRB120422A-120429.fits")
	for _, tc := range []struct {
		args []string
		code int
		err  string
	}{
		{[]string{"wcs"}, 2, "usage: gotrap wcs"},
		{[]string{"wcs", grb, "1"}, 2, "usage: gotrap wcs"},
		{[]string{"wcs", grb, "1", "x"}, 2, `"x" is not a finite number`},
		{[]string{"wcs", grb, "1", "NaN"}, 2, "not a finite number"},
		{[]string{"wcs", testutil.SharedFile(t, "lofar-stub.fits"), "0", "0"}, 1, "lofar-stub.fits: not a 2-D image"},
		{[]string{"wcs", fixtureFile(t, "bitpix8.fits"), "--bogus", "0", "0"}, 2, "flag provided but not defined"},
	} {
		code, out, errs := runCmd(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.err) || out != "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errs, tc.code, tc.err)
		}
	}
	if code, out, _ := runCmd(t, "wcs", "--help"); code != 0 || !strings.Contains(out, "--sky2pix") || !strings.Contains(out, "Examples:") {
		t.Errorf("--help: exit %d\n%s", code, out)
	}
}

// TestWCSCommandCDMatrix converts on the rotated CD-matrix fixture: the
// reference pixel (CRPIX 4.5, 3.5 -> 0-based 3.5, 2.5) gives CRVAL.
func TestWCSCommandCDMatrix(t *testing.T) {
	code, out, errs := runCmd(t, "wcs", fixtureFile(t, "cd_matrix.fits"), "3.5", "2.5")
	if code != 0 || out != "10.5000000000 -45.0000000000\n" {
		t.Errorf("exit %d out %q err %q", code, out, errs)
	}
}
