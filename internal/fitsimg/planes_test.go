package fitsimg

import (
	"errors"
	"strings"
	"testing"
)

// TestStokesChannel: Options.Stokes and Options.Channel pick the plane
// along the STOKES and frequency axes, in a CASA cube (Stokes I and V
// named in the table) and in casacore's FITS copy of it (a linear STOKES
// axis), giving the plane Plane gives and its Stokes and frequency.
func TestStokesChannel(t *testing.T) {
	for _, path := range []string{casaFixture(t, "cube.image"), casaFixture(t, "cube.fits")} {
		// Axes 40 x 32 x 2 (Stokes I, V) x 3 (150, 152, 154 MHz): Stokes V
		// in channel 2 is index (1, 1), plane 1 + 2 * 1 = 3.
		for _, c := range []struct {
			opts   Options
			plane  int
			stokes string
			freq   float64
		}{
			{Options{Stokes: "V", Channel: 2}, 3, "V", 152e6},
			{Options{Stokes: "v"}, 1, "V", 150e6},
			{Options{Channel: 3}, 4, "I", 154e6},
			{Options{Plane: 5, Stokes: "I"}, 4, "I", 154e6},
		} {
			img, m, err := Read(path, c.opts)
			if err != nil {
				t.Fatalf("%s %+v: %v", path, c.opts, err)
			}
			want, _, err := Read(path, Options{Plane: c.plane})
			if err != nil {
				t.Fatal(err)
			}
			samePixels(t, "plane", img.Pix, want.Pix)
			if m.Plane != c.plane || m.Stokes != c.stokes || m.FreqEff != c.freq {
				t.Errorf("%s %+v: plane %d Stokes %s frequency %g, want %d %s %g", path, c.opts, m.Plane, m.Stokes, m.FreqEff, c.plane, c.stokes, c.freq)
			}
			if hm, err := ReadMeta(path, c.opts); err != nil || hm.Plane != c.plane {
				t.Errorf("ReadMeta %+v: %v, %v", c.opts, hm, err)
			}
		}
		for _, c := range []struct {
			opts Options
			msg  string
		}{
			{Options{Stokes: "Q"}, "the image has I, V"},
			{Options{Channel: 4}, "channel 4 requested, the image has 3"},
			{Options{Channel: -1}, "channel -1"},
		} {
			if _, _, err := Read(path, c.opts); !errors.Is(err, ErrNoPlane) || !strings.Contains(err.Error(), c.msg) {
				t.Errorf("%+v: %v, want ErrNoPlane saying %q", c.opts, err, c.msg)
			}
		}
	}
	// A 2-D image is Stokes I in its only channel.
	p := fixture(t, "bitpix-32.fits")
	if _, m, err := Read(p, Options{Stokes: "I", Channel: 1}); err != nil || m.Plane != 0 {
		t.Errorf("2-D image, Stokes I channel 1: %v", err)
	}
	if _, _, err := Read(p, Options{Stokes: "V"}); !errors.Is(err, ErrNoPlane) {
		t.Errorf("2-D image, Stokes V: %v, want ErrNoPlane", err)
	}
}
