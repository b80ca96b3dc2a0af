package respond

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

// TestParseAlertRealPackets parses every real packet of
// ../shared/data/voevents: the VOEvent 2.0 ones parse with the values
// their XML holds, the VOEvent 1.1 one is rejected as such.
func TestParseAlertRealPackets(t *testing.T) {
	dir := testutil.SharedFile(t, "voevents")
	files, err := filepath.Glob(filepath.Join(dir, "*.xml"))
	if err != nil || len(files) != 9 {
		t.Fatalf("want the 9 packets of the README, found %d (%v)", len(files), err)
	}
	type want struct {
		pos        bool
		ra, dec, r float64
		retraction bool
	}
	wants := map[string]want{
		"swift-bat-grb-pos_655721-214.xml":        {true, 319.7309, -34.8537, 0.05, false},
		"swift-xrt-pos_655721-326.xml":            {true, 319.6588, -34.9131, 0.001, false},
		"fermi-gbm-gnd-pos_792162735.xml":         {true, 283.81, 50.33, 2.16, false},
		"4pisky-asassn_2016-09-25.47_2016fvf.xml": {true, 345.0172083333333, 17.84811111111111, 0.0044444444444444444, false},
		"gaia-alert_Gaia16aac.xml":                {true, 73.29423, 7.35212, 0.00002, false},
		"konus-lightcurve_2015-07-10.xml":         {false, 0, 0, 0, false},
		"svom-grm-trigger_sb26020402.xml":         {false, 0, 0, 0, false},
		"svom-grm-retraction_sb26020402.xml":      {true, 169.5696, 3.8676, 0.0831, true},
	}
	for _, f := range files {
		name := filepath.Base(f)
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			a, err := ParseAlert(name, b)
			if strings.Contains(name, "v1.1") {
				if !errors.Is(err, ErrNotVOEvent2) || !strings.Contains(err.Error(), "1.1") {
					t.Errorf("VOEvent 1.1 packet: err %v, want ErrNotVOEvent2 naming the version", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			w, ok := wants[name]
			if !ok {
				t.Fatalf("no expectation for %s", name)
			}
			if a.HasPosition != w.pos || a.Retraction() != w.retraction {
				t.Errorf("position %v retraction %v, want %v %v", a.HasPosition, a.Retraction(), w.pos, w.retraction)
			}
			// Exact: the values are the decimal strings of the XML.
			if w.pos && (a.RA != w.ra || a.Dec != w.dec || a.ErrRadius != w.r) {
				t.Errorf("position (%v, %v) r %v, want (%v, %v) r %v", a.RA, a.Dec, a.ErrRadius, w.ra, w.dec, w.r)
			}
			if !strings.HasPrefix(a.IVORN, "ivo://") || a.Time.IsZero() {
				t.Errorf("IVORN %q time %v", a.IVORN, a.Time)
			}
		})
	}
}

// TestParseAlertMalformed: each kind of damage gets an error naming it.
func TestParseAlertMalformed(t *testing.T) {
	good, err := os.ReadFile(filepath.Join(testutil.SharedFile(t, "voevents"), "swift-bat-grb-pos_655721-214.xml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(good)
	for _, c := range []struct{ name, packet, want string }{
		{"truncated", s[:len(s)/2], "well-formed"},
		{"not-voevent", `<?xml version="1.0"?><html><body/></html>`, "root element <html>"},
		{"empty", "", "well-formed"},
		{"bad-ra", strings.Replace(s, "<C1>319.7309</C1>", "<C1>31x9.7</C1>", 1), "C1"},
		{"off-sky", strings.Replace(s, "<C2>-34.8537</C2>", "<C2>-95.0</C2>", 1), "not on the sky"},
		{"no-ivorn", strings.Replace(s, `ivorn="ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_655721-214"`, `ivorn=""`, 1), "IVORN"},
		{"bad-role", strings.Replace(s, `role="observation"`, `role="rumour"`, 1), "role"},
		{"bad-time", strings.Replace(s, "2015-09-15T21:18:24.86", "yesterday", 1), "ISOTime"},
		{"galactic", strings.Replace(s, `coord_system_id="UTC-FK5-GEO"`, `coord_system_id="GALACTIC-GEO"`, 1), "coordinate system"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseAlert(c.name+".xml", []byte(c.packet))
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.name+".xml") {
				t.Errorf("err %v, want one naming the file and %q", err, c.want)
			}
		})
	}
}
