package respond

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"math"
	"os"
	"slices"
	"sort"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/report"
	"gotrap/kernels/sphere"
)

// Event types (the type column of events.parquet).
const (
	TypeNewSource      = "new_source"
	TypeRise           = "rise"
	TypeDrop           = "drop"
	TypeHigh           = "high"
	TypeLow            = "low"
	TypeVariable       = "variable"
	TypeMonitor        = "monitor"
	TypeKnown          = "known"
	TypeSpectralFlat   = "spectral_flat"
	TypeSpectralSteep  = "spectral_steep"
	TypeSingleTimestep = "single_timestep"
	TypeAlert          = "alert"
)

// An Event is one row of events.parquet: something that happened at one
// timestep of the run, computed from the data up to that timestep only.
type Event struct {
	// ID is deterministic: TYPE-rRUNCAT-bBAND-mMEASUREMENT (alerts:
	// alert-IVORN fragment).
	ID       string    `parquet:"id"`
	Type     string    `parquet:"type"`
	Runcat   int64     `parquet:"runcat"` // 0 for alerts
	Band     int64     `parquet:"band"`   // 0 for spectral events (all bands)
	Image    int64     `parquet:"image"`
	Timestep int64     `parquet:"timestep"`
	Time     time.Time `parquet:"time" unit:"UTC"` // the image's start time
	RA       float64   `parquet:"ra" unit:"deg"`   // of the measurement
	Decl     float64   `parquet:"decl" unit:"deg"`
	// Measurement is the measurement that triggered the event.
	Measurement int64 `parquet:"measurement"`
	ExtractType int32 `parquet:"extract_type"`
	// Significance, Value and Reference depend on the type
	// (docs/responses.md): e.g. for a rise, z, the flux and the running
	// mean; for a new source, f_int / rms_max of the previous image, the
	// flux and that rms.
	Significance float64 `parquet:"significance" unit:"sigma"`
	Value        float64 `parquet:"value"`
	Reference    float64 `parquet:"reference"`
	FInt         float64 `parquet:"f_int" unit:"Jy"`
	FIntErr      float64 `parquet:"f_int_err" unit:"Jy"`
	FreqHz       float64 `parquet:"freq_hz" unit:"Hz"`
	// NPoints is the number of points of the light curve (source, band)
	// up to and including this one.
	NPoints int64 `parquet:"n_points"`
	// NewsourceType is 0 or 1 for a new source, -1 otherwise.
	NewsourceType int32 `parquet:"newsource_type"`
	// Known is the 1-based line of the known source ([events] known_file)
	// within whose radius the event lies, 0 if none.
	Known int32 `parquet:"known"`
	// Monitored: the source is on the monitoring list.
	Monitored bool   `parquet:"monitored"`
	Detail    string `parquet:"detail"`
	// CircFrac, CircFracErr and CircFracLimit are the circular
	// polarisation of the measurement (circpol.parquet: a Stokes I run
	// with [pipeline] circular_polarisation), NULL without it.
	CircFrac      sql.NullFloat64 `parquet:"circ_frac"`
	CircFracErr   sql.NullFloat64 `parquet:"circ_frac_err"`
	CircFracLimit sql.NullFloat64 `parquet:"circ_frac_limit"`
}

// Range selects timesteps From..To inclusive; To < 0 means no upper end.
type Range struct{ From, To int64 }

// All is every timestep.
var All = Range{From: 0, To: -1}

// Has reports whether timestep t lies in r.
func (r Range) Has(t int64) bool { return t >= r.From && (r.To < 0 || t <= r.To) }

// imageRow is what events need of an image.
type imageRow struct {
	band, timestep int64
	t              time.Time
	rmsMin, rmsMax float64
	freq           float64
	rejected       bool
}

// point is one measurement of a light curve.
type point struct {
	runcat, xtrsrc, image int64
	band, timestep        int64
	t                     time.Time
	extract, assocType    int32
	ra, dec, f, ferr      float64
	freq                  float64
	monitored             bool
}

// Events computes the events of the timesteps in r for the run directory
// run with the [events] and [variability] settings of cfg. Each event is
// computed from the data of its own and earlier timesteps only, so a run
// made in one go and the same run grown timestep by timestep have the
// same events. Backward forced fits (extract_type 3, made after the run
// and before a source's first detection) never enter. Events come sorted
// by timestep, time and id.
//
// Events folds the run's timesteps up to r's end in windows of about
// windowImages images, through a Stream as a live run does commit by
// commit: each window's reads name plain ranges of ids, so DuckDB's
// memory follows the window, not the run (one read of a whole RSM-scale
// run held about 200 MB in DuckDB; docs/performance.md, session 9). The
// events equal those of one read of the whole run (TestEventsWindows).
func Events(ctx context.Context, run string, cfg config.Config, r Range) ([]Event, error) {
	s, err := NewStream(cfg)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	return eventsInWindows(ctx, s, run, r, windowImages)
}

// windowImages is the number of images of a window of Events: about
// 180,000 light-curve points at RSM scale (some 350 per image).
const windowImages = 512

// eventsInWindows is Events with windows of about images images,
// computed by the new Stream s.
func eventsInWindows(ctx context.Context, s *Stream, run string, r Range, images int) ([]Event, error) {
	db, err := s.open(ctx, run)
	if err != nil {
		return nil, err
	}
	counts, err := imagesPerTimestep(ctx, db.SQL(), r.To)
	if err != nil {
		return nil, err
	}
	var out []Event
	for _, w := range splitWindows(counts, images) {
		evs, err := s.Events(ctx, run, w)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			if r.Has(e.Timestep) {
				out = append(out, e)
			}
		}
		// What the window's reads freed goes back to the system when
		// DuckDB's allocator keeps much of it.
		if _, err := duck.ReleaseAbove(duck.DefaultRetain); err != nil {
			return nil, fmt.Errorf("respond: %w", err)
		}
	}
	sortEvents(out)
	return out, nil
}

// imagesPerTimestep returns the number of images of each timestep up to
// last (last < 0: all), in timestep order: [timestep, images].
func imagesPerTimestep(ctx context.Context, db *sql.DB, last int64) ([][2]int64, error) {
	q := `SELECT timestep, count(*) FROM images GROUP BY timestep ORDER BY timestep`
	if last >= 0 {
		q = fmt.Sprintf(`SELECT timestep, count(*) FROM images WHERE timestep <= %d GROUP BY timestep ORDER BY timestep`, last)
	}
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return nil, fmt.Errorf("respond: timesteps: %w", err)
	}
	var out [][2]int64
	for rows.Next() {
		var c [2]int64
		if err := rows.Scan(&c[0], &c[1]); err != nil {
			rows.Close()
			return nil, fmt.Errorf("respond: timesteps: %w", err)
		}
		out = append(out, c)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("respond: timesteps: %w", err)
	}
	return out, nil
}

// splitWindows splits timesteps with their image counts ([timestep,
// images], in timestep order) into windows of successive timesteps of
// at most images images each (a timestep with more is a window of its
// own). The windows cover timestep 0 to the last timestep without a gap,
// in order, as a Stream takes them.
func splitWindows(counts [][2]int64, images int) []Range {
	var ws []Range
	from, n := int64(0), int64(0)
	for i, c := range counts {
		if i > 0 && n+c[1] > int64(images) {
			ws = append(ws, Range{From: from, To: c[0] - 1})
			from, n = c[0], 0
		}
		n += c[1]
	}
	if len(counts) > 0 {
		ws = append(ws, Range{From: from, To: counts[len(counts)-1][0]})
	}
	return ws
}

// readKnown reads cfg's [events] known_file (none: nil).
func readKnown(cfg config.Config) ([]report.KnownSource, error) {
	f := cfg.Events.KnownFile
	if f == "" {
		return nil, nil
	}
	fh, err := os.Open(f)
	if err != nil {
		return nil, fmt.Errorf("respond: [events] known_file: %w", err)
	}
	defer fh.Close()
	known, err := report.ReadKnownSources(fh)
	if err != nil {
		return nil, fmt.Errorf("respond: %s: %w", f, err)
	}
	return known, nil
}

func sortEvents(evs []Event) {
	sort.Slice(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.Timestep != b.Timestep {
			return a.Timestep < b.Timestep
		}
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.ID < b.ID
	})
}

type computer struct {
	cfg    config.Events
	floor  float64
	r      Range
	known  []report.KnownSource
	images map[int64]imageRow
	// newsrc maps a trigger measurement to its new-source row.
	newsrc map[int64]catalog.NewSource
	// circ maps a measurement to its circular polarisation (circ_frac,
	// its error, its limit).
	circ map[int64][3]float64
	// nTested is the variables query's n_tested per timestep (testedCounts).
	nTested []tested
	out     []Event
	// accepted holds each band's timesteps with an accepted image, sorted.
	accepted map[int64][]int64
	// states and spec, when not nil, keep the light curves' states and
	// each source's last spectral class across calls (Stream).
	states map[curveKey]*curveState
	spec   map[int64]string
	// win: the computer reads only the points of the timesteps in r (and
	// of the sources created there), folding them into states (Stream);
	// histories is set when a window read copied histories.
	win, histories bool
	// files, when not nil, picks the measurements and associations files
	// a window's reads name (winFiles; a Stream's), in run; assocFrom and
	// measFrom are the sources they read, the views when "".
	files               *winFiles
	run                 string
	assocFrom, measFrom string
}

// loadImages reads the images rows that where selects into c.images.
func (c *computer) loadImages(ctx context.Context, db *sql.DB, where string) error {
	rows, err := db.QueryContext(ctx, `SELECT id, band, timestep, taustart_ts, rms_min, rms_max, freq_eff, rejected FROM images`+where)
	if err != nil {
		return fmt.Errorf("respond: images: %w", err)
	}
	for rows.Next() {
		var id int64
		var im imageRow
		if err := rows.Scan(&id, &im.band, &im.timestep, &im.t, &im.rmsMin, &im.rmsMax, &im.freq, &im.rejected); err != nil {
			rows.Close()
			return fmt.Errorf("respond: images: %w", err)
		}
		c.images[id] = im
	}
	if err := closeRows(rows); err != nil {
		return fmt.Errorf("respond: images: %w", err)
	}
	return nil
}

func (c *computer) load(ctx context.Context, db *sql.DB) error {
	c.images = map[int64]imageRow{}
	// A window reads its own timesteps' images, then the previous-limits
	// images of the new sources it triggers (the only ones its points
	// look up): two conditions that let DuckDB skip the other images'
	// row groups, so that a commit does not read the whole images table
	// (one condition with OR read every image of the run).
	where := ""
	if c.win {
		where = fmt.Sprintf(" WHERE timestep BETWEEN %d AND %d", c.r.From, c.r.To)
	}
	if err := c.loadImages(ctx, db, where); err != nil {
		return err
	}
	if lo, hi, ok := c.windowIDs(); c.win && ok {
		where = fmt.Sprintf(" WHERE id IN (SELECT previous_limits_image FROM newsources WHERE trigger_xtrsrc BETWEEN %d AND %d)", lo, hi)
		if err := c.loadImages(ctx, db, where); err != nil {
			return err
		}
	}
	c.addAccepted()
	c.newsrc = map[int64]catalog.NewSource{}
	rows, err := db.QueryContext(ctx, `SELECT runcat, trigger_xtrsrc, previous_limits_image, newsource_type FROM newsources`)
	if err != nil {
		return fmt.Errorf("respond: new sources: %w", err)
	}
	for rows.Next() {
		var n catalog.NewSource
		if err := rows.Scan(&n.Runcat, &n.TriggerXtrsrc, &n.PreviousLimitsImage, &n.Type); err != nil {
			rows.Close()
			return fmt.Errorf("respond: new sources: %w", err)
		}
		c.newsrc[n.TriggerXtrsrc] = n
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	// The circular polarisation of measurements (an empty view without
	// circpol.parquet). A measurement associated with several runcats
	// has one row per association, all alike.
	c.circ = map[int64][3]float64{}
	where = ""
	if c.win {
		where = fmt.Sprintf(" WHERE (measurement >> %d) IN (SELECT id FROM images WHERE timestep BETWEEN %d AND %d)", catalog.MeasurementIDShift, c.r.From, c.r.To)
		if lo, hi, ok := c.windowIDs(); ok {
			// The plain range lets DuckDB skip the row groups outside it.
			where += fmt.Sprintf(" AND measurement BETWEEN %d AND %d", lo, hi)
		}
	}
	rows, err = db.QueryContext(ctx, `SELECT measurement, any_value(circ_frac), any_value(circ_frac_err), any_value(circ_frac_limit)
FROM circpol`+where+` GROUP BY measurement`)
	if err != nil {
		return fmt.Errorf("respond: circular polarisation: %w", err)
	}
	for rows.Next() {
		var id int64
		var v [3]float64
		if err := rows.Scan(&id, &v[0], &v[1], &v[2]); err != nil {
			rows.Close()
			return fmt.Errorf("respond: circular polarisation: %w", err)
		}
		c.circ[id] = v
	}
	return closeRows(rows)
}

// lightCurves is the FROM and WHERE of the light-curve points of
// timesteps up to the range's end (backward fits never enter), with the
// extra condition cond (empty, or starting with AND).
func (c *computer) lightCurves(cond string) string {
	hi := int64(math.MaxInt64)
	if c.r.To >= 0 {
		hi = c.r.To
	}
	assoc, meas := cmp.Or(c.assocFrom, "associations"), cmp.Or(c.measFrom, "measurements")
	return fmt.Sprintf(`FROM `+assoc+` a
JOIN `+meas+` m ON m.id = a.xtrsrc
JOIN images i ON i.id = m.image
LEFT JOIN runcat r ON r.id = a.runcat
LEFT JOIN images ic ON ic.id = (a.runcat >> %d)
WHERE m.extract_type <> %d AND a.type <> %d AND i.timestep <= %d`, catalog.MeasurementIDShift, catalog.ExtractBackward, catalog.AssocBackward, hi) + cond
}

// windowIDs returns the measurement ids [lo, hi] of the window's images
// (a measurement's id holds its image's id above
// catalog.MeasurementIDShift, a source's the id of the image that
// created it); ok is false when the window has no image.
func (c *computer) windowIDs() (lo, hi int64, ok bool) {
	first, last := int64(math.MaxInt64), int64(math.MinInt64)
	for id, im := range c.images {
		if im.timestep >= c.r.From && im.timestep <= c.r.To {
			first, last = min(first, id), max(last, id)
		}
	}
	if first > last {
		return 0, 0, false
	}
	s := catalog.MeasurementIDShift
	return first << s, (last+1)<<s - 1, true
}

// windowReads returns the conditions of a window's reads (c.win): the
// points of its timesteps, and every point of the sources created in it
// (a fork's copied history among them), from sources that exist by its
// end. Each read names plain ranges of the association and measurement
// ids, so that DuckDB skips the Parquet row groups (and parts) outside
// them and builds its joins over the window's rows: with the condition
// on shifted ids alone it read every part and built a hash table of
// every measurement of the run, so that a live run's commit took memory
// growing with the run (up to the stream's limit). The copied histories
// are a read of their own, made only when there are some (a fork in the
// window), over the span of the measurement ids they name.
func (c *computer) windowReads(ctx context.Context, db *sql.DB) ([]string, error) {
	// Sources created after the window (on a finished run) are not
	// there yet: their copied history waits for their own window.
	w := fmt.Sprintf(" AND (i.timestep >= %d OR ic.timestep >= %d) AND (ic.timestep IS NULL OR ic.timestep <= %d)", c.r.From, c.r.From, c.r.To)
	lo, hi, ok := c.windowIDs()
	if !ok {
		return []string{w}, nil
	}
	reads := []string{w + fmt.Sprintf(" AND a.xtrsrc BETWEEN %d AND %d AND m.id BETWEEN %d AND %d", lo, hi, lo, hi)}
	if c.files != nil {
		var err error
		c.assocFrom, err = c.files.source(c.run, catalog.TableAssociations, map[string][]idRange{"xtrsrc": {{lo, hi}}, "runcat": {{lo, hi}}})
		if err != nil {
			return nil, err
		}
	}
	var n int64
	var first, last sql.NullInt64
	err := db.QueryRowContext(ctx, fmt.Sprintf(`SELECT count(*), min(xtrsrc), max(xtrsrc) FROM %s
WHERE runcat BETWEEN %d AND %d AND NOT (xtrsrc BETWEEN %d AND %d)`, cmp.Or(c.assocFrom, "associations"), lo, hi, lo, hi)).Scan(&n, &first, &last)
	if err != nil {
		return nil, fmt.Errorf("respond: copied histories: %w", err)
	}
	if c.files != nil {
		ids := []idRange{{lo, hi}}
		if n > 0 {
			ids = append(ids, idRange{first.Int64, last.Int64})
		}
		if c.measFrom, err = c.files.source(c.run, catalog.TableMeasurements, map[string][]idRange{"id": ids}); err != nil {
			return nil, err
		}
	}
	if n > 0 {
		c.histories = true
		reads = append(reads, w+fmt.Sprintf(" AND a.runcat BETWEEN %d AND %d AND NOT (a.xtrsrc BETWEEN %d AND %d) AND m.id BETWEEN %d AND %d",
			lo, hi, lo, hi, first.Int64, last.Int64))
	}
	return reads, nil
}

// stream reads the light-curve points ordered by runcat, band, timestep,
// time and measurement, and emits the events of each source as its
// points end, so that memory holds one source's points at a time.
func (c *computer) stream(ctx context.Context, db *sql.DB) error {
	if !c.win {
		var err error
		if c.nTested, err = c.testedCounts(ctx, db); err != nil {
			return err
		}
		var src, scratch []point
		err = c.points(ctx, db, "", func(p point) {
			if len(src) > 0 && src[0].runcat != p.runcat {
				scratch = c.source(src, scratch)
				src = src[:0]
			}
			src = append(src, p)
		})
		if err != nil {
			return err
		}
		if len(src) > 0 {
			c.source(src, scratch)
		}
		return nil
	}
	// A window's points are few: held, sorted as one read would give
	// them, and folded at the end.
	reads, err := c.windowReads(ctx, db)
	if err != nil {
		return err
	}
	var held []point
	for _, cond := range reads {
		if err := c.points(ctx, db, cond, func(p point) { held = append(held, p) }); err != nil {
			return err
		}
	}
	if len(reads) > 1 {
		slices.SortFunc(held, func(a, b point) int {
			return cmp.Or(cmp.Compare(a.runcat, b.runcat), cmp.Compare(a.band, b.band), cmp.Compare(a.timestep, b.timestep),
				a.t.Compare(b.t), cmp.Compare(a.xtrsrc, b.xtrsrc))
		})
	}
	return c.foldWindow(held)
}

// points reads the light-curve points of lightCurves(cond) in the order
// of runcat, band, timestep, time and measurement, giving each to f.
func (c *computer) points(ctx context.Context, db *sql.DB, cond string, f func(point)) error {
	rows, err := db.QueryContext(ctx, `
SELECT a.runcat, a.xtrsrc, a.type, m.image, i.band, i.timestep, i.taustart_ts, m.extract_type,
       m.ra, m.decl, m.f_int, m.f_int_err, i.freq_eff, coalesce(r.mon_src, false)
`+c.lightCurves(cond)+`
ORDER BY a.runcat, i.band, i.timestep, i.taustart_ts, m.id`)
	if err != nil {
		return fmt.Errorf("respond: light curves: %w", err)
	}
	for rows.Next() {
		var p point
		if err := rows.Scan(&p.runcat, &p.xtrsrc, &p.assocType, &p.image, &p.band, &p.timestep, &p.t, &p.extract,
			&p.ra, &p.dec, &p.f, &p.ferr, &p.freq, &p.monitored); err != nil {
			rows.Close()
			return fmt.Errorf("respond: light curves: %w", err)
		}
		f(p)
	}
	if err = closeRows(rows); err != nil {
		return fmt.Errorf("respond: light curves: %w", err)
	}
	return nil
}

// source emits the events of one source's points pts (ordered by band,
// timestep, time, measurement): each band's light curve, then the
// spectral index; scratch is reused storage, returned.
func (c *computer) source(pts, scratch []point) []point {
	for i := 0; i < len(pts); {
		j := i
		for j < len(pts) && pts[j].band == pts[i].band {
			j++
		}
		c.lightCurve(c.curve(curveKey{pts[i].runcat, pts[i].band}), pts[i:j])
		i = j
	}
	return c.spectral(pts, scratch)
}

// curve returns the state of light curve k: a fresh one, kept in
// c.states when the computer keeps them (a Stream's).
func (c *computer) curve(k curveKey) *curveState {
	if c.states == nil {
		return newCurveState()
	}
	st, ok := c.states[k]
	if !ok {
		st = newCurveState()
		c.states[k] = st
	}
	return st
}

func closeRows(rows *sql.Rows) error {
	err := rows.Err()
	if cerr := rows.Close(); err == nil {
		err = cerr
	}
	return err
}

// emit adds an event built from point p when its timestep is in range,
// and returns it (nil when out of range).
func (c *computer) emit(typ string, p point, n int64, sig, value, ref float64, detail string) *Event {
	if !c.r.Has(p.timestep) {
		return nil
	}
	e := Event{ID: fmt.Sprintf("%s-r%d-b%d-m%d", typ, p.runcat, p.band, p.xtrsrc), Type: typ,
		Runcat: p.runcat, Band: p.band, Image: p.image, Timestep: p.timestep, Time: p.t.UTC(),
		RA: p.ra, Decl: p.dec, Measurement: p.xtrsrc, ExtractType: p.extract,
		Significance: sig, Value: value, Reference: ref, FInt: p.f, FIntErr: p.ferr, FreqHz: p.freq,
		NPoints: n, NewsourceType: -1, Monitored: p.monitored, Detail: detail}
	if v, ok := c.circ[p.xtrsrc]; ok {
		e.CircFrac = sql.NullFloat64{Float64: v[0], Valid: !math.IsNaN(v[0])}
		e.CircFracErr = sql.NullFloat64{Float64: v[1], Valid: !math.IsNaN(v[1])}
		e.CircFracLimit = sql.NullFloat64{Float64: v[2], Valid: !math.IsNaN(v[2])}
	}
	for i, k := range c.known {
		if sphere.Sep(p.ra, p.dec, k.RA, k.Dec) <= k.Radius {
			e.Known = int32(i + 1)
			break
		}
	}
	c.out = append(c.out, e)
	return &c.out[len(c.out)-1]
}

// testedCounts returns, per timestep, the number of light curves with two
// or more points up to that timestep (the variables query's n_tested,
// computed causally): sorted timesteps and cumulative counts. A light
// curve counts from the timestep of its second point, in the order in
// which stream reads them, or from its source's creation when that came
// later: a source forked off another (catalog.AssocForkCopy) gets a
// copy of its history when it is created, and was not there to be
// counted before. (The runcat's id is the id of the measurement that
// created it, catalog.MeasurementID: its image's timestep is the
// creation's.) So each timestep's count is known when the timestep is
// committed, as Stream counts it.
func (c *computer) testedCounts(ctx context.Context, db *sql.DB) ([]tested, error) {
	rows, err := db.QueryContext(ctx, `
SELECT ts, count(*) FROM (
  SELECT greatest(i.timestep, coalesce(ic.timestep, i.timestep)) AS ts,
         row_number() OVER (PARTITION BY a.runcat, i.band ORDER BY i.timestep, i.taustart_ts, m.id) AS k
  `+c.lightCurves("")+`
) WHERE k = 2 GROUP BY ts ORDER BY ts`)
	if err != nil {
		return nil, fmt.Errorf("respond: light curves tested: %w", err)
	}
	var ts []tested
	for rows.Next() {
		var t tested
		if err := rows.Scan(&t.timestep, &t.n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("respond: light curves tested: %w", err)
		}
		if len(ts) > 0 {
			t.n += ts[len(ts)-1].n
		}
		ts = append(ts, t)
	}
	if err := closeRows(rows); err != nil {
		return nil, fmt.Errorf("respond: light curves tested: %w", err)
	}
	return ts, nil
}

type tested struct {
	timestep int64
	n        int
}

// testedAt is n_tested at timestep t.
func (c *computer) testedAt(t int64) int {
	k := sort.Search(len(c.nTested), func(i int) bool { return c.nTested[i].timestep > t })
	if k == 0 {
		return 1
	}
	return c.nTested[k-1].n
}

// A curveState is the running state of one light curve (source, band)
// after its points so far: what the events of its next point depend on.
// Events and Stream fold the same points in the same order through it,
// so a run's events do not depend on how they were computed.
type curveState struct {
	n               int64   // points so far
	sw, wmean, chi2 float64 // weighted: sum of weights, mean, sum w (x - mean)^2 (West 1979)
	mean, m2        float64 // unweighted (Welford): mean, sum (x - mean)^2
	hi, lo          float64
	wasVar          bool
	blind           int     // blind detections so far
	lastBlind       int64   // timestep of the last blind detection
	lastBlindFlux   float64 // its f_int
	seenBlind       bool
	last            int64 // timestep of the last point
}

func newCurveState() *curveState {
	return &curveState{hi: math.Inf(-1), lo: math.Inf(1), lastBlindFlux: math.NaN(), last: -1}
}

// curveKey names a light curve.
type curveKey struct{ runcat, band int64 }

// lightCurve emits the events of one source in one band, its points pts
// folded into st.
func (c *computer) lightCurve(st *curveState, pts []point) {
	minPts := int64(c.cfg.MinPoints)
	for _, p := range pts {
		k := st.n // points before p
		st.n++
		n := st.n
		st.last = p.timestep
		copied := p.assocType == catalog.AssocForkCopy // history copied at a fork: no events of its own
		sig2 := p.ferr*p.ferr + c.floor*p.f*c.floor*p.f
		w := 1 / sig2
		if ns, ok := c.newsrc[p.xtrsrc]; ok && ns.Runcat == p.runcat && !copied {
			lim := c.images[ns.PreviousLimitsImage]
			sig := p.f / lim.rmsMax
			if e := c.emit(TypeNewSource, p, n, sig, p.f, lim.rmsMax,
				fmt.Sprintf("new source type %d: f_int %.4g Jy = %.1f x rms_max of image %d", ns.Type, p.f, sig, ns.PreviousLimitsImage)); e != nil {
				e.NewsourceType = ns.Type
			}
		}
		if k >= minPts && !copied && sig2 > 0 && st.sw > 0 {
			z := (p.f - st.wmean) / math.Sqrt(sig2+1/st.sw)
			switch {
			case z >= c.cfg.RiseSigma:
				c.emit(TypeRise, p, n, z, p.f, st.wmean, fmt.Sprintf("f_int %.4g Jy is %.1f sigma above the running mean %.4g Jy of %d points", p.f, z, st.wmean, k))
			case z <= -c.cfg.RiseSigma:
				c.emit(TypeDrop, p, n, -z, p.f, st.wmean, fmt.Sprintf("f_int %.4g Jy is %.1f sigma below the running mean %.4g Jy of %d points", p.f, -z, st.wmean, k))
			}
			if p.f > st.hi {
				c.emit(TypeHigh, p, n, (p.f-st.hi)/math.Sqrt(sig2), p.f, st.hi, fmt.Sprintf("f_int %.4g Jy above the previous maximum %.4g Jy", p.f, st.hi))
			}
			if p.f < st.lo {
				c.emit(TypeLow, p, n, (st.lo-p.f)/math.Sqrt(sig2), p.f, st.lo, fmt.Sprintf("f_int %.4g Jy below the previous minimum %.4g Jy", p.f, st.lo))
			}
		}
		if p.extract == catalog.ExtractMonitor && !copied && p.ferr > 0 {
			if s := p.f / p.ferr; s >= c.cfg.MonitorSigma {
				c.emit(TypeMonitor, p, n, s, p.f, p.ferr, fmt.Sprintf("monitor fit f_int %.4g Jy at %.1f sigma", p.f, s))
			}
		}
		if p.extract == catalog.ExtractForced && !copied && st.blind == 1 && st.seenBlind && p.timestep == c.nextTimestep(p.band, st.lastBlind) {
			c.emit(TypeSingleTimestep, p, n, 0, p.f, st.lastBlindFlux, fmt.Sprintf("detected only at timestep %d, not at %d", st.lastBlind, p.timestep))
		}
		if p.extract == catalog.ExtractBlind {
			if st.blind == 0 && !copied && len(c.known) > 0 {
				for i, ks := range c.known {
					if sphere.Sep(p.ra, p.dec, ks.RA, ks.Dec) <= ks.Radius {
						c.emit(TypeKnown, p, n, p.f/p.ferr, p.f, float64(i+1), fmt.Sprintf("first detection of known source %d", i+1))
						break
					}
				}
			}
			st.blind++
			st.lastBlind = p.timestep
			st.lastBlindFlux = p.f
			st.seenBlind = true
		}
		// Update the running statistics with p.
		if sig2 > 0 && !math.IsInf(w, 0) {
			st.sw += w
			d := p.f - st.wmean
			st.wmean += d * w / st.sw
			st.chi2 += w * d * (p.f - st.wmean)
		}
		dm := p.f - st.mean
		st.mean += dm / float64(n)
		st.m2 += dm * (p.f - st.mean)
		st.hi, st.lo = math.Max(st.hi, p.f), math.Min(st.lo, p.f)
		if n >= 2 {
			v := math.Sqrt(st.m2/float64(n-1)) / st.mean
			l10 := catalog.Log10ChiSquareSF(st.chi2, float64(n-1))
			pass := l10 <= math.Log10(c.cfg.VariabilityAlpha/float64(c.testedAt(p.timestep))) && v >= c.cfg.VariabilityVMin
			if pass && !st.wasVar && !copied {
				c.emit(TypeVariable, p, n, catalog.GaussSigma(l10), st.chi2/float64(n-1), v,
					fmt.Sprintf("eta %.3g, V %.3g, p %.3g after %d points", st.chi2/float64(n-1), v, math.Pow(10, l10), n))
			}
			st.wasVar = pass
		}
	}
}

// addAccepted adds the timesteps of c.images's accepted images to
// c.accepted, each band's sorted and without repeats.
func (c *computer) addAccepted() {
	if c.accepted == nil {
		c.accepted = map[int64][]int64{}
	}
	for _, im := range c.images {
		if !im.rejected {
			c.accepted[im.band] = append(c.accepted[im.band], im.timestep)
		}
	}
	for b, ts := range c.accepted {
		slices.Sort(ts)
		c.accepted[b] = slices.Compact(ts)
	}
}

// nextTimestep is the first timestep after t among the accepted images
// of band (the timestep at which a source detected at t alone is first
// seen missing): c.accepted holds the band's accepted timesteps, sorted
// (a Stream's, from the last one before its window on).
func (c *computer) nextTimestep(band, t int64) int64 {
	ts := c.accepted[band]
	k := sort.Search(len(ts), func(i int) bool { return ts[i] > t })
	if k == len(ts) {
		return math.MaxInt64
	}
	return ts[k]
}

// spectral emits the flat/steep spectral-index events of one source
// (its points pts, all bands): per timestep with positive fluxes in two
// or more bands, the weighted least-squares slope of ln S against ln nu;
// an event when its class (flat, steep, neither) becomes flat or steep.
// scratch is reused storage, returned.
func (c *computer) spectral(src, scratch []point) []point {
	pts := scratch[:0]
	for _, p := range src {
		if p.assocType == catalog.AssocForkCopy || !(p.f > 0) || !(p.ferr > 0) || !(p.freq > 0) {
			continue
		}
		pts = append(pts, p)
	}
	sort.SliceStable(pts, func(i, j int) bool {
		if pts[i].timestep != pts[j].timestep {
			return pts[i].timestep < pts[j].timestep
		}
		if pts[i].freq != pts[j].freq {
			return pts[i].freq < pts[j].freq
		}
		return pts[i].xtrsrc < pts[j].xtrsrc
	})
	prev := ""
	if c.spec != nil && len(src) > 0 {
		prev = c.spec[src[0].runcat]
		defer func() { c.spec[src[0].runcat] = prev }()
	}
	for i := 0; i < len(pts); {
		j := i
		for j < len(pts) && pts[j].timestep == pts[i].timestep {
			j++
		}
		g := pts[i:j]
		i = j
		if g[0].freq == g[len(g)-1].freq {
			continue // one band
		}
		alpha, aerr := spectralIndex(g)
		class := ""
		switch {
		case (alpha-c.cfg.SpectralFlat)/aerr >= c.cfg.SpectralSigma:
			class = TypeSpectralFlat
		case (c.cfg.SpectralSteep-alpha)/aerr >= c.cfg.SpectralSigma:
			class = TypeSpectralSteep
		}
		if class != "" && class != prev {
			p := g[0]
			p.band = 0
			bound := c.cfg.SpectralFlat
			if class == TypeSpectralSteep {
				bound = c.cfg.SpectralSteep
			}
			c.emit(class, p, int64(len(g)), math.Abs(alpha-bound)/aerr, alpha, aerr,
				fmt.Sprintf("spectral index %.2f +- %.2f over %d measurements (%.4g-%.4g MHz)", alpha, aerr, len(g), g[0].freq/1e6, g[len(g)-1].freq/1e6))
		}
		prev = class
	}
	return pts
}

// spectralIndex fits ln S = a + alpha ln nu by weighted least squares
// (weights S^2/sigma^2, the inverse variance of ln S) and returns alpha
// and its standard error.
func spectralIndex(g []point) (alpha, aerr float64) {
	var sw, sx, sy, sxx, sxy float64
	for _, p := range g {
		w := (p.f / p.ferr) * (p.f / p.ferr)
		x, y := math.Log(p.freq), math.Log(p.f)
		sw += w
		sx += w * x
		sy += w * y
		sxx += w * x * x
		sxy += w * x * y
	}
	d := sw*sxx - sx*sx
	return (sw*sxy - sx*sy) / d, math.Sqrt(sw / d)
}

// ReadEvents reads the run's events (eventFiles): none for a run
// without them.
func ReadEvents(run string) ([]Event, error) {
	files, err := eventFiles(run)
	if err != nil {
		return nil, err
	}
	var evs []Event
	for _, p := range files {
		part, err := readEventsFile(p)
		if err != nil {
			return nil, err
		}
		evs = append(evs, part...)
	}
	if len(files) > 1 {
		sortEvents(evs)
	}
	return evs, nil
}

// WriteEvents replaces the events of the timesteps in r by evs (keeping
// the others, and the alert events, which do not come from the
// catalogue) and writes them all as RUN/events.parquet (writeAll). It
// returns the file's events.
func WriteEvents(run string, evs []Event, r Range) ([]Event, error) {
	old, err := ReadEvents(run)
	if err != nil {
		return nil, err
	}
	all := make([]Event, 0, len(old)+len(evs))
	for _, e := range old {
		if !r.Has(e.Timestep) || e.Type == TypeAlert {
			all = append(all, e)
		}
	}
	all = append(all, evs...)
	sortEvents(all)
	if err := writeAll(run, all); err != nil {
		return nil, err
	}
	return all, nil
}
