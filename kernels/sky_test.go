package kernels

import (
	"math"
	"testing"

	"gotrap/internal/testutil"
)

func TestSinProjRoundTrip(t *testing.T) {
	p := testProj
	p.crota = 17
	for _, xy := range [][2]float64{{0, 0}, {256, 256}, {511, 3.5}, {100.25, 400.75}} {
		ra, dec, _ := p.PixToSky(xy[0], xy[1])
		x, y, _ := p.SkyToPix(ra, dec)
		if !testutil.Close(x, xy[0], 1e-8, 0) || !testutil.Close(y, xy[1], 1e-8, 0) { // float64 trig round trip
			t.Errorf("round trip %v -> (%g, %g) -> (%g, %g)", xy, ra, dec, x, y)
		}
	}
}

func TestLocalNorth(t *testing.T) {
	for _, rot := range []float64{0, 10, -25, 60} {
		p := testProj
		p.crota = rot
		for _, xy := range [][2]float64{{256, 256}, {30, 170}, {480, 350}} {
			ra, dec, _ := p.PixToSky(xy[0], xy[1])
			phi, err := localNorth(p, xy[0], xy[1], ra, dec)
			if err != nil {
				t.Fatal(err)
			}
			// Independent estimate: the sky direction of a small step along
			// +y, east component Δα·cosδ, north component Δδ.
			ra1, dec1, _ := p.PixToSky(xy[0], xy[1]+1e-3)
			east := math.Remainder(ra1-ra, 360) * math.Cos(dec*d2r)
			want := math.Atan2(east, dec1-dec) / d2r
			// Both are the same angle; the step of 1e-3 px and the
			// convergence of meridians over 1 px (~1e-4 deg at 5") bound
			// the difference.
			if !testutil.Close(phi, want, 2e-3, 0) {
				t.Errorf("crota %g at %v: φ_y = %.6f, want %.6f", rot, xy, phi, want)
			}
			if xy == [2]float64{256, 256} && !testutil.Close(math.Abs(phi), math.Abs(rot), 1e-6, 0) {
				t.Errorf("crota %g at the reference pixel: |φ_y| = %.9f, want %g", rot, phi, math.Abs(rot))
			}
		}
	}
}

func TestToSkyAxes(t *testing.T) {
	// A north-aligned source at the reference pixel: the axes on the sky
	// are the pixel axes times 5"; θ = 0 gives theta_celes = 0.
	s := Source{X: 256, Y: 256, XErr: 0.3, YErr: 0.6, Smaj: 5, Smin: 2, SmajErr: 0.5, SminErr: 0.2, Theta: 0, ThetaErr: 0.1}
	if err := toSky(&s, testProj, 0, 0, true); err != nil {
		t.Fatal(err)
	}
	// SIN distortion over 5 px at 5"/px is ~1e-9 relative.
	if !testutil.Close(s.SmajAsec, 25, 1e-6, 0) || !testutil.Close(s.SminAsec, 10, 1e-6, 0) {
		t.Errorf("axes %g\", %g\", want 25\", 10\"", s.SmajAsec, s.SminAsec)
	}
	if !testutil.Close(s.SmajAsecErr, 2.5, 1e-6, 0) || !testutil.Close(math.Remainder(s.ThetaCeles, 180), 0, 1e-6, 0) {
		t.Errorf("smaj_asec_err %g, theta_celes %g", s.SmajAsecErr, s.ThetaCeles)
	}
	if !testutil.Close(s.ThetaCelesErr, 0.1*180/math.Pi, 1e-12, 0) {
		t.Errorf("theta_celes_err %g", s.ThetaCelesErr)
	}
	// error_radius = |(σx, σy)|·5", dec_err = σy·5".
	if !testutil.Close(s.ErrorRadius, math.Hypot(0.3, 0.6)*5, 1e-6, 0) || !testutil.Close(s.DecErr*3600, 3, 1e-6, 0) {
		t.Errorf("error_radius %g, dec_err %g\"", s.ErrorRadius, s.DecErr*3600)
	}
	// ra_err is in RA coordinate: σx·5"/cosδ.
	if !testutil.Close(s.RAErr*3600, 1.5/math.Cos(testProj.crval2*d2r), 1e-6, 0) {
		t.Errorf("ra_err %g\"", s.RAErr*3600)
	}
	// eps adds directly.
	s2 := s
	if err := toSky(&s2, testProj, 1e-3, 2e-3, true); err != nil || !testutil.Close(s2.RAErr-s.RAErr, 1e-3, 1e-15, 0) || !testutil.Close(s2.DecErr-s.DecErr, 2e-3, 1e-15, 0) {
		t.Errorf("eps_ra/eps_dec not added: %g %g (%v)", s2.RAErr-s.RAErr, s2.DecErr-s.DecErr, err)
	}
	// Off the sky fails.
	far := Source{X: 1e6, Y: 0, Smaj: 1, Smin: 1}
	if err := toSky(&far, testProj, 0, 0, true); err == nil {
		t.Error("a position off the SIN disc converted without error")
	}
}
