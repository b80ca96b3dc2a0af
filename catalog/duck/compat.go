package duck

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// NameSQL defines the macro gotrap_name(ra, dec): the IAU-style name
// "PREFIX Jhhmmss.s+ddmmss" of a position in degrees, each field
// truncated, not rounded (IAU convention, so a name never moves the
// source into the next cell). The 1e-6 of a unit added before each floor
// absorbs the float error of ra/15*36000 (a position at an exact tenth of
// a second, e.g. 359.95 deg = 23h59m48.0s, computes as ...47.99999999);
// it is far below the 0.1 s / 1 arcsec resolution of the name.
func NameSQL(prefix string) string {
	return `CREATE OR REPLACE MACRO gotrap_ra_ds(ra) AS
    CAST(floor(((ra % 360 + 360) % 360) / 15 * 36000 + 1e-6) AS BIGINT) % 864000;
CREATE OR REPLACE MACRO gotrap_dec_as(decl) AS
    CAST(floor(abs(decl) * 3600 + 1e-6) AS BIGINT);
CREATE OR REPLACE MACRO gotrap_name(ra, decl) AS
    CASE WHEN ra IS NULL OR decl IS NULL OR isnan(ra) OR isnan(decl) THEN NULL ELSE
    printf('%s J%02d%02d%02d.%d%s%02d%02d%02d', ` + quote(prefix) + `,
           gotrap_ra_ds(ra) // 36000, (gotrap_ra_ds(ra) // 600) % 60, (gotrap_ra_ds(ra) // 10) % 60, gotrap_ra_ds(ra) % 10,
           CASE WHEN decl < 0 THEN '-' ELSE '+' END,
           gotrap_dec_as(decl) // 3600, (gotrap_dec_as(decl) // 60) % 60, gotrap_dec_as(decl) % 60) END`
}

// CompatViews are the views under TraP's and the VAST pipeline's table
// names (docs/catalog.md maps every column), over the views of the run's
// tables. The VAST pipeline's measurements and associations collide with
// gotrap's own tables, so they are vast_measurements and
// vast_associations; its sources is sources. VAST fluxes are mJy.
var CompatViews = []struct{ Name, SQL string }{
	// TraP (tkp database schema).
	{"image", `SELECT * FROM images`},
	{"extractedsource", `SELECT * FROM measurements`},
	{"runningcatalog", `SELECT *, gotrap_name(wm_ra, wm_decl) AS name FROM runcat`},
	{"runningcatalog_flux", `SELECT * FROM runcat_flux`},
	{"assocxtrsource", `SELECT * FROM associations`},
	{"newsource", `SELECT * FROM newsources`},
	{"skyregion", `SELECT * FROM skyregions`},
	{"frequencyband", `SELECT * FROM bands`},
	// VAST pipeline. One row per runcat; the variability is that of the
	// band with the most points (ties: the lowest band id).
	{"sources", `WITH v AS (
    SELECT * FROM varmetric
    QUALIFY row_number() OVER (PARTITION BY runcat ORDER BY n_points DESC, band) = 1
), nh AS (
    SELECT n.runcat, max(t.new_high_sigma) AS new_high_sigma
    FROM newsources n LEFT JOIN vetting t ON t.runcat = n.runcat AND t.xtrsrc = n.trigger_xtrsrc
    GROUP BY n.runcat
)
SELECT r.id, gotrap_name(r.wm_ra, r.wm_decl) AS name,
       r.wm_ra AS wavg_ra, r.wm_decl AS wavg_dec,
       r.wm_uncertainty_ew AS wavg_uncertainty_ew, r.wm_uncertainty_ns AS wavg_uncertainty_ns,
       v.band, b.freq_central AS freq_hz,
       1e3 * v.f_int_mean AS avg_flux_int, 1e3 * v.f_peak_mean AS avg_flux_peak,
       1e3 * v.f_int_max AS max_flux_int, 1e3 * v.f_peak_max AS max_flux_peak,
       v.v_int, v.v_peak, v.eta_int, v.eta_peak,
       abs(v.vs_int) AS vs_abs_significant_max_int, abs(v.m_int) AS m_abs_significant_max_int,
       abs(v.vs_peak) AS vs_abs_significant_max_peak, abs(v.m_peak) AS m_abs_significant_max_peak,
       r.datapoints AS n_meas, v.n_points - v.n_forced AS n_meas_sel, v.n_forced AS n_meas_forced,
       n.runcat IS NOT NULL AS new, coalesce(nh.new_high_sigma, 0) AS new_high_sigma
FROM runcat r
LEFT JOIN v ON v.runcat = r.id
LEFT JOIN bands b ON b.id = v.band
LEFT JOIN newsources n ON n.runcat = r.id
LEFT JOIN nh ON nh.runcat = r.id`},
	{"vast_measurements", `SELECT m.id, m.image AS image_id, i.taustart_ts AS "time",
       m.ra, m.decl AS "dec", m.ra_err, m.decl_err AS dec_err,
       m.uncertainty_ew, m.uncertainty_ns,
       1e3 * m.f_peak AS flux_peak, 1e3 * m.f_peak_err AS flux_peak_err,
       1e3 * m.f_int AS flux_int, 1e3 * m.f_int_err AS flux_int_err,
       2 * m.semimajor AS bmaj, 2 * m.semiminor AS bmin, m.pa,
       m.det_sigma AS snr, m.f_int / m.f_peak AS compactness,
       m.extract_type <> 0 AS forced, m.blended OR m.deblended AS has_siblings,
       m.chisq, m.extract_type
FROM measurements m
LEFT JOIN images i ON i.id = m.image`},
	{"vast_associations", `SELECT runcat AS source_id, xtrsrc AS meas_id, distance_arcsec AS d2d, r AS dr, type FROM associations`},
}

// createExtraViews makes a view of every RUN/NAME.parquet that is not one
// of catalog.Tables (e.g. assocskyrgn, events), named NAME, over that file
// and the table's parts (RUN/NAME/rank=RRRR/*.parquet: a live run's
// events), then the compatibility views and the name macro.
func (d *DB) createExtraViews(ctx context.Context, prefix string) error {
	known := map[string]bool{ViewVetting: true}
	for _, t := range catalog.Tables() {
		known[t.Name] = true
	}
	for _, v := range CompatViews {
		known[v.Name] = true
	}
	matches, err := filepath.Glob(rundir.TablePath(globEscape(d.run), "*"))
	if err != nil {
		return fmt.Errorf("duck: could not list %s: %w", d.run, err)
	}
	// A table a live run grows by parts (RUN/NAME/rank=RRRR/*.parquet,
	// the events) reads them too, in name order.
	parts, err := filepath.Glob(rundir.PartGlob(globEscape(d.run), "*", ""))
	if err != nil {
		return fmt.Errorf("duck: could not list %s: %w", d.run, err)
	}
	files := map[string][]string{}
	var names []string
	add := func(name, p string) {
		if known[name] || !identRE.MatchString(name) {
			return
		}
		if st, err := os.Stat(p); err != nil || !st.Mode().IsRegular() {
			return
		}
		if files[name] == nil {
			names = append(names, name)
		}
		files[name] = append(files[name], p)
	}
	for _, p := range matches {
		add(strings.TrimSuffix(filepath.Base(p), ".parquet"), p)
	}
	for _, p := range parts {
		add(filepath.Base(filepath.Dir(filepath.Dir(p))), p)
	}
	for _, name := range names {
		q := make([]string, len(files[name]))
		for i, p := range files[name] {
			q[i] = quote(p)
		}
		v := fmt.Sprintf("CREATE OR REPLACE VIEW %s AS SELECT * FROM read_parquet([%s], hive_partitioning = false)", ident(name), strings.Join(q, ", "))
		if _, err := d.db.ExecContext(ctx, v); err != nil {
			return fmt.Errorf("duck: could not create view %s: %w", name, err)
		}
		d.files[name] = len(files[name])
	}
	for _, s := range strings.Split(NameSQL(prefix), ";\n") {
		if _, err := d.db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("duck: could not define gotrap_name: %w", err)
		}
	}
	for _, v := range CompatViews {
		if _, err := d.db.ExecContext(ctx, "CREATE OR REPLACE VIEW "+ident(v.Name)+" AS "+v.SQL); err != nil {
			return fmt.Errorf("duck: could not create view %s: %w", v.Name, err)
		}
	}
	return nil
}

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// globEscape escapes filepath.Glob's metacharacters in a directory name.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[\`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
