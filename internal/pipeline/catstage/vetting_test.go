package catstage

import (
	"context"
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/sim"
	"gotrap/kernels/sphere"
)

// TestVettingTiny runs the tiny preset (seed 1) with two user sources
// beside each other: a steady 5 Jy source at (150.15, 52.91) and a 5 Jy
// transient 262" east of it (1.5 beam FWHM at 120 MHz, 2 at 160 MHz),
// on from timestep 3. Their island merges from timestep 3 (the saddle is
// over 20 times the analysis threshold) and has two peaks; one Gaussian
// (deblending off) lands on either source or between them (the blend
// seen in rsm-mini). So:
//
//   - the blind measurements of that island are marked blended from
//     timestep 3 on and not before (the kernel flag, end to end);
//   - the new sources within two beams of the pair (this seed makes two:
//     the transient itself at 160 MHz, and a fit between the two at
//     timestep 6) are all flagged, and the transients query hides them;
//   - the preset's own transients (isolated) are new sources without
//     flags, first in the transients query, and each has upper limits in
//     every accepted image of the timesteps before its first detection
//     whose usable area holds it: detection_thresh x the rms at its
//     position, an rms between the image's rms_min and rms_max; its light
//     curve lists them first, as kind limit.
func TestVettingTiny(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates its own data")
	}
	srcFile := filepath.Join(t.TempDir(), "pair.csv")
	if err := os.WriteFile(srcFile, []byte("ra,dec,flux_jy,spectral_index,onset_step\n150.15,52.91,5,-0.7,\n150.27,52.91,5,-0.7,3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data := pipetest.Simulate(t, sim.PresetTiny, 1, "sources", srcFile)
	run := filepath.Join(t.TempDir(), "run")
	inputs, err := pipeline.ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pipeline.Run(context.Background(), pipeline.Options{Run: run, Inputs: inputs, Config: config.Default()}); err != nil {
		t.Fatal(err)
	}
	db, err := duck.Open(context.Background(), run, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := func(query string, scan func(*sql.Rows) error) {
		t.Helper()
		rows, err := db.SQL().Query(query)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				t.Fatal(err)
			}
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}

	// The pair's island: blind measurements within 300" of the midpoint
	// (150.21, 52.91), per timestep, blended or not. 300" holds both
	// sources and any fit between them.
	near := `abs(m.decl - 52.91) < 300.0 / 3600 AND abs(m.ra - 150.21) * cos(radians(52.91)) < 300.0 / 3600`
	q(`SELECT i.timestep, count(*), count(*) FILTER (WHERE m.blended) FROM measurements m JOIN images i ON i.id = m.image
	   WHERE m.extract_type = 0 AND `+near+` GROUP BY i.timestep ORDER BY 1`, func(r *sql.Rows) error {
		var ts, n, nb int64
		if err := r.Scan(&ts, &n, &nb); err != nil {
			return err
		}
		if ts < 3 && nb != 0 || ts >= 3 && nb != n {
			t.Errorf("timestep %d: %d of %d blind measurements of the pair blended", ts, nb, n)
		}
		return nil
	})
	flaggedNear := 0
	q(`SELECT v.flags FROM newsources n JOIN runcat r ON r.id = n.runcat
	   JOIN vetting v ON v.runcat = n.runcat AND v.ref = 'trigger'
	   WHERE abs(r.wm_decl - 52.91) < 300.0 / 3600 AND abs(r.wm_ra - 150.21) * cos(radians(52.91)) < 300.0 / 3600`, func(r *sql.Rows) error {
		var flags string
		if err := r.Scan(&flags); err != nil {
			return err
		}
		if flags == "" {
			t.Errorf("a new source beside the pair has no flag")
		}
		flaggedNear++
		return nil
	})
	if flaggedNear == 0 {
		t.Error("no new source beside the pair: the blend case is not exercised (change the seed or the fluxes)")
	}
	t.Logf("%d new sources beside the pair, all flagged", flaggedNear)

	// The preset's transients against the truth.
	truth := pipetest.ReadTruth(t, data)
	type ns struct {
		runcat  int64
		ra, dec float64
		flags   string
	}
	var shown []ns // the transients query, in order
	tq, _ := duck.Lookup("transients")
	tsql, err := tq.Bind(nil)
	if err != nil {
		t.Fatal(err)
	}
	q(tsql, func(r *sql.Rows) error {
		cols, _ := r.Columns()
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := r.Scan(ptrs...); err != nil {
			return err
		}
		row := map[string]any{}
		for i, c := range cols {
			row[c] = vals[i]
		}
		shown = append(shown, ns{runcat: row["runcat"].(int64), ra: row["ra"].(float64), dec: row["dec"].(float64), flags: row["flags"].(string)})
		return nil
	})
	found := 0
	for _, s := range truth.Sources {
		if s.Class != "transient" || math.Abs(s.RA-150.27) < 1e-6 {
			continue
		}
		var rc int64
		for k, n := range shown {
			if (sphere.Sep(s.RA, s.Dec, n.ra, n.dec) * 3600) < pipetest.MatchArcsec {
				rc = n.runcat
				if n.flags != "" {
					t.Errorf("transient %d (runcat %d) flagged %q", s.ID, rc, n.flags)
				}
				if k >= 4 {
					t.Errorf("transient %d is row %d of the transients query, want among the first 4", s.ID, k+1)
				}
			}
		}
		if rc == 0 {
			t.Errorf("transient %d at (%.4f, %.4f) is not in the transients query", s.ID, s.RA, s.Dec)
			continue
		}
		found++
		// Its limits: the accepted images of earlier timesteps whose
		// area holds it (the tiny field's one beam holds every position
		// but those in the 10 px margin, which the preset's transients
		// avoid), and nothing else.
		var want, got int64
		rcs := strconv.FormatInt(rc, 10)
		q(`SELECT count(*) FROM images WHERE NOT rejected AND timestep < (SELECT min(i.timestep) FROM associations a
		   JOIN images i ON i.id = a.xtrsrc >> 24 WHERE a.runcat = `+rcs+`)`, func(r *sql.Rows) error { return r.Scan(&want) })
		q(`SELECT count(*) FROM limits l JOIN images i ON i.id = l.image WHERE l.runcat = `+rcs+`
		   AND l.rms_from_map AND l.rms BETWEEN i.rms_min AND i.rms_max
		   AND abs(l.f_peak_limit - i.detection_thresh * l.rms) <= 1e-12 * l.f_peak_limit`, func(r *sql.Rows) error { return r.Scan(&got) })
		if want == 0 || got != want {
			t.Errorf("transient %d (runcat %d): %d good limits, want %d (the accepted earlier images)", s.ID, rc, got, want)
		}
		lc, err := db.Named(context.Background(), "lightcurve", []string{rcs})
		if err != nil {
			t.Fatal(err)
		}
		var kinds []string
		for lc.Next() {
			cols, _ := lc.Columns()
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := lc.Scan(ptrs...); err != nil {
				t.Fatal(err)
			}
			for i, c := range cols {
				if c == "kind" {
					kinds = append(kinds, vals[i].(string))
				}
			}
		}
		lc.Close()
		for k, kind := range kinds {
			if (int64(k) < want) != (kind == "limit") {
				t.Errorf("transient %d: light curve kinds %v, want %d limits first", s.ID, kinds, want)
				break
			}
		}
	}
	if found != 4 {
		t.Errorf("%d of the preset's 4 transients found", found)
	}
}
