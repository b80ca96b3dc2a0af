package catalogs

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
)

// TestSelavyReal reads the three layouts of the real Selavy catalogue and
// checks values against the files' own text (first and last component
// of the text file, lines 3 and 6; after sorting by RA, island_3 comes
// first and island_2 last).
func TestSelavyReal(t *testing.T) {
	for _, tc := range []struct {
		file   string
		format Format
		rows   int
		line0  int // line (VOTable: row) of island_3
		// pos_ang_deconv of island_3 and island_2: the CSV's header
		// puts maj_axis_deconv_err before pos_ang_deconv while its
		// VAST rows keep the text's order, so read by name the CSV
		// gives the text's maj_axis_deconv_err values.
		pdc3, pdc2 float64
	}{
		{"epoch01.selavy.components.txt", SelavyText, 4, 5, 10.30, 180 - 52.02},
		{"epoch01.selavy.components.xml", SelavyVOTable, 4, 3, 10.30, 180 - 52.02},
		{"epoch01.selavy.components.csv", SelavyCSV, 5, 5, 140.66, 0},
	} {
		t.Run(string(tc.format), func(t *testing.T) {
			c, err := Read(testutil.SharedFile(t, "selavy/"+tc.file))
			if err != nil {
				t.Fatal(err)
			}
			if c.Format != tc.format || len(c.Rows) != tc.rows {
				t.Fatalf("format %s with %d rows, want %s with %d", c.Format, len(c.Rows), tc.format, tc.rows)
			}
			// Sorted by RA: island_3 (149.983319) first among the
			// field's components; the CSV's other-field row (RA
			// 335.72) last.
			r := c.Rows[0]
			if r.Island != "island_3" || r.Component != "component_3a" || r.Line != tc.line0 {
				t.Fatalf("first row %s/%s line %d, want island_3/component_3a line %d", r.Island, r.Component, r.Line, tc.line0)
			}
			s := r.Src
			// Values of island_3's line, in gotrap's units: mJy -> Jy,
			// FWHM -> HWHM. Exact decimal conversions: 1e-12 relative
			// covers float rounding.
			want := map[string][2]float64{
				"ra": {s.RA, 149.983319}, "dec": {s.Dec, -30.016111},
				"peak": {s.Peak, 1.998241478}, "peak_err": {s.PeakErr, 0.000297340},
				"flux": {s.Flux, 2.000053047}, "flux_err": {s.FluxErr, 0.000665245},
				"smaj_asec": {s.SmajAsec, 15.01 / 2}, "smin_asec": {s.SminAsec, 10.00 / 2},
				"theta_celes": {s.ThetaCeles, 0.03}, "theta_celes_err": {s.ThetaCelesErr, 0.01},
				"theta_dc_celes": {s.ThetaDCCeles, tc.pdc3}, "chisq": {s.Chisq, 275.405090},
				"rms": {r.RMS, 0.000986237}, "sig": {s.Sig, 1998.241478 / 0.986237},
			}
			for k, v := range want {
				if !testutil.Close(v[0], v[1], 0, 1e-12) {
					t.Errorf("%s = %.12g, want %.12g", k, v[0], v[1])
				}
			}
			if !s.Gaussian || s.Deblended {
				t.Errorf("Gaussian %v Deblended %v, want true false (fit_is_estimate 0, has_siblings 0)", s.Gaussian, s.Deblended)
			}
			last := c.Rows[3]
			if last.Island != "island_2" || !testutil.Close(last.Src.Peak, 2.000762424, 0, 1e-12) ||
				!testutil.Close(last.Src.ThetaDCCeles, tc.pdc2, 1e-12, 1e-12) {
				t.Errorf("fourth row %s peak %v theta_dc_celes %v, want island_2 2.000762424 %v",
					last.Island, last.Src.Peak, last.Src.ThetaDCCeles, tc.pdc2)
			}
		})
	}
}

// TestSelavyPlace places the CASDA CSV on its image: four components on
// the image, the other field's row dropped with its line and reason.
func TestSelavyPlace(t *testing.T) {
	dir := testutil.SharedData(t)
	c, err := Read(dir + "/selavy/epoch01.selavy.components.csv")
	if err != nil {
		t.Fatal(err)
	}
	meta, err := fitsimg.ReadMeta(dir+"/selavy/epoch01.fits", fitsimg.Options{})
	if err != nil {
		t.Fatal(err)
	}
	srcs, drops := Place(c, meta.WCS, meta.Axes[0], meta.Axes[1], meta.PixelScale)
	if len(srcs) != 4 || len(drops) != 1 {
		t.Fatalf("%d placed, %d dropped, want 4 and 1", len(srcs), len(drops))
	}
	if d := drops[0]; d.Line != 2 || d.Component != "SB11711_component_9b" || !strings.Contains(d.Reason, "outside the image") {
		t.Errorf("drop %+v, want line 2 SB11711_component_9b outside the image", d)
	}
	// island_4 is at the reference pixel region centre (150, -30): its
	// pixel must convert back to its sky position.
	for _, s := range srcs {
		ra, dec, err := meta.WCS.PixToSky(s.X, s.Y)
		if err != nil {
			t.Fatal(err)
		}
		// 1e-9 deg: the WCS round trip's rounding, far below the
		// catalogue's 1e-6 deg precision.
		if !testutil.Close(ra, s.RA, 1e-9, 0) || !testutil.Close(dec, s.Dec, 1e-9, 0) {
			t.Errorf("source %d pixel (%v, %v) -> (%v, %v), want (%v, %v)", s.ID, s.X, s.Y, ra, dec, s.RA, s.Dec)
		}
		// Beam 15" x 10" at 2"/pixel: semi-axes 3.75 and 2.5 px
		// within the catalogue's 0.01" rounding (0.005 px).
		if !testutil.Close(s.Smaj, 3.75, 0.01, 0) || !testutil.Close(s.Smin, 2.5, 0.01, 0) {
			t.Errorf("source %d smaj, smin = %v, %v px, want 3.75, 2.5", s.ID, s.Smaj, s.Smin)
		}
	}
}

// TestBadCatalogues: malformed content names the file, line and column.
func TestBadCatalogues(t *testing.T) {
	hdr := "ra_deg_cont,dec_deg_cont,ra_err,dec_err,flux_peak,flux_peak_err,flux_int,flux_int_err,maj_axis,min_axis,pos_ang\n"
	// Selavy's text: names and units right-aligned to the same column.
	txt := func(fluxPeakUnit string) string {
		var names, units string
		for i, c := range strings.Split("island_id ra_deg_cont dec_deg_cont ra_err dec_err flux_peak flux_peak_err flux_int flux_int_err maj_axis min_axis pos_ang", " ") {
			u := strings.Split("-- [deg] [deg] [arcsec] [arcsec] ["+fluxPeakUnit+"] [mJy/beam] [mJy] [mJy] [arcsec] [arcsec] [deg]", " ")[i]
			names += fmt.Sprintf("%16s", c)
			units += fmt.Sprintf("%16s", u)
		}
		return "#" + names + "\n#" + units + "\n  island_1 150 -30 0 0 1 0.1 1 0.1 15 10 0\n"
	}
	for _, tc := range []struct{ name, data, want string }{
		{"missing column", "ra_deg_cont,dec_deg_cont\n1,2\n", `missing column "ra_err"`},
		{"bad number", hdr + "150,-30,0,0,abc,1,1,1,15,10,0\n", "line 2, column flux_peak: \"abc\" is not a finite number"},
		{"nan", hdr + "150,-30,0,0,nan,1,1,1,15,10,0\n", "line 2, column flux_peak"},
		{"bad dec", hdr + "150,-130,0,0,1,1,1,1,15,10,0\n", "line 2, column dec_deg_cont"},
		{"zero axis", hdr + "150,-30,0,0,1,1,1,1,0,10,0\n", "line 2, column maj_axis/min_axis"},
		{"too many fields", hdr + "150,-30,0,0,1,1,1,1,15,10,0,9\n", "line 2: 12 fields"},
		{"wrong unit", txt("K"), `column flux_peak: unit "K" not understood`},
		{"Jy unit", txt("Jy/beam"), ""},
		{"pyse header", "id,peak\n0,1\n", "not a catalogue gotrap reads"},
		{"votable binary", `<VOTABLE><RESOURCE><TABLE><FIELD name="a"/><DATA><BINARY/></DATA></TABLE></RESOURCE></VOTABLE>`, "only TABLEDATA"},
		{"votable cells", `<VOTABLE><RESOURCE><TABLE><FIELD name="a"/><DATA><TABLEDATA><TR><TD>1</TD><TD>2</TD></TR></TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>`, "row 1: 2 TD cells"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Parse(strings.NewReader(tc.data), "cat.x")
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				// [Jy/beam] declared: 1 Jy/beam, not 1 mJy/beam.
				if c.Rows[0].Src.Peak != 1 {
					t.Errorf("peak %v Jy/beam, want 1", c.Rows[0].Src.Peak)
				}
				return
			}
			if err == nil || !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "cat.x: ") || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want ErrFormat naming cat.x and %q", err, tc.want)
			}
		})
	}
}

// TestParquetFormat: gotrap's measurements Parquet is recognised by its
// magic bytes and its rows keep the file's values; a damaged file is an
// ErrFormat naming it.
func TestParquetFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "m.parquet")
	in := []catalog.Measurement{{ID: 7, RA: 150, Decl: -30, FPeak: 0.5, XPix: 3.5, YPix: 4.5, ThetaDC: 0.25, FitType: catalog.FitGaussian}}
	if err := catalog.WriteFile(p, in); err != nil {
		t.Fatal(err)
	}
	c, err := Read(p)
	if err != nil {
		t.Fatal(err)
	}
	if c.Format != GotrapParquet || len(c.Rows) != 1 {
		t.Fatalf("format %s, %d rows; want %s, 1", c.Format, len(c.Rows), GotrapParquet)
	}
	s := c.Rows[0].Src
	// ThetaDC: radians in the file, degrees in kernels.Source; 1e-15
	// relative is the conversion's rounding.
	if s.RA != 150 || s.Dec != -30 || s.Peak != 0.5 || s.X != 3.5 || s.Y != 4.5 || !s.Gaussian ||
		!testutil.Close(s.ThetaDC, 0.25*180/math.Pi, 0, 1e-15) || !c.Rows[0].Pixel {
		t.Errorf("row %+v does not keep the file's values", s)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(bytes.NewReader(b[:len(b)/2]), "half.parquet"); !errors.Is(err, ErrFormat) || !strings.Contains(err.Error(), "half.parquet") {
		t.Errorf("truncated Parquet: %v, want ErrFormat naming half.parquet", err)
	}
}
