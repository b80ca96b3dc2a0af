package assoc

import (
	"database/sql"
	"math"
	"testing"
	"time"

	"gotrap/catalog"
)

// Test fixtures. Unless a test says otherwise, images are 512x512 px of
// 0.01 deg (36 arcsec) with rb_smaj 0.01 deg, so the search radius is
// R = 3 * 0.01 = 0.03 deg = 108 arcsec. Measurements have error_radius 0
// and the default 10 arcsec systematic errors, so uncertainty_ew =
// uncertainty_ns = 10 arcsec (SPEC 5.1) and, for a runcat with one point,
// the De Ruiter denominator is sqrt(10^2 + 10^2) = 14.142 arcsec: a pair
// d arcsec apart along a meridian has r = d/14.142, and pairs closer than
// 5.68 * 14.142 = 80.3 arcsec are candidates.

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

const arcsec = 1.0 / 3600

// sigma1 is the one-point uncertainty, 10 arcsec in degrees.
const sigma1 = 10 * arcsec

func tstep(k int) time.Time { return t0.Add(time.Duration(k) * 15 * time.Minute) }

func imageAt(id int64, k int, freq, ra, dec float64) ImageInfo {
	return ImageInfo{
		ID: id, TauStart: tstep(k), FreqEff: freq, FreqBW: 1e6,
		CentreRA: ra, CentreDec: dec, DeltaX: -0.01, DeltaY: 0.01, NX: 512, NY: 512,
		RBSmaj:  0.01,
		Quality: Quality{RMSMin: 0.001, RMSMax: 0.003, DetectionThresh: 5},
	}
}

func newEngine(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

func addImage(t testing.TB, e *Engine, img ImageInfo) (band, region int64) {
	t.Helper()
	b, r, err := e.AddImage(img)
	if err != nil {
		t.Fatal(err)
	}
	return b, r
}

// meas returns a blind point-source measurement of image with flux f and
// error fe (peak = integrated).
func meas(image int64, idx int, ra, dec, f, fe float64) catalog.Measurement {
	return catalog.Measurement{
		ID: catalog.MeasurementID(image, idx), Image: image, ExtractType: catalog.ExtractBlind,
		RA: ra, Decl: dec, FPeak: f, FPeakErr: fe, FInt: f, FIntErr: fe,
	}
}

func forcedFit(image int64, idx int, runcat int64, ra, dec, f, fe float64) catalog.Measurement {
	m := meas(image, idx, ra, dec, f, fe)
	m.ExtractType = catalog.ExtractForced
	m.FFRuncat = sql.NullInt64{Int64: runcat, Valid: true}
	return m
}

func monitorFit(image int64, idx int, mon int64, ra, dec, f, fe float64) catalog.Measurement {
	m := meas(image, idx, ra, dec, f, fe)
	m.ExtractType = catalog.ExtractMonitor
	m.FFMonitor = sql.NullInt64{Int64: mon, Valid: true}
	return m
}

func blind(t testing.TB, e *Engine, image int64, ms ...catalog.Measurement) *Result {
	t.Helper()
	r, err := e.AssociateBlind(image, ms)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// near reports whether got is within tol of want, relative to |want|
// when |want| > 1, absolute otherwise.
func near(got, want, tol float64) bool {
	return math.Abs(got-want) <= tol*math.Max(1, math.Abs(want))
}

// ulpTol is the tolerance of comparisons with values worked out in the
// test from the same formulas in a different order: a few hundred ulps
// of float64 covers the rounding of sums of a handful of terms and of
// trigonometry.
const ulpTol = 1e-13

func checkNear(t *testing.T, name string, got, want, tol float64) {
	t.Helper()
	if !near(got, want, tol) {
		t.Errorf("%s = %.17g, want %.17g (tol %g)", name, got, want, tol)
	}
}

func linksOf(e *Engine, runcat int64) []catalog.Association {
	var out []catalog.Association
	for _, a := range assocsOf(e) {
		if a.Runcat == runcat {
			out = append(out, a)
		}
	}
	return out
}

func mustRuncat(t *testing.T, e *Engine, id int64) catalog.Runcat {
	t.Helper()
	rc, ok := e.Runcat(id)
	if !ok {
		t.Fatalf("runcat %d missing", id)
	}
	return rc
}

// assocsOf is e.Associations() for tests, which fail by panic on a link
// store error.
func assocsOf(e *Engine) []catalog.Association {
	as, err := e.Associations()
	if err != nil {
		panic(err)
	}
	return as
}
