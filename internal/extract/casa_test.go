package extract

import (
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

// casaCatTol is the largest difference allowed between the catalogues of
// the SWIFT image read as FITS and as CASA. The pixels are identical and
// the metadata agree to the 13 significant digits of casacore's FITS
// writer (fitsimg's TestCASAMatchesFITS): the beam in pixels differs by
// at most ~1e-12 relative and sky positions by ~1e-10 degrees, so every
// measured field agrees to 1e-9 relative (absolute for values near zero,
// in their own units: degrees, Jy, pixels). Sizes in arcsec (and the
// error radius) are differences of sky positions: they inherit the
// positions' ~1e-10 degree (3.6e-7 arcsec) differences as absolute
// errors, so they get casaAsecTol arcsec.
const (
	casaCatTol  = 1e-9
	casaAsecTol = 1e-6
)

// TestCASASameCatalogue is SPEC 10.2 item 3 (PySE's
// testWcsConversionConsistency): SWIFT_554620 as FITS and as its CASA
// image gives 3 sources each, with the same measurements, for PySE's and
// gotrap's default settings.
func TestCASASameCatalogue(t *testing.T) {
	data := testutil.SharedData(t)
	for name, o := range map[string]Options{"pyse": pyseOptions(5, 32), "default": Default()} {
		t.Run(name, func(t *testing.T) {
			w, err := NewWorker(o)
			if err != nil {
				t.Fatal(err)
			}
			fr, err := w.File(filepath.Join(data, "SWIFT_554620-130504.fits"))
			if err != nil {
				t.Fatal(err)
			}
			cr, err := w.File(filepath.Join(data, "casa", "SWIFT_554620-130504.image"))
			if err != nil {
				t.Fatal(err)
			}
			if len(fr.Sources) != len(cr.Sources) || (name == "pyse" && len(fr.Sources) != 3) {
				t.Fatalf("FITS %d sources, CASA %d", len(fr.Sources), len(cr.Sources))
			}
			worst := 0.0
			for i := range fr.Sources {
				a, b := reflect.ValueOf(fr.Sources[i]), reflect.ValueOf(cr.Sources[i])
				for k := range a.NumField() {
					if a.Field(k).Kind() != reflect.Float64 {
						if !reflect.DeepEqual(a.Field(k).Interface(), b.Field(k).Interface()) {
							t.Errorf("source %d %s: FITS %v, CASA %v", i, a.Type().Field(k).Name, a.Field(k), b.Field(k))
						}
						continue
					}
					x, y := a.Field(k).Float(), b.Field(k).Float()
					if math.IsNaN(x) && math.IsNaN(y) {
						continue
					}
					field := a.Type().Field(k).Name
					d := math.Abs(x-y) / math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
					tol := casaCatTol
					if strings.Contains(field, "Asec") || field == "ErrorRadius" {
						d, tol = math.Abs(x-y), casaAsecTol
					} else {
						worst = math.Max(worst, d)
					}
					if !(d <= tol) {
						t.Errorf("source %d %s: FITS %.15g, CASA %.15g", i, field, x, y)
					}
				}
			}
			t.Logf("%d sources; largest relative difference FITS vs CASA, arcsec sizes aside, %.3g", len(fr.Sources), worst)
		})
	}
}
