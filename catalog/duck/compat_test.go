package duck

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/catalog/catalogtest"
)

func TestSourceName(t *testing.T) {
	db, _ := openHand(t)
	for _, c := range []struct {
		ra, dec float64
		want    string
	}{
		// By hand: 359.95 deg / 15 = 23.99667 h = 23h59m48.0s.
		{359.95, 30, "GTR J235948.0+300000"},
		// 0.05 deg = 12.0 s of time; 30.02 deg = 30d01m12s.
		{0.05, 30.02, "GTR J000012.0+300112"},
		// Truncated, not rounded: 10.000416 deg = 0h40m00.0998s -> 00.0;
		// -0.99999 deg = -0d59m59.964s -> -005959.
		{10.000416, -0.99999, "GTR J004000.0-005959"},
		// Negative zero degrees keeps the sign: -0.5 deg = -0d30m00s.
		{123.456, -0.5, "GTR J081349.4-003000"},
		// RA wraps: 360 deg is 0h.
		{360, 89.99999, "GTR J000000.0+895959"},
	} {
		var got string
		if err := db.SQL().QueryRow("SELECT gotrap_name(?, ?)", c.ra, c.dec).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("gotrap_name(%v, %v) = %q, want %q", c.ra, c.dec, got, c.want)
		}
	}
}

func TestNamePrefix(t *testing.T) {
	dir := t.TempDir()
	if err := catalogtest.WriteHandRun(dir); err != nil {
		t.Fatal(err)
	}
	db, err := Open(context.Background(), dir, Options{Threads: 1, NamePrefix: "LOFT"})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got string
	if err := db.SQL().QueryRow("SELECT name FROM runningcatalog WHERE id = ?", catalogtest.Sources()["A"]).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(got, "LOFT J235948.0+") {
		t.Errorf("name = %q, want prefix LOFT and source A's position", got)
	}
	for _, bad := range []string{"G T R", "1GTR", "GTR'; DROP", "ABCDEFGHIJKLMNOPQ"} {
		if db, err := Open(context.Background(), dir, Options{Threads: 1, NamePrefix: bad}); err == nil {
			db.Close()
			t.Errorf("prefix %q accepted", bad)
		}
	}
}

// TestCompatViews queries every view under TraP's and the VAST
// pipeline's names by the columns docs/catalog.md maps, and checks the
// rows against gotrap's own views.
func TestCompatViews(t *testing.T) {
	dir := t.TempDir()
	if err := catalogtest.WriteHandRun(dir); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// An extra Parquet file of the run (as the pipeline writes
	// assocskyrgn.parquet) becomes a view of its own name.
	{
		db, err := Open(ctx, dir, Options{Threads: 1})
		if err != nil {
			t.Fatal(err)
		}
		err = db.CopyParquet(ctx, "SELECT 7::BIGINT AS runcat, 3::BIGINT AS skyrgn, 0.25 AS distance_deg", filepath.Join(dir, "assocskyrgn.parquet"))
		db.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	db, err := Open(ctx, dir, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	count := func(q string) int64 {
		t.Helper()
		var n int64
		if err := db.SQL().QueryRow(q).Scan(&n); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		return n
	}
	a := catalogtest.Sources()["A"]
	for _, c := range []struct{ name, query, same string }{
		{"image", "SELECT count(id + band + skyrgn + tau_time + freq_eff + freq_bw + rb_smaj + rb_smin + rb_pa + rms_qc + rms_min + rms_max + detection_thresh + centre_ra + centre_decl), count(taustart_ts), count(url) / count(*) * count(*) FROM image", "SELECT count(*) FROM images"},
		{"extractedsource", "SELECT count(id + image + ra + decl + ra_err + decl_err + f_peak + f_peak_err + f_int + f_int_err + det_sigma + extract_type + semimajor + semiminor + pa) FROM extractedsource", "SELECT count(*) FROM measurements"},
		{"extractedsource forced", "SELECT count(*) FROM extractedsource WHERE ff_runcat IS NOT NULL", "SELECT count(*) FROM measurements WHERE extract_type IN (1, 3)"},
		{"runningcatalog", "SELECT count(id + xtrsrc + datapoints + zone + wm_ra + wm_decl + wm_uncertainty_ew + wm_uncertainty_ns + avg_ra_err + avg_decl_err + x + y + z + forcedfits_count), count(name) FROM runningcatalog WHERE NOT mon_src OR mon_src", "SELECT count(*) FROM runcat"},
		{"runningcatalog_flux", "SELECT count(runcat + band + stokes + f_datapoints + avg_f_peak + avg_f_int + avg_weighted_f_int) FROM runningcatalog_flux", "SELECT count(*) FROM runcat_flux"},
		{"assocxtrsource", "SELECT count(runcat + xtrsrc + type + distance_arcsec + r + v_int + eta_int + f_datapoints) FROM assocxtrsource", "SELECT count(*) FROM associations"},
		{"newsource", "SELECT count(id + runcat + trigger_xtrsrc + previous_limits_image + newsource_type) FROM newsource", "SELECT count(*) FROM newsources"},
		{"varmetric", "SELECT count(runcat + band + v_int + eta_int) FROM varmetric", "SELECT count(*) FROM varmetric"},
		{"skyregion", "SELECT count(id + centre_ra + centre_decl + xtr_radius + x + y + z) FROM skyregion", "SELECT count(*) FROM skyregions"},
		{"frequencyband", "SELECT count(id + freq_central + freq_low + freq_high) FROM frequencyband", "SELECT count(*) FROM bands"},
		{"assocskyrgn", "SELECT count(*) FROM assocskyrgn WHERE runcat = 7 AND skyrgn = 3 AND distance_deg = 0.25", "SELECT 1"},
		{"sources", "SELECT count(DISTINCT id), count(name), count(wavg_ra + wavg_dec + avg_flux_int + avg_flux_peak + max_flux_peak + max_flux_int + n_meas + n_meas_sel + n_meas_forced + eta_int + v_int + eta_peak + v_peak + new_high_sigma) FROM sources", "SELECT count(*) FROM runcat"},
		{"sources new", "SELECT count(*) FROM sources WHERE new", "SELECT count(DISTINCT runcat) FROM newsources"},
		{"sources vs", "SELECT count(vs_abs_significant_max_int + m_abs_significant_max_int) FROM sources WHERE n_meas_sel + n_meas_forced > 1", "SELECT count(DISTINCT runcat) FROM varmetric WHERE n_points > 1"},
		{"vast_measurements", "SELECT count(id + image_id + ra + dec + ra_err + dec_err + flux_peak + flux_peak_err + flux_int + flux_int_err + snr), count(\"time\"), count(forced) FROM vast_measurements", "SELECT count(*) FROM measurements"},
		{"vast_associations", "SELECT count(source_id + meas_id + d2d + dr) FROM vast_associations", "SELECT count(*) FROM associations"},
	} {
		t.Run(c.name, func(t *testing.T) {
			want := count(c.same)
			if want == 0 {
				t.Fatalf("%s: the hand run has no rows to compare", c.same)
			}
			rows, err := db.SQL().Query(c.query)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			cols, _ := rows.Columns()
			got := make([]int64, len(cols))
			ptrs := make([]any, len(cols))
			for i := range got {
				ptrs[i] = &got[i]
			}
			if !rows.Next() {
				t.Fatal("no row")
			}
			if err := rows.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, g := range got {
				if g != want {
					t.Errorf("%s: column %d = %d, want %d (%s)", c.query, i+1, g, want, c.same)
				}
			}
		})
	}
	// Values: VAST fluxes are mJy; the sources row of A is its
	// best-sampled band.
	var name string
	var avg, mean float64
	if err := db.SQL().QueryRow(`SELECT s.name, s.avg_flux_int, v.f_int_mean FROM sources s
		JOIN varmetric v ON v.runcat = s.id AND v.band = s.band WHERE s.id = ?`, a).Scan(&name, &avg, &mean); err != nil {
		t.Fatal(err)
	}
	if name != "GTR J235948.0+300000" {
		t.Errorf("source A's name = %q", name)
	}
	// 1e3 * mean: one multiplication, so within an ulp or two.
	if d := avg - 1e3*mean; d*d > 1e-24*avg*avg {
		t.Errorf("avg_flux_int = %v mJy, want 1e3 * %v Jy", avg, mean)
	}
	if n := count("SELECT count(*) FROM vast_measurements m JOIN measurements x ON x.id = m.id WHERE m.flux_peak <> 1e3 * x.f_peak OR m.\"dec\" <> x.decl"); n != 0 {
		t.Errorf("%d vast_measurements rows differ from measurements", n)
	}
	if n := count("SELECT count(*) FROM sources s JOIN varmetric v ON v.runcat = s.id WHERE v.n_points > (SELECT n_points FROM varmetric w WHERE w.runcat = s.id AND w.band = s.band)"); n != 0 {
		t.Errorf("%d sources rows are not of their best-sampled band", n)
	}
}
