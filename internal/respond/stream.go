package respond

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"

	"gotrap/catalog"
	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/report"
)

// A Stream computes the events of a growing run (gotrap watch) timestep
// by timestep. It keeps each light curve's running state (curveState),
// each source's spectral class, n_tested per timestep and each band's
// last accepted timestep, so the events of a commit come from the
// commit's points alone (and the whole history of the sources it
// creates): the work of a commit does not grow with the run. Its events
// equal those of Events over the same run (the same points are folded
// in the same order); when a call does not continue the last one (the
// first call, a gap, a point the state cannot take), it computes from
// the run's first timestep, as Events does, and keeps the state.
//
// A Stream keeps DuckDB open over the run between calls (reopened when
// the run's tables change); Close releases it.
type Stream struct {
	cfg   config.Config
	known []report.KnownSource
	// next is the first timestep not folded yet; -1 before the first
	// call.
	next    int64
	states  map[curveKey]*curveState
	spec    map[int64]string
	tested  []tested
	lastAcc map[int64]int64
	db      *duck.DB
	dbRun   string
	dbSig   string
	// dbUses counts the calls that used db since it was opened; opens
	// the times a DuckDB was opened.
	dbUses, opens int
	// written is the first timestep whose events are not in the run's
	// files (-1: not known), parts the events parts s wrote since
	// (Stream.write).
	written int64
	parts   []catalog.Part
	// planner, log and pending carry the rules' state from one call to
	// the next (Stream.respond); nil when the next call starts afresh.
	planner *planner
	log     *Log
	pending []delivery
	// files picks the files a window reads (winFiles).
	files winFiles
	// rules is the DuckDB the rules run in over each call's events part
	// (matchPart), nil until needed.
	rules *rulesDB
	// RulesFull counts the calls whose rules read every event and the
	// whole delivery log (Stream.respond), RulesOpens the times the
	// rules' DuckDB was opened for a call's part.
	RulesFull, RulesOpens int
	// Full counts the calls that computed from the first timestep,
	// Histories the windows that read the copied histories of sources
	// they created (forks).
	Full, Histories int
}

// NewStream returns a Stream for the [events] and [variability] settings
// of cfg.
func NewStream(cfg config.Config) (*Stream, error) {
	known, err := readKnown(cfg)
	if err != nil {
		return nil, err
	}
	return &Stream{cfg: cfg, known: known, next: -1, written: -1}, nil
}

// Close closes the Stream's DuckDB and delivery log.
func (s *Stream) Close() error {
	s.forgetRules()
	err := s.closeRules()
	if cerr := s.closeDB(); err == nil {
		err = cerr
	}
	return err
}

// closeDB closes the Stream's DuckDB.
func (s *Stream) closeDB() error {
	if s.db == nil {
		return nil
	}
	err := s.db.Close()
	s.db = nil
	return err
}

// streamMemory is the DuckDB memory_limit of a Stream.
const streamMemory = "256MB"

// streamReopen is how many calls a Stream's DuckDB serves before it is
// opened again: DuckDB keeps a little of each query over the run's
// multi-file views (about 1.4 kB per query over the measurements, 30 kB
// per commit on the aartfaac preset) until the database is closed, and
// a live run's commits never end. Opening costs about 0.1-0.3 s, so once
// per 64 commits.
var streamReopen = 64

// errStale: the state cannot take a window's points (Stream.Events then
// computes from the first timestep).
var errStale = errors.New("respond: events state does not continue")

// Events returns the events of the timesteps in r, as Events does.
func (s *Stream) Events(ctx context.Context, run string, r Range) ([]Event, error) {
	db, err := s.open(ctx, run)
	if err != nil {
		return nil, err
	}
	if s.next >= 0 && r.From == s.next && r.To >= r.From {
		evs, err := s.window(ctx, run, db, r)
		if !errors.Is(err, errStale) {
			return evs, err
		}
	}
	return s.full(ctx, db, r)
}

// full computes the events of r from the run's first timestep, keeping
// the state after r's last timestep.
func (s *Stream) full(ctx context.Context, db *duck.DB, r Range) ([]Event, error) {
	s.Full++
	s.next = -1
	c := s.computer(r)
	if err := c.load(ctx, db.SQL()); err != nil {
		return nil, err
	}
	if err := c.stream(ctx, db.SQL()); err != nil {
		return nil, err
	}
	last := r.To
	if last < 0 {
		last = -1
		for _, im := range c.images {
			last = max(last, im.timestep)
		}
	}
	s.keep(c, last)
	sortEvents(c.out)
	return c.out, nil
}

// window computes the events of r from the state and r's points.
func (s *Stream) window(ctx context.Context, run string, db *duck.DB, r Range) ([]Event, error) {
	c := s.computer(r)
	c.win = true
	c.files, c.run = &s.files, run
	c.states, c.spec = s.states, s.spec
	c.nTested = slices.Clone(s.tested)
	c.accepted = map[int64][]int64{}
	for b, t := range s.lastAcc {
		c.accepted[b] = []int64{t}
	}
	if err := c.load(ctx, db.SQL()); err != nil {
		return nil, err
	}
	if err := c.stream(ctx, db.SQL()); err != nil {
		return nil, err
	}
	s.keep(c, r.To)
	if c.histories {
		s.Histories++
	}
	sortEvents(c.out)
	return c.out, nil
}

func (s *Stream) computer(r Range) *computer {
	return &computer{cfg: s.cfg.Events, floor: s.cfg.Variability.FluxErrorFloor, r: r, known: s.known,
		states: map[curveKey]*curveState{}, spec: map[int64]string{}}
}

// keep records c's state as the Stream's, after timestep last.
func (s *Stream) keep(c *computer, last int64) {
	// On a run that goes on past last (a finished run's first
	// timesteps), the computation saw the copied histories of sources
	// created later, and counted them at their creation: the state keeps
	// what the run held at last, as a live run's would.
	for k := range c.states {
		if im, ok := c.images[k.runcat>>catalog.MeasurementIDShift]; ok && im.timestep > last {
			delete(c.states, k)
			delete(c.spec, k.runcat)
		}
	}
	n := sort.Search(len(c.nTested), func(i int) bool { return c.nTested[i].timestep > last })
	s.states, s.spec, s.tested = c.states, c.spec, c.nTested[:n]
	s.lastAcc = map[int64]int64{}
	for b, ts := range c.accepted {
		k := sort.Search(len(ts), func(i int) bool { return ts[i] > last })
		if k > 0 {
			s.lastAcc[b] = ts[k-1]
		}
	}
	s.next = last + 1
}

// foldWindow folds a window's points pts (ordered by source, band,
// timestep, time, measurement) into the states, emitting the events of
// r's timesteps. It first checks that the states can take them (errStale
// otherwise: nothing is changed), then counts the light curves reaching
// their second point (testedCounts's rule), then folds source by source.
func (c *computer) foldWindow(pts []point) error {
	created := func(runcat int64) (int64, bool) {
		im, ok := c.images[runcat>>catalog.MeasurementIDShift]
		return im.timestep, ok && c.r.Has(im.timestep)
	}
	inc := map[int64]int{}
	for i := 0; i < len(pts); {
		j := i
		for j < len(pts) && pts[j].runcat == pts[i].runcat && pts[j].band == pts[i].band {
			j++
		}
		k := curveKey{pts[i].runcat, pts[i].band}
		n := int64(0)
		if st, ok := c.states[k]; ok {
			if _, isNew := created(k.runcat); isNew {
				return fmt.Errorf("%w: source %d created in timesteps %d-%d has a state", errStale, k.runcat, c.r.From, c.r.To)
			}
			for _, p := range pts[i:j] {
				if p.timestep < c.r.From || p.timestep < st.last {
					return fmt.Errorf("%w: source %d band %d: a point of timestep %d after timestep %d", errStale, k.runcat, k.band, p.timestep, st.last)
				}
			}
			n = st.n
		} else if _, isNew := created(k.runcat); !isNew && pts[i].timestep < c.r.From {
			return fmt.Errorf("%w: source %d band %d: a new light curve with a point of timestep %d", errStale, k.runcat, k.band, pts[i].timestep)
		}
		for _, p := range pts[i:j] {
			n++
			if n == 2 {
				ts := p.timestep
				if t, ok := created(k.runcat); ok {
					ts = max(ts, t)
				}
				inc[ts]++
			}
		}
		i = j
	}
	total := 0
	if len(c.nTested) > 0 {
		total = c.nTested[len(c.nTested)-1].n
	}
	keys := make([]int64, 0, len(inc))
	for t := range inc {
		keys = append(keys, t)
	}
	slices.Sort(keys)
	for _, t := range keys {
		total += inc[t]
		c.nTested = append(c.nTested, tested{timestep: t, n: total})
	}
	var scratch []point
	for i := 0; i < len(pts); {
		j := i
		for j < len(pts) && pts[j].runcat == pts[i].runcat {
			j++
		}
		scratch = c.source(pts[i:j], scratch)
		i = j
	}
	return nil
}

// open returns DuckDB over run, opened again when the run's tables
// changed since the last call (a table file appeared or went).
func (s *Stream) open(ctx context.Context, run string) (*duck.DB, error) {
	ents, err := os.ReadDir(run)
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	var b strings.Builder
	for _, e := range ents {
		if e.IsDir() || strings.HasSuffix(e.Name(), ".parquet") {
			b.WriteString(e.Name())
			b.WriteByte('/')
		}
	}
	sig := b.String()
	if s.db != nil && s.dbRun == run && s.dbSig == sig && s.dbUses < streamReopen {
		s.dbUses++
		return s.db, nil
	}
	if err := s.closeDB(); err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	// DuckDB stays open for the watch's life: without its file cache and
	// with a memory limit, its memory does not grow with the run (the
	// 30-minute soak's RSS grew with the catalogue before: docs/live.md). A commit's window is small; the first call,
	// over the whole run, spills to disk when it needs more.
	db, err := duck.Open(ctx, run, duck.Options{Threads: 1, MemoryLimit: streamMemory, NoFileCache: true, FluxErrorFloor: s.cfg.Variability.FluxErrorFloor})
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	s.db, s.dbRun, s.dbSig, s.dbUses = db, run, sig, 1
	s.opens++
	return db, nil
}
