package duck

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// VarMetricSQL returns the SQL of the varmetric table (SPEC 7, 7.3 and
// 8.1; docs/variability.md) from the measurements, associations, images
// and newsources views: one row per (runcat, band) over every associated
// measurement in that band, blind and forced. Each point's flux errors
// get the fractional floor added in quadrature (sigma^2 + (floor*S)^2,
// [variability] flux_error_floor; 0 keeps the measured errors). eta and
// V are the textbook two-pass forms of SPEC 7.1 (reduced chi-squared
// about the weighted mean; sample standard deviation over the mean, with
// TraP's V = 0 when the population variance is below 8e-14 and mean 0
// replaced by 1e-6), which with floor 0 equal the incremental values
// stored on the last association. chi2 = eta * dof, dof = n_points - 1;
// its false-alarm probability and Gaussian significance come from the
// chi-square distribution (the functions gotrap_chi2_log10_sf and
// gotrap_gauss_sigma that Open registers: catalog.Log10ChiSquareSF and
// catalog.GaussSigma). The two-epoch Vs and m (Mooley et al. 2016) are
// those of the pair with the largest |Vs|, ties to the earliest pair.
// Sums are compensated (fsum) and taken in measurement-id order, so the
// result does not depend on DuckDB's thread count. Backward forced fits
// (association type 10, catalog.AssocBackward) are left out: they are
// not part of the running flux statistics (docs/pipeline.md "Backward
// forced fits"). Column order is that of catalog.VarMetric. floor must
// be finite and >= 0 (config.Variability.Validate).
func VarMetricSQL(floor float64) string {
	return varMetricWith(varMetricPoints(floor), varMetricNewSources)
}

// varMetricPoints returns the body of VarMetricSQL's pts: the light-curve
// points, each with its weights for the flux-error floor.
func varMetricPoints(floor float64) string {
	return strings.ReplaceAll(varMetricPts, "$floor", "("+strconv.FormatFloat(floor, 'g', -1, 64)+")")
}

// varMetricWith returns VarMetricSQL with pts and ns, the bodies of its
// points and new sources, given: the catalogue's (VarMetricSQL), or
// those ScanVarMetrics materialised once.
func varMetricWith(pts, ns string) string {
	return "WITH pts AS (\n" + pts + "\n),\n" + varMetricStats + "ns AS (\n" + ns + "\n)\n" + varMetricSelect
}

// varMetricPts is the body of VarMetricSQL's pts, with $floor for the floor.
const varMetricPts = `    SELECT a.runcat, i.band, m.id AS xtrsrc, m.extract_type, i.taustart_ts,
           m.f_int, 1 / (m.f_int_err * m.f_int_err + ($floor * m.f_int) * ($floor * m.f_int)) AS w_int,
           m.f_peak, 1 / (m.f_peak_err * m.f_peak_err + ($floor * m.f_peak) * ($floor * m.f_peak)) AS w_peak
    FROM associations a
    JOIN measurements m ON m.id = a.xtrsrc AND a.type <> 10
    JOIN images i ON i.id = m.image`

// varMetricStats are VarMetricSQL's aggregates over pts, per (runcat, band).
const varMetricStats = `g AS (
    SELECT runcat, band,
           count(*) AS n_points,
           count(*) FILTER (WHERE extract_type <> 0) AS n_forced,
           fsum(f_int ORDER BY xtrsrc) / count(*) AS f_int_mean,
           fsum(f_int * w_int ORDER BY xtrsrc) / fsum(w_int ORDER BY xtrsrc) AS f_int_wmean,
           max(f_int) AS f_int_max,
           median(f_int) AS f_int_median,
           fsum(f_peak ORDER BY xtrsrc) / count(*) AS f_peak_mean,
           fsum(f_peak * w_peak ORDER BY xtrsrc) / fsum(w_peak ORDER BY xtrsrc) AS f_peak_wmean,
           max(f_peak) AS f_peak_max,
           median(f_peak) AS f_peak_median,
           min(taustart_ts) AS first_taustart_ts,
           max(taustart_ts) AS last_taustart_ts
    FROM pts
    GROUP BY runcat, band
),
s AS (
    SELECT p.runcat, p.band,
           fsum((p.f_int - g.f_int_mean) * (p.f_int - g.f_int_mean) ORDER BY p.xtrsrc) AS ss_int,
           fsum((p.f_int - g.f_int_wmean) * (p.f_int - g.f_int_wmean) * p.w_int ORDER BY p.xtrsrc) AS chi_int,
           fsum((p.f_peak - g.f_peak_mean) * (p.f_peak - g.f_peak_mean) ORDER BY p.xtrsrc) AS ss_peak,
           fsum((p.f_peak - g.f_peak_wmean) * (p.f_peak - g.f_peak_wmean) * p.w_peak ORDER BY p.xtrsrc) AS chi_peak
    FROM pts p
    JOIN g ON g.runcat = p.runcat AND g.band = p.band
    GROUP BY p.runcat, p.band
),
te AS (
    SELECT runcat, band,
           gotrap_two_epoch(list(f_int ORDER BY taustart_ts, xtrsrc), list(w_int ORDER BY taustart_ts, xtrsrc),
                            list(xtrsrc ORDER BY taustart_ts, xtrsrc)) AS ti,
           gotrap_two_epoch(list(f_peak ORDER BY taustart_ts, xtrsrc), list(w_peak ORDER BY taustart_ts, xtrsrc),
                            list(xtrsrc ORDER BY taustart_ts, xtrsrc)) AS tp
    FROM pts
    GROUP BY runcat, band
),
`

// varMetricNewSources is the body of VarMetricSQL's ns: each runcat's new source.
const varMetricNewSources = `    SELECT n.runcat, n.id AS newsource, n.newsource_type,
           t.f_int / l.rms_min AS sigma_rms_min,
           t.f_int / l.rms_max AS sigma_rms_max
    FROM newsources n
    JOIN measurements t ON t.id = n.trigger_xtrsrc
    JOIN images l ON l.id = n.previous_limits_image`

// varMetricSelect is VarMetricSQL's final select.
const varMetricSelect = `SELECT g.runcat, g.band, g.n_points, g.n_forced,
       CASE WHEN g.n_points < 2 THEN 0 ELSE s.chi_int / (g.n_points - 1) END AS eta_int,
       CASE WHEN g.n_points < 2 OR abs(s.ss_int / g.n_points) < 8e-14 THEN 0
            ELSE sqrt(s.ss_int / (g.n_points - 1)) / (CASE WHEN g.f_int_mean = 0 THEN 1e-6 ELSE g.f_int_mean END)
       END AS v_int,
       CASE WHEN g.n_points < 2 THEN 0 ELSE s.chi_peak / (g.n_points - 1) END AS eta_peak,
       CASE WHEN g.n_points < 2 OR abs(s.ss_peak / g.n_points) < 8e-14 THEN 0
            ELSE sqrt(s.ss_peak / (g.n_points - 1)) / (CASE WHEN g.f_peak_mean = 0 THEN 1e-6 ELSE g.f_peak_mean END)
       END AS v_peak,
       g.f_int_max, g.f_int_mean, g.f_int_median,
       g.f_peak_max, g.f_peak_mean, g.f_peak_median,
       g.first_taustart_ts, g.last_taustart_ts,
       ns.newsource, CAST(ns.newsource_type AS BIGINT) AS newsource_type,
       ns.sigma_rms_min, ns.sigma_rms_max,
       g.n_points - 1 AS dof,
       CASE WHEN g.n_points < 2 THEN 0 ELSE s.chi_int END AS chi2_int,
       CASE WHEN g.n_points < 2 THEN NULL ELSE pow(10, gotrap_chi2_log10_sf(s.chi_int, g.n_points - 1)) END AS p_int,
       CASE WHEN g.n_points < 2 THEN NULL ELSE gotrap_gauss_sigma(gotrap_chi2_log10_sf(s.chi_int, g.n_points - 1)) END AS sigma_int,
       CASE WHEN g.n_points < 2 THEN 0 ELSE s.chi_peak END AS chi2_peak,
       CASE WHEN g.n_points < 2 THEN NULL ELSE pow(10, gotrap_chi2_log10_sf(s.chi_peak, g.n_points - 1)) END AS p_peak,
       CASE WHEN g.n_points < 2 THEN NULL ELSE gotrap_gauss_sigma(gotrap_chi2_log10_sf(s.chi_peak, g.n_points - 1)) END AS sigma_peak,
       te.ti.vs AS vs_int, te.ti.m AS m_int, te.tp.vs AS vs_peak, te.tp.m AS m_peak
FROM g
JOIN s ON s.runcat = g.runcat AND s.band = g.band
JOIN te ON te.runcat = g.runcat AND te.band = g.band
LEFT JOIN ns ON ns.runcat = g.runcat
ORDER BY g.runcat, g.band`

// A Param is a parameter of a named query. In the SQL it is written $NAME
// and replaced by the argument's value as a number literal (the argument
// must parse as a finite number, so nothing else reaches the SQL).
type Param struct {
	Name    string
	Int     bool   // an integer (an id); otherwise a float
	Default string // "" when required
	Doc     string
	// Flag makes the parameter a switch of the command line, --NAME,
	// rather than a positional argument: BindFlags sets it to 1.
	Flag bool
	// Domain, when not nil, checks the value: it returns why a value is
	// out of the parameter's domain, "" when it is in.
	Domain func(v float64) string
}

// Domains of parameters.
func positive(v float64) string {
	if v > 0 {
		return ""
	}
	return "must be positive"
}
func nonNegative(v float64) string {
	if v >= 0 {
		return ""
	}
	return "must not be negative"
}
func probability(v float64) string {
	if v > 0 && v <= 1 {
		return ""
	}
	return "must be a probability in (0, 1]"
}
func declination(v float64) string {
	if v >= -90 && v <= 90 {
		return ""
	}
	return "must be in [-90, 90] degrees"
}

// A Query is a named query over the views.
type Query struct {
	Name   string
	Short  string // one line
	Params []Param
	SQL    string
	// Table lists the columns an aligned table on a terminal shows, in
	// order (nil: all); the other formats keep every column.
	Table []string
	// Exists, when set, is SQL (with the same parameters) whose one
	// value is true when the query's subject exists; NotFound is the
	// message of ErrNotFound otherwise (fmt verbs take the arguments).
	Exists, NotFound string
	// Title, when set, is SQL (with the same parameters) whose one value
	// is a line printed above the table on a terminal (the lightcurve's
	// source name).
	Title string
}

// ErrNotFound is returned by DB.Check for a query whose subject (the
// source of a light curve) is not in the run.
var ErrNotFound = errors.New("not found")

// Usage returns the query's argument synopsis, e.g. "cone RA DEC RADIUS".
func (q Query) Usage() string {
	s := q.Name
	for _, p := range q.Params {
		switch {
		case p.Flag:
			s += " [--" + p.Name + "]"
		case p.Default != "":
			s += " [" + strings.ToUpper(p.Name) + "]"
		default:
			s += " " + strings.ToUpper(p.Name)
		}
	}
	return s
}

var paramRE = regexp.MustCompile(`\$[a-z_]+`)

// Bind returns the query's SQL with its parameters replaced by args (in
// Params order, flags left out; missing optional ones take their
// defaults).
func (q Query) Bind(args []string) (string, error) { return q.BindFlags(args, nil) }

// BindFlags is Bind with the switches named in flags set (Param.Flag); a
// name that is not a switch of the query is an error.
func (q Query) BindFlags(args []string, flags []string) (string, error) {
	npos := 0
	for _, p := range q.Params {
		if !p.Flag {
			npos++
		}
	}
	if len(args) > npos {
		return "", fmt.Errorf("query %s takes at most %d arguments, got %d (usage: %s)", q.Name, npos, len(args), q.Usage())
	}
	set := map[string]bool{}
	for _, f := range flags {
		ok := false
		for _, p := range q.Params {
			ok = ok || p.Flag && p.Name == f
		}
		if !ok {
			return "", fmt.Errorf("query %s has no option --%s (usage: %s)", q.Name, f, q.Usage())
		}
		set[f] = true
	}
	vals := map[string]string{}
	i := 0
	for _, p := range q.Params {
		a := p.Default
		switch {
		case p.Flag:
			if set[p.Name] {
				a = "1"
			}
		case i < len(args):
			a = args[i]
			i++
		default:
			i++
		}
		if a == "" {
			return "", fmt.Errorf("query %s needs %s (usage: %s)", q.Name, strings.ToUpper(p.Name), q.Usage())
		}
		if p.Int {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil {
				return "", fmt.Errorf("query %s: %s must be an integer, got %q", q.Name, strings.ToUpper(p.Name), a)
			}
			if p.Domain != nil {
				if why := p.Domain(float64(v)); why != "" {
					return "", fmt.Errorf("query %s: %s = %d: %s", q.Name, strings.ToUpper(p.Name), v, why)
				}
			}
			vals["$"+p.Name] = "(" + strconv.FormatInt(v, 10) + ")"
			continue
		}
		v, err := strconv.ParseFloat(a, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return "", fmt.Errorf("query %s: %s must be a finite number, got %q", q.Name, strings.ToUpper(p.Name), a)
		}
		if p.Domain != nil {
			if why := p.Domain(v); why != "" {
				return "", fmt.Errorf("query %s: %s = %s: %s", q.Name, strings.ToUpper(p.Name), a, why)
			}
		}
		vals["$"+p.Name] = "(" + strconv.FormatFloat(v, 'g', -1, 64) + ")"
	}
	var bad string
	out := paramRE.ReplaceAllStringFunc(q.SQL, func(tok string) string {
		v, ok := vals[tok]
		if !ok {
			bad = tok
			return tok
		}
		return v
	})
	if bad != "" {
		panic("duck: query " + q.Name + " uses undeclared parameter " + bad)
	}
	return out, nil
}

// Queries returns the named queries in the order help lists them.
func Queries() []Query { return append([]Query(nil), queries...) }

// Lookup returns the named query called name.
func Lookup(name string) (Query, bool) {
	for _, q := range queries {
		if q.Name == name {
			return q, true
		}
	}
	return Query{}, false
}

// Named runs the named query with args.
func (d *DB) Named(ctx context.Context, name string, args []string) (*sql.Rows, error) {
	q, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("duck: no query named %q", name)
	}
	s, err := q.Bind(args)
	if err != nil {
		return nil, err
	}
	if err := d.Check(ctx, q, args); err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, s)
	if err != nil {
		return nil, fmt.Errorf("duck: query %s: %w", name, err)
	}
	return rows, nil
}

// Title runs q's Title SQL with args and returns its line ("" for a
// query without one or a subject that does not exist).
func (d *DB) Title(ctx context.Context, q Query, args []string) (string, error) {
	if q.Title == "" {
		return "", nil
	}
	e := q
	e.SQL = q.Title
	s, err := e.Bind(args)
	if err != nil {
		return "", err
	}
	var t sql.NullString
	if err := d.db.QueryRowContext(ctx, s).Scan(&t); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("duck: query %s: %w", q.Name, err)
	}
	return t.String, nil
}

// Check runs q's existence test (Query.Exists) with args and returns an
// error wrapping ErrNotFound, with the query's message, when its subject
// is not in the run; nil for a query without one.
func (d *DB) Check(ctx context.Context, q Query, args []string) error {
	if q.Exists == "" {
		return nil
	}
	e := q
	e.SQL = q.Exists
	s, err := e.Bind(args)
	if err != nil {
		return err
	}
	var ok bool
	if err := d.db.QueryRowContext(ctx, s).Scan(&ok); err != nil {
		return fmt.Errorf("duck: query %s: %w", q.Name, err)
	}
	if !ok {
		a := make([]any, len(args))
		for i, v := range args {
			a[i] = v
		}
		return notFound(q.Name + ": " + fmt.Sprintf(q.NotFound, a...))
	}
	return nil
}

// notFound is an error that is ErrNotFound with its own message.
type notFound string

func (e notFound) Error() string        { return string(e) }
func (e notFound) Is(target error) bool { return target == ErrNotFound }

var queries = []Query{
	{
		Name:  "transients",
		Short: "new sources (docs/science.md) with their vetting flags, likely transients first; --all shows the flagged ones too",
		Params: []Param{{Name: "all", Int: true, Default: "0", Flag: true,
			Doc: "1 (--all): show the new sources with vetting flags too, after the others"}},
		Table: []string{"runcat", "name", "ra", "dec", "freq_mhz", "taustart", "type", "high_sigma", "sigma_rms_max", "f_peak", "nn_arcsec", "flags"},
		SQL: `-- New sources with their trigger measurement and vetting (the vetting view,
-- docs/catalog.md): newsource_type 1 = likely, 0 = possible transient;
-- new_high_sigma = f_peak(trigger) / the lowest rms at the source's position
-- in the earlier images of its band (VAST); sigma_rms_min/max =
-- f_int(trigger) / rms_min/max(previous_limits_image) (TraP). Flagged rows
-- (flags not empty) are hidden unless $all = 1 (--all), and then listed
-- after the others. Order: unflagged first, then type, then new_high_sigma.
SELECT n.runcat, gotrap_name(r.wm_ra, r.wm_decl) AS name, r.wm_ra AS ra, r.wm_decl AS "dec", i.band, b.freq_central AS freq_hz,
       b.freq_central / 1e6 AS freq_mhz,
       t.image, i.taustart_ts AS taustart, n.newsource_type, n.newsource_type AS type,
       coalesce(v.flags, '') AS flags,
       v.new_high_sigma, v.new_high_sigma AS high_sigma, v.rms_at_pos_min, v.n_limits,
       t.f_int / l.rms_min AS sigma_rms_min, t.f_int / l.rms_max AS sigma_rms_max,
       t.f_peak, t.f_peak_err, t.f_int, t.f_int_err, t.det_sigma,
       v.nn_dist_arcsec, v.nn_dist_arcsec AS nn_arcsec, v.nn_f_peak, v.nn_xtrsrc,
       v.blended, v.deblended, v.edge_dist_pix, v.usable_dist_pix, v.extended,
       v.smaj_dc, v.smaj_dc_err, v.beam_fwhm_arcsec,
       v.flag_blend, v.flag_neighbour, v.flag_edge, v.flag_extended, v.flag_low_sigma,
       n.trigger_xtrsrc, n.previous_limits_image
FROM newsources n
JOIN measurements t ON t.id = n.trigger_xtrsrc
JOIN images i ON i.id = t.image
JOIN images l ON l.id = n.previous_limits_image
LEFT JOIN vetting v ON v.runcat = n.runcat AND v.xtrsrc = n.trigger_xtrsrc
LEFT JOIN runcat r ON r.id = n.runcat
LEFT JOIN bands b ON b.id = i.band
WHERE $all = 1 OR coalesce(v.flags, '') = ''
ORDER BY coalesce(v.flags, '') <> '', n.newsource_type DESC, v.new_high_sigma DESC NULLS LAST,
         sigma_rms_max DESC, n.runcat`,
	},
	{
		Name:  "variables",
		Short: "variable candidates: significant chi-square of the light curve and V >= V_MIN",
		Params: []Param{
			{Name: "alpha", Default: "0.01", Domain: probability,
				Doc: "false-alarm probability for the whole run: a (source, band) is listed when the chance that its flux scatter is noise is below ALPHA divided by the number of (source, band) light curves tested (default 0.01)"},
			{Name: "v_min", Default: "0.1",
				Doc: "minimum V, the flux standard deviation over the mean (default 0.1)"},
		},
		Table: []string{"runcat", "name", "freq_hz", "n_points", "eta_int", "v_int", "sigma_int", "vs_int", "m_int", "f_int_mean", "f_int_max"},
		SQL: `-- eta is the reduced chi-square of the light curve about its weighted mean;
-- p_int its false-alarm probability from the chi-square distribution with
-- n_points - 1 degrees of freedom, sigma_int the same as a one-sided Gaussian
-- significance (docs/variability.md). A (source, band) is a candidate when
-- p_int <= $alpha / (number of light curves with more than one point), so the
-- chance that any steady source of the run is listed is at most $alpha when
-- the flux errors are right, and its V, the size of the variation, is at
-- least $v_min. vs_int, m_int: the two-epoch metrics of the pair with the
-- largest |vs_int| (Mooley et al. 2016). New sources are kept, with their
-- type (TraP leaves them out): a variable first detected in a bright phase is
-- a new source too.
WITH t AS (SELECT count(*) AS n_tested FROM varmetric WHERE n_points > 1)
SELECT v.runcat, gotrap_name(r.wm_ra, r.wm_decl) AS name, r.wm_ra AS ra, r.wm_decl AS "dec", v.band, b.freq_central AS freq_hz,
       v.n_points, v.eta_int, v.v_int, v.sigma_int, v.p_int, $alpha / t.n_tested AS p_thresh,
       v.vs_int, v.m_int, v.f_int_mean, v.f_int_max, v.newsource_type
FROM varmetric v
CROSS JOIN t
LEFT JOIN runcat r ON r.id = v.runcat
LEFT JOIN bands b ON b.id = v.band
WHERE v.n_points > 1 AND v.p_int <= $alpha / t.n_tested AND v.v_int >= $v_min
ORDER BY v.sigma_int DESC, v.runcat, v.band`,
	},
	{
		Name:  "variables_trap",
		Short: "TraP's variable candidates: eta and V above mu + N sigma of their band (Rowlinson et al. 2019)",
		Params: []Param{{Name: "n", Default: "2", Domain: nonNegative,
			Doc: "threshold in standard deviations of log10 eta and log10 V (default 2)"}},
		Table: []string{"runcat", "name", "freq_hz", "n_points", "eta_int", "v_int", "eta_nsigma", "v_nsigma", "f_int_mean", "f_int_max"},
		SQL: `-- Rowlinson et al. 2019 (A&C 27, 111), TraP's method. Per band, fit a Gaussian
-- (maximum likelihood: mean and population sd) to log10 eta_int and to
-- log10 v_int of the sources with eta > 0, V > 0, more than one point and no
-- newsource; candidates have eta >= 10^(mu_eta + $n sd_eta) and
-- V >= 10^(mu_v + $n sd_v). A band whose values have no spread has no fit
-- and no candidates.
WITH pool AS (
    SELECT v.*, log10(v.eta_int) AS leta, log10(v.v_int) AS lv
    FROM varmetric v
    WHERE v.eta_int > 0 AND v.v_int > 0 AND v.n_points > 1
      AND v.runcat NOT IN (SELECT runcat FROM newsources)
),
fit AS (
    SELECT band, avg(leta) AS mu_eta, stddev_pop(leta) AS sd_eta,
           avg(lv) AS mu_v, stddev_pop(lv) AS sd_v
    FROM pool
    GROUP BY band
    HAVING stddev_pop(leta) > 0 AND stddev_pop(lv) > 0
)
SELECT p.runcat, gotrap_name(r.wm_ra, r.wm_decl) AS name, r.wm_ra AS ra, r.wm_decl AS "dec", p.band, b.freq_central AS freq_hz,
       p.n_points, p.eta_int, p.v_int, p.f_int_mean, p.f_int_max,
       power(10, f.mu_eta + $n * f.sd_eta) AS eta_thresh,
       power(10, f.mu_v + $n * f.sd_v) AS v_thresh,
       (p.leta - f.mu_eta) / f.sd_eta AS eta_nsigma,
       (p.lv - f.mu_v) / f.sd_v AS v_nsigma
FROM pool p
JOIN fit f ON f.band = p.band
LEFT JOIN runcat r ON r.id = p.runcat
LEFT JOIN bands b ON b.id = p.band
WHERE p.eta_int >= power(10, f.mu_eta + $n * f.sd_eta)
  AND p.v_int >= power(10, f.mu_v + $n * f.sd_v)
ORDER BY p.band, p.eta_int DESC, p.runcat`,
	},
	{
		Name:     "lightcurve",
		Short:    "one source's light curve: detections, forced fits and the upper limits before its first detection",
		Params:   []Param{{Name: "runcat", Int: true, Doc: "running-catalogue id"}},
		Table:    []string{"taustart", "freq_mhz", "kind", "f_peak", "f_peak_err", "f_peak_limit", "f_int", "f_int_err", "image"},
		Exists:   `SELECT count(*) > 0 FROM runcat WHERE id = $runcat`,
		NotFound: "no running-catalogue source %s (gotrap query RUN sources lists them)",
		Title:    `SELECT gotrap_name(wm_ra, wm_decl) || ' (runcat ' || id || ')' FROM runcat WHERE id = $runcat`,
		SQL: `-- kind: blind (detection), forced (null-detection fit), monitor, backward
-- (forced fit before the first detection; [forced_fits] backward), limit (an
-- earlier image in which the source was not detected: f_peak_limit =
-- detection_thresh x the rms map at its position, from limits.parquet; no flux).
-- extract_type: 0 blind, 1 forced, 2 monitor, 3 backward (null for limits);
-- assoc_type: SPEC 1 assocxtrsource types (3 one-to-one, 4 new, 7 forced, ..., 10 backward).
SELECT runcat, image, taustart, band, freq_hz, freq_hz / 1e6 AS freq_mhz, kind,
       extract_type, assoc_type, f_peak, f_peak_err, f_int, f_int_err, f_peak_limit, rms,
       ra, "dec", det_sigma, xtrsrc
FROM (
    SELECT a.runcat, m.image, i.taustart_ts AS taustart, i.band, b.freq_central AS freq_hz,
           CASE m.extract_type WHEN 0 THEN 'blind' WHEN 1 THEN 'forced' WHEN 2 THEN 'monitor'
                               WHEN 3 THEN 'backward' END AS kind,
           m.extract_type, a.type AS assoc_type,
           m.f_peak, m.f_peak_err, m.f_int, m.f_int_err,
           CAST(NULL AS DOUBLE) AS f_peak_limit, CAST(NULL AS DOUBLE) AS rms,
           m.ra, m.decl AS "dec", m.det_sigma, m.id AS xtrsrc
    FROM associations a
    JOIN measurements m ON m.id = a.xtrsrc
    JOIN images i ON i.id = m.image
    LEFT JOIN bands b ON b.id = i.band
    WHERE a.runcat = $runcat
    UNION ALL
    SELECT l.runcat, l.image, i.taustart_ts, i.band, b.freq_central, 'limit',
           NULL, NULL, NULL, NULL, NULL, NULL, l.f_peak_limit, l.rms,
           r.wm_ra, r.wm_decl, NULL, NULL
    FROM limits l
    JOIN images i ON i.id = l.image
    LEFT JOIN bands b ON b.id = i.band
    LEFT JOIN runcat r ON r.id = l.runcat
    WHERE l.runcat = $runcat
)
ORDER BY taustart, freq_hz, image, xtrsrc NULLS FIRST`,
	},
	{
		Name:  "cone",
		Short: "running-catalogue sources within RADIUS degrees of RA DEC",
		Params: []Param{
			{Name: "ra", Doc: "centre right ascension, degrees"},
			{Name: "dec", Doc: "centre declination, degrees", Domain: declination},
			{Name: "radius", Doc: "radius, degrees", Domain: positive},
		},
		Table: []string{"runcat", "name", "ra", "dec", "sep_deg", "datapoints", "mon_src"},
		SQL: `-- Great-circle (haversine) separation, so RA wraps at 0/360 and the poles work.
WITH c AS (
    SELECT r.id, r.wm_ra, r.wm_decl, r.datapoints, r.mon_src,
           degrees(2 * asin(least(1, sqrt(
               pow(sin(radians(r.wm_decl - $dec) / 2), 2)
               + cos(radians(r.wm_decl)) * cos(radians($dec))
                 * pow(sin(radians(r.wm_ra - $ra) / 2), 2))))) AS sep_deg
    FROM runcat r
    WHERE r.wm_decl BETWEEN $dec - $radius AND $dec + $radius
)
SELECT id AS runcat, gotrap_name(wm_ra, wm_decl) AS name, wm_ra AS ra, wm_decl AS "dec", sep_deg, datapoints, mon_src
FROM c
WHERE sep_deg <= $radius
ORDER BY sep_deg, runcat`,
	},
	{
		Name:  "images",
		Short: "every image with its quality control, rejection reason and measurement counts",
		Table: []string{"image", "taustart", "freq_hz", "rms_qc", "rejected", "reason", "n_blind", "n_forced", "n_monitor", "url"},
		SQL: `SELECT i.id AS image, i.url, i.taustart_ts AS taustart, i.band, b.freq_central AS freq_hz,
       i.timestep, i.tau_time, i.rms_qc, i.rms_min, i.rms_max, i.detection_thresh,
       i.rejected, i.reject_reason,
       CASE i.reject_reason
           WHEN 0 THEN 'RMS invalid' WHEN 1 THEN 'beam invalid'
           WHEN 2 THEN 'bright source near' WHEN 3 THEN 'tau_time invalid'
           WHEN 4 THEN 'contains NaN' WHEN 5 THEN 'data is flat'
           WHEN 6 THEN 'read error' END AS reason,
       i.reject_comment,
       coalesce(m.n_blind, 0) AS n_blind, coalesce(m.n_forced, 0) AS n_forced,
       coalesce(m.n_monitor, 0) AS n_monitor
FROM images i
LEFT JOIN bands b ON b.id = i.band
LEFT JOIN (
    SELECT image,
           count(*) FILTER (WHERE extract_type = 0) AS n_blind,
           count(*) FILTER (WHERE extract_type = 1) AS n_forced,
           count(*) FILTER (WHERE extract_type = 2) AS n_monitor
    FROM measurements GROUP BY image
) m ON m.image = i.id
ORDER BY i.taustart_ts, i.freq_eff, i.id`,
	},
	{
		Name:  "stats",
		Short: "counts per stage: images, measurements, associations, sources",
		SQL: `SELECT item, n FROM (
              SELECT 1 AS ord, 'images' AS item, count(*) AS n FROM images
    UNION ALL SELECT 2, 'images_rejected', count(*) FROM images WHERE rejected
    UNION ALL SELECT 3, 'timesteps', count(DISTINCT timestep) FROM images
    UNION ALL SELECT 4, 'bands', count(*) FROM bands
    UNION ALL SELECT 5, 'skyregions', count(*) FROM skyregions
    UNION ALL SELECT 6, 'measurements_blind', count(*) FROM measurements WHERE extract_type = 0
    UNION ALL SELECT 7, 'measurements_forced', count(*) FROM measurements WHERE extract_type = 1
    UNION ALL SELECT 8, 'measurements_monitor', count(*) FROM measurements WHERE extract_type = 2
    UNION ALL SELECT 9, 'associations', count(*) FROM associations
    UNION ALL SELECT 10, 'runcat', count(*) FROM runcat
    UNION ALL SELECT 11, 'runcat_monitor', count(*) FROM runcat WHERE mon_src
    UNION ALL SELECT 12, 'newsources_likely', count(*) FROM newsources WHERE newsource_type = 1
    UNION ALL SELECT 13, 'newsources_possible', count(*) FROM newsources WHERE newsource_type = 0
    UNION ALL SELECT 14, 'varmetric_rows', count(*) FROM varmetric
)
ORDER BY ord`,
	},
	{
		Name:  "sources",
		Short: "the running catalogue with its variability per band",
		Table: []string{"runcat", "name", "freq_hz", "n_points", "n_forced", "eta_int", "v_int", "f_int_mean", "f_int_max", "newsource_type"},
		SQL: `SELECT r.id AS runcat, gotrap_name(r.wm_ra, r.wm_decl) AS name, r.wm_ra AS ra, r.wm_decl AS "dec", v.band, b.freq_central AS freq_hz,
       v.n_points, v.n_forced, v.eta_int, v.v_int, v.f_int_mean, v.f_int_max, v.f_int_median,
       v.eta_peak, v.v_peak, v.f_peak_max, r.datapoints, r.mon_src, v.newsource_type,
       v.first_taustart_ts, v.last_taustart_ts
FROM runcat r
LEFT JOIN varmetric v ON v.runcat = r.id
LEFT JOIN bands b ON b.id = v.band
ORDER BY r.id, v.band`,
	},
}
