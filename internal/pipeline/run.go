package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/internal/config"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
	"gotrap/reduce"
)

// ErrRunExists reports an --out directory that already holds a run (or
// other files) when --resume was not asked for.
var ErrRunExists = errors.New("pipeline: the run directory is not empty")

// ErrConfigDiffers is the error of a resume whose configuration is not
// the run's.
var ErrConfigDiffers = errors.New("pipeline: cannot resume: the configuration differs from the run's")

// Options configure Run.
type Options struct {
	// Run is the run directory (created when missing).
	Run string
	// Inputs are the image files (ExpandInputs).
	Inputs []string
	// Config is the job configuration; its monitor list must already
	// hold every position (LoadMonitors merges a file and the command
	// line into it).
	Config config.Config
	// Resume continues the run in Run from what its manifest and staged
	// files say is complete. Without it, Run must be empty or absent.
	Resume bool
	// Append adds the images of Inputs to the run in Run (its
	// manifest's inputs come first): images whose timesteps start after
	// the run's extend it, and the result equals one run over all of
	// them. Inputs already in the run are skipped; images inside or
	// before the run's timesteps are refused (checkAppend).
	Append bool
	// Workers bounds the images processed at once by this rank (0:
	// Config.Pipeline's, then CPUs).
	Workers int
	// CPUs is the CPUs this rank may keep busy (0: GOMAXPROCS); the
	// command sets it from reduce.CPUs, divided among in-process ranks.
	CPUs int
	// Comm is the group of ranks this process is one of (nil: one rank).
	// Every rank calls Run with the same options but Comm (and Progress);
	// the images are split among the ranks (decomp.AssignLPT), the
	// association is computed identically on every rank (see
	// docs/pipeline.md "Ranks"), each rank writes its images'
	// measurement parts, rank 0 the other files. RunRanks runs in-process
	// ranks.
	Comm reduce.Comm
	// Progress, when not nil, receives progress: a line rewritten in
	// place when Terminal, else a line every ProgressEvery (default 10 s).
	Progress      io.Writer
	Terminal      bool
	ProgressEvery time.Duration
	// Catalogues, when not nil, maps each input (as in Inputs) to the
	// catalogue file whose rows replace its extraction (gotrap run
	// --catalogues; docs/inputs.md "Catalogues"); an input without one is
	// rejected. Nil: every image is extracted.
	Catalogues map[string]string
	// AfterStage, when not nil, is called after each stage (tests use it
	// to stop a run part way).
	AfterStage func(stage string) error
	// Feed, when not nil, makes the run live (gotrap watch; live.go):
	// after the timesteps of Inputs (with Append: of the run so far), the
	// run takes the files of the next timesteps from rank 0's Feed until
	// it ends, and publishes the catalogue after each batch. Inputs may
	// then be empty. On more than one rank, rank 0 associates (one sky
	// tile: the tiling needs the run's images up front).
	Feed Feed
	// AfterCommit, when not nil, is called on rank 0 of a live run each
	// time the catalogue is published, with the timesteps committed. It
	// returns the rest of its work (nil: none), which runs in the
	// background of the next timesteps: concurrently with the Feed's
	// next calls, and done before the next publish touches the catalogue
	// and before the run's end (on an error too). An error of that work
	// fails the run at the next publish or at its end.
	AfterCommit func(rundir.Commit) (func() error, error)

	// processRanks is the number of ranks sharing this process (and its
	// memory allowance): RunRanks's n; 0 is one (an MPI rank).
	processRanks int
}

// Summary is what a run did.
type Summary struct {
	Images, Rejected      int
	RejectedBy            map[string]int // reason text -> images
	Timesteps, Bands      int
	SkyRegions            int
	Blind, Forced         int // measurements in the catalogue
	Monitor               int
	Runcats, MonitorSrcs  int
	NewSources, Likely    int // new sources, and those of type 1
	Associations          int
	Stages                []rundir.Stage // this invocation's timings
	ExtractedNow, Reused  int            // images extracted by this call, and reused from a killed one
	ForcedNow, ForcedUsed int
	Backward              int               // backward forced fits in the catalogue (backward.go)
	Limits                int               // rows of limits.parquet (limits.go)
	Ranks                 int               // ranks of the run
	Comm                  []reduce.CommStat // rank 0's collectives (bytes moved)
	// Unreadable are the images that could not be read (rejected with
	// catalog.RejectReadError), by ID, with the reason.
	Unreadable []Unreadable
}

// Unreadable is a file of the run that could not be read, and why.
type Unreadable struct {
	Path, Reason string
}

// runner is one rank's run (Run): what the stages share. Each stage is a
// method, run in order by Run; stage times one and record writes it into
// the manifest.
type runner struct {
	opt           Options
	cfg           config.Config
	comm          *reduce.Counting
	me, size      int
	cpus, workers int
	hash          string
	log           *logger
	logFile       *os.File
	prog          *progress
	copts         []catalog.Option
	sum           *Summary
	// old is the manifest found in the run directory (nil: a new run);
	// man the one this call writes.
	old, man *rundir.Manifest
	readOpt  fitsimg.Options
	acfg     assoc.Config
	xopt     extract.Options
	// paths are the inputs (with --append the run's first, nOld of
	// them); stale those whose staged results are not to be reused.
	paths []string
	nOld  int
	stale map[string]bool
	plan  *Plan
	owner []int           // owner[i]: the rank that extracts image i and writes its measurements
	rows  []catalog.Image // the images rows (after quality control)
	ar    *assocRun
}

// Run runs the pipeline's stages up to and including association:
// plan, the timesteps (extraction with quality control, association
// (SPEC 5), forced fits (SPEC 6)), the catalogue tables, backward fits
// and limits of the run directory. The varmetric table (DuckDB) is the
// catalogue stage's, in package catstage.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	r, err := newRunner(opt)
	if err != nil {
		return nil, err
	}
	defer r.logFile.Close()
	if opt.Feed != nil {
		// A live run continued: its staged files come out of their packs
		// before anything reads them (workpack.go).
		if err := r.unpackWork(); err != nil {
			return nil, err
		}
	}
	for _, step := range []func(context.Context) error{r.planStage, r.catalogue, r.backward, r.limits, r.finish} {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return r.sum, nil
}

// newRunner checks the options, makes or checks the run directory (rank
// 0, which tells the others the manifest it found) and opens this rank's
// log.
func newRunner(opt Options) (*runner, error) {
	r := &runner{opt: opt, cfg: opt.Config}
	if err := r.cfg.Validate(); err != nil {
		return nil, err
	}
	if len(opt.Inputs) == 0 && opt.Feed == nil && !opt.Append {
		return nil, fmt.Errorf("pipeline: no input images")
	}
	var base reduce.Comm = reduce.Solo{}
	if opt.Comm != nil {
		base = opt.Comm
	}
	r.comm = reduce.NewCounting(base)
	r.me, r.size = r.comm.Rank(), r.comm.Size()
	r.cpus = opt.CPUs
	if r.cpus <= 0 {
		r.cpus = defaultCPUs()
	}
	r.workers = opt.Workers
	if r.workers <= 0 {
		r.workers = r.cfg.Pipeline.Workers
	}
	if r.workers <= 0 {
		r.workers = r.cpus
	}
	var err error
	if r.hash, err = ConfigHash(r.cfg); err != nil {
		return nil, err
	}
	if r.me == 0 {
		if r.old, err = prepareDir(opt.Run, opt.Resume || opt.Append); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(rundir.LogsDir(opt.Run), 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	if r.size > 1 {
		var msg []byte
		if r.me == 0 && r.old != nil {
			if msg, err = json.Marshal(r.old); err != nil {
				return nil, fmt.Errorf("pipeline: %w", err)
			}
		}
		if msg, err = r.comm.Bcast(msg, 0); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		if r.me != 0 && len(msg) > 0 {
			r.old = &rundir.Manifest{}
			if err := json.Unmarshal(msg, r.old); err != nil {
				return nil, fmt.Errorf("pipeline: manifest from rank 0: %w", err)
			}
		}
	}
	lf, err := os.OpenFile(rundir.RankLogPath(opt.Run, r.me), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	r.log, r.logFile = &logger{w: lf}, lf
	every := opt.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	r.prog = &progress{w: opt.Progress, log: r.log, term: opt.Terminal, interval: every}
	r.copts = []catalog.Option{catalog.WithConfigHash(r.hash)}
	r.log.printf("gotrap run %s: rank %d of %d (pid %d), %d inputs, %d CPUs, %d workers, resume=%v, config %s",
		catalog.Version(), r.me, r.size, os.Getpid(), len(opt.Inputs), r.cpus, r.workers, opt.Resume, r.hash)
	r.sum = &Summary{RejectedBy: map[string]int{}, Ranks: r.size}
	r.readOpt = readOptionsOf(r.cfg)
	r.acfg = assocConfig(r.cfg)
	if r.xopt, err = extract.FromConfig(r.cfg.Extraction); err != nil {
		return nil, err
	}
	if r.xopt.Threads <= 0 {
		r.xopt.Threads = max(1, r.cpus/r.workers)
	}
	r.xopt.NegativeStokesV = true // Stokes V planes: both signs (planes.go)
	return r, nil
}

// stage runs stage name (f fills its counts), logs and times it, and
// calls Options.AfterStage.
func (r *runner) stage(name string, f func(*rundir.Stage) error) error {
	t0 := time.Now()
	st := rundir.Stage{Name: name, Started: t0.UTC().Format(time.RFC3339Nano)}
	r.log.printf("stage %s: start", name)
	r.prog.event("stage %s: start", name)
	if err := f(&st); err != nil {
		r.log.printf("stage %s: %v", name, err)
		return err
	}
	st.Done = true
	st.Finished = time.Now().UTC().Format(time.RFC3339Nano)
	st.Seconds = time.Since(t0).Seconds()
	r.sum.Stages = append(r.sum.Stages, st)
	r.log.printf("stage %s: done in %.3f s (%d items, %d reused)", name, st.Seconds, st.Items, st.Skipped)
	r.prog.event("stage %s: done in %.2f s (%d items, %d reused)", name, st.Seconds, st.Items, st.Skipped)
	if r.opt.AfterStage != nil {
		return r.opt.AfterStage(name)
	}
	return nil
}

// record writes a stage into the manifest (rank 0, after a collective
// that every rank entered with the stage done).
func (r *runner) record(st *rundir.Stage) error {
	s := r.man.Entry(st.Name)
	*s = *st
	finishStage(s)
	if r.me != 0 {
		return nil
	}
	return rundir.WriteManifest(r.opt.Run, r.man)
}

// planStage: inputs, manifest, configuration copy. Every rank builds the
// same plan from the headers; rank 0 writes the files. Then the images'
// owners.
func (r *runner) planStage(ctx context.Context) error {
	opt, cfg := r.opt, r.cfg
	r.paths = opt.Inputs
	err := r.stage(StagePlan, func(st *rundir.Stage) error {
		if opt.Append {
			if r.old == nil {
				return fmt.Errorf("%w: %s has no %s; start the run without --append", ErrNoRun, opt.Run, filepath.Base(rundir.ManifestPath(opt.Run)))
			}
			var skipped []string
			r.paths, skipped = appendPaths(r.old, opt.Inputs)
			for _, p := range skipped {
				r.log.printf("--append: %s is in the run already: skipped", p)
				r.prog.event("notice: %s is in the run already: skipped", p)
			}
			r.nOld = len(r.old.Inputs)
		}
		inputs := make([]rundir.InputFile, len(r.paths))
		if err := forEach(ctx, len(r.paths), r.workers, func(i int) error {
			var err error
			inputs[i], err = fingerprintRun(r.paths[i], opt.Catalogues)
			return err
		}); err != nil {
			return err
		}
		if r.old != nil {
			merged, s, err := checkResume(r.old, r.hash, inputs, opt.Append)
			if err != nil {
				return err
			}
			r.stale = s
			r.man = r.old
			r.man.Ranks, r.man.Inputs = r.size, merged
			if opt.Append {
				r.man.Reset(StageTimesteps, StageTables, StageBackward, StageLimits, StageVarMetric)
			}
		} else {
			now := time.Now().UTC().Format(time.RFC3339)
			r.man = &rundir.Manifest{Version: catalog.Version(), Created: now, ConfigHash: r.hash, Ranks: r.size, Inputs: inputs}
		}
		if r.me == 0 {
			var b bytes.Buffer
			b.WriteString("# The job configuration of this run (gotrap run), every setting.\n")
			if err := cfg.Encode(&b); err != nil {
				return fmt.Errorf("pipeline: %w", err)
			}
			if err := rundir.WriteFile(rundir.ConfigPath(opt.Run), b.Bytes()); err != nil {
				return err
			}
		}
		plan, err := NewPlanChannels(ctx, r.paths, r.readOpt, channelsOf(cfg.Pipeline), r.tolerance(), r.acfg, r.workers)
		if err != nil {
			return err
		}
		r.plan = plan
		if opt.Append {
			if err := checkAppend(plan, r.paths[:r.nOld]); err != nil {
				return err
			}
		}
		if opt.Catalogues != nil {
			for i := range plan.Len() {
				plan.Image(i).Catalogue = opt.Catalogues[plan.Image(i).Path]
			}
		}
		if r.size > 1 && cfg.Pipeline.TileDeg > 0 {
			if err := checkTiles(plan, r.acfg, cfg.Pipeline.TileDeg); err != nil {
				return err
			}
		}
		st.Items = plan.Len()
		*r.man.Entry(StagePlan) = *st
		finishStage(r.man.Entry(StagePlan))
		if r.me != 0 {
			return nil
		}
		if opt.Feed != nil || r.man.InputsLog {
			// A live run's inputs grow: they go in a log, appended at
			// each commit (rundir.Manifest.InputsLog).
			if err := rundir.WriteInputsLog(opt.Run, r.man); err != nil {
				return err
			}
		}
		return rundir.WriteManifest(opt.Run, r.man)
	})
	if err != nil {
		return err
	}
	r.owner = assignImages(r.plan, r.size)
	r.log.printf("rank %d: %d of %d images", r.me, len(mine(r.owner, r.me)), r.plan.Len())
	r.sum.Images, r.sum.Timesteps = r.plan.Len(), len(r.plan.Timesteps)
	r.rows = make([]catalog.Image, r.plan.Len())
	for i := range r.plan.Len() {
		r.rows[i] = imageRow(r.plan.Image(i))
	}
	r.ar = &assocRun{plan: r.plan, rows: r.rows, cfg: r.acfg, monitors: cfg.Monitor.Positions,
		comm: r.comm, owner: r.owner, me: r.me, size: r.size, run: opt.Run, tileDeg: cfg.Pipeline.TileDeg, log: r.log}
	if opt.Feed != nil {
		r.ar.tileDeg = 0
	}
	return nil
}

// heldImageCopies is what one held image costs, in copies of its
// pixels: the copy kept for its forced fits, and the extraction worker's
// buffers while it is extracted (the maps, flags and labels of
// kernels.Detector, a few copies more; rsm-mini's heap profile: about 5
// copies in all per image in flight).
const heldImageCopies = 6

// defaultLookahead is [pipeline] lookahead when not set: one image per
// worker, fewer when the Go memory limit (the memory allowance: limit,
// math.MaxInt64 for none), shared by size in-process ranks, cannot hold
// in a quarter of it, the images a rank then holds (the one associated,
// those extracted ahead, one per worker being fitted), each of pix
// pixels; at least 1.
func defaultLookahead(workers int, pix int64, limit int64, size int) int {
	la := max(1, workers)
	if limit <= 0 || limit == math.MaxInt64 || pix <= 0 {
		return la
	}
	per := pix * 4 * heldImageCopies                      // bytes per held image
	room := limit / 4 / int64(max(1, size)) / max(1, per) // images a rank may hold
	return int(max(1, min(int64(la), room-int64(workers)-1)))
}

// largestImage is the pixel count of the plan's largest image.
func largestImage(plan *Plan) int64 {
	var n int64
	for i := range plan.Len() {
		if img := plan.Image(i); img.hasHeader() {
			g := img.geo()
			n = max(n, int64(g.nx)*int64(g.ny))
		}
	}
	return n
}

// tolerance is [pipeline] timestep_tolerance.
func (r *runner) tolerance() time.Duration {
	return time.Duration(r.cfg.Pipeline.TimestepTolerance * float64(time.Second))
}

// catalogue runs the timesteps (engine.go) and writes the catalogue
// tables from the association engines, or takes them from an earlier
// call; then counts the rejections.
func (r *runner) catalogue(ctx context.Context) error {
	if r.man.Done(StageTables) {
		r.log.printf("the catalogue tables are done: reused")
		if err := reuseCatalogue(r.opt.Run, r.comm, r.rows, r.sum); err != nil {
			return err
		}
	} else if err := r.timesteps(ctx); err != nil {
		return err
	}
	for i := range r.rows {
		if r.rows[i].Rejected {
			r.sum.Rejected++
			r.sum.RejectedBy[reasonText(r.rows[i].RejectReason.Int64)]++
			if r.rows[i].RejectReason.Int64 == catalog.RejectReadError {
				r.sum.Unreadable = append(r.sum.Unreadable, Unreadable{Path: r.plan.Image(i).Path, Reason: r.rows[i].RejectComment})
			}
		}
	}
	return nil
}

// timesteps runs the timesteps and tables stages.
func (r *runner) timesteps(ctx context.Context) (err error) {
	opt, cfg, plan, sum := r.opt, r.cfg, r.plan, r.sum
	// Staged files are trusted in the timesteps committed (staging).
	c, err := rundir.ReadCommit(opt.Run)
	if err != nil {
		return err
	}
	stg := &staging{run: opt.Run, committed: int64(min(c.Timesteps, len(plan.Timesteps)))}
	str := &stream{a: r.ar, qc: cfg.Quality, workers: r.workers, lookahead: cfg.Pipeline.Lookahead, prog: r.prog, stage: stg,
		ex: &extractStage{run: opt.Run, opt: r.xopt, qc: cfg.Quality, read: r.readOpt, copts: r.copts, catalogues: opt.Catalogues != nil, stale: r.stale, firstOf: firstImages(plan), stage: stg},
		fs: &forcedStage{run: opt.Run, opt: r.xopt, read: r.readOpt, copts: r.copts, stage: stg}}
	str.directReads = r.useDirect()
	if str.lookahead <= 0 {
		str.lookahead = defaultLookahead(r.workers, largestImage(plan), debug.SetMemoryLimit(-1), opt.processRanks)
		r.log.printf("lookahead: %d images", str.lookahead)
	}
	str.commit = func(t int) error {
		if int64(t) < stg.committed {
			return nil // recorded already (a replayed timestep)
		}
		return writeCommit(opt.Run, plan, t)
	}
	str.hashes = map[int]string{}
	var eng *assoc.Engine
	err = r.stage(StageTimesteps, func(st *rundir.Stage) error {
		// What follows the tables is redone after them.
		r.man.Reset(StageTimesteps, StageBackward, StageLimits, StageVarMetric)
		part := 0
		if opt.Feed != nil && r.old != nil {
			// A live run started again: readers keep the catalogue of
			// its last publish while it replays.
			c, err := rundir.ReadCommit(opt.Run)
			if err != nil {
				return err
			}
			part = c.Timesteps + 1
		}
		sink, err := startCatalogue(opt.Run, r.ar, r.copts, part)
		if err != nil {
			return err
		}
		rejectUnplanned(plan, r.rows)
		if opt.Feed != nil {
			str.live = &live{feed: opt.Feed, run: opt.Run, man: r.man, sink: sink, part: part, copts: r.copts, sum: sum,
				read: r.readOpt, channels: channelsOf(cfg.Pipeline), tol: r.tolerance(),
				workers: r.workers, log: r.log, after: opt.AfterCommit}
			str.live.assigner.assign(plan, r.size, nil, 0)
		}
		if eng, err = str.run(ctx, sink); err != nil {
			sink.abort()
			return err
		}
		r.rows, r.owner = r.ar.rows, r.ar.owner // a live run's grew
		if str.live != nil {
			if r.rows, err = str.live.endRows(r.ar); err != nil {
				sink.abort()
				return err
			}
			r.ar.rows, r.ar.rowBase = r.rows, 0
		}
		sum.Images, sum.Timesteps = plan.Len(), len(plan.Timesteps)
		if err := sink.close(); err != nil {
			return err
		}
		// Every rank's parts are complete after this collective.
		n := []*int{&sink.n[0], &sink.n[1], &sink.n[2], &str.extracted, &str.reused, &str.fitted, &str.fitsReused}
		if err := sumInts(r.comm, n...); err != nil {
			return err
		}
		sum.Blind, sum.Forced, sum.Monitor = sink.n[0], sink.n[1], sink.n[2]
		sum.ExtractedNow, sum.Reused, sum.ForcedNow, sum.ForcedUsed = str.extracted, str.reused, str.fitted, str.fitsReused
		st.Items, st.Skipped = str.extracted, str.reused
		filled, err := fillHashes(plan, str.hashes, manifestEntries(r.man))
		if err != nil {
			return err
		}
		if r.man.InputsLog && r.me == 0 {
			if err := rundir.AppendInputs(opt.Run, filled...); err != nil {
				return err
			}
		}
		return r.record(st)
	})
	if err != nil {
		return err
	}
	str = nil
	return r.stage(StageTables, func(st *rundir.Stage) (err error) {
		defer closeEngine(eng, &err)
		// The timesteps' pixel buffers are garbage now: returned to the
		// system before the tables are gathered (the run's peak memory
		// was here).
		debug.FreeOSMemory()
		n := sum.Blind + sum.Forced + sum.Monitor
		if opt.Feed != nil {
			// The live run ends as a batch run: its staged files out of
			// their packs for the stages to come (limits, --append).
			if err := r.unpackWork(); err != nil {
				return err
			}
		}
		if r.ar.me == 0 {
			// A live run's association and images parts: the tables are
			// whole now.
			for _, t := range []string{catalog.TableAssociations, catalog.TableImages} {
				if err := removePartsBelow(opt.Run, t, "", -1); err != nil {
					return err
				}
			}
		}
		if err := writeDistCatalogue(r.ar, eng, opt.Run, r.rows, r.copts, sum, &n, true); err != nil {
			return err
		}
		st.Items = n
		return r.record(st)
	})
}

// unpackWork is a collective: rank 0 unpacks the run's work packs
// (unpackWork), the others wait.
func (r *runner) unpackWork() error {
	var err error
	if r.me == 0 {
		var n int
		if n, err = unpackWork(r.opt.Run); n > 0 {
			r.log.printf("work packs: %d staged files unpacked", n)
		}
	}
	if berr := r.comm.Barrier(); err == nil && berr != nil {
		err = fmt.Errorf("pipeline: %w", berr)
	}
	return err
}

// backward runs the backward forced fits (backward.go), if asked: after
// the catalogue tables, before the DuckDB catalogue stage. Redone
// whenever the tables were; they read the images of earlier timesteps a
// second time.
func (r *runner) backward(ctx context.Context) error {
	if !r.cfg.ForcedFits.Backward {
		return nil
	}
	if r.man.Done(StageBackward) {
		r.log.printf("backward fits already done: reused")
		return countBackward(r.opt.Run, r.sum)
	}
	bs := &backwardStage{run: r.opt.Run, opt: r.xopt, read: r.readOpt, copts: r.copts, cfg: r.acfg,
		plan: r.plan, rows: r.rows, comm: r.comm}
	return r.stage(StageBackward, func(st *rundir.Stage) error {
		if err := bs.runStage(ctx, st, r.workers, r.prog, r.log, r.sum); err != nil {
			return err
		}
		return r.record(st)
	})
}

// limits writes the upper limits before each source's first detection
// (limits.go): rank 0, from the catalogue tables and the staged grids.
func (r *runner) limits(ctx context.Context) error {
	if r.man.Done(StageLimits) {
		r.log.printf("limits already done: reused")
		var err error
		r.sum.Limits, err = countRows[catalog.Limit](rundir.TablePath(r.opt.Run, catalog.TableLimits))
		return err
	}
	return r.stage(StageLimits, func(st *rundir.Stage) error {
		if r.me == 0 {
			// The timesteps' and tables' garbage, returned to the system
			// before this stage's reads.
			debug.FreeOSMemory()
			n, err := writeLimits(ctx, r.opt.Run, r.plan, r.rows, limitsOptionsOf(r.xopt, r.cfg.TransientSearch.NewSourceSigmaMargin), r.copts, r.workers)
			if err != nil {
				return err
			}
			r.sum.Limits, st.Items = n, n
		}
		return r.record(st)
	})
}

// finish measures the circular polarisation (if asked), writes the
// summary and waits for every rank: every file is complete when the
// ranks leave Run, so rank 0 may run the catalogue (DuckDB) stage after
// it.
func (r *runner) finish(ctx context.Context) error {
	if err := circPolStage(ctx, r.opt.Run, r.plan, r.cfg, r.xopt, r.readOpt, r.copts, r.workers, r.me, r.log); err != nil {
		return err
	}
	r.sum.Comm = r.comm.Stats()
	r.log.printf("collectives: %s", formatStats(r.sum.Comm))
	if r.me == 0 {
		if err := writeSummary(r.opt.Run, r.sum); err != nil {
			return err
		}
	}
	if err := r.comm.Barrier(); err != nil {
		return err
	}
	if r.me == 0 {
		// The engines' link files (unlinked already) had their directory.
		if err := os.RemoveAll(rundir.LinksDir(r.opt.Run)); err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	return nil
}

// readOptionsOf returns the image reader's options of a job
// configuration.
func readOptionsOf(c config.Config) fitsimg.Options {
	return fitsimg.Options{Plane: c.Pipeline.Plane, Stokes: c.Pipeline.Stokes, Channel: c.Pipeline.Channel}
}

// assocConfig converts a job configuration into the engine's.
func assocConfig(c config.Config) assoc.Config {
	return assoc.Config{
		DeRuiterRadius:       c.Association.DeRuiterRadius,
		BeamwidthsLimit:      c.Association.BeamwidthsLimit,
		Expiration:           int32(c.ForcedFits.Expiration),
		NewSourceSigmaMargin: c.TransientSearch.NewSourceSigmaMargin,
		BandwidthMax:         c.Association.BandwidthMax,
		ExtractionRadiusPix:  c.Extraction.ExtractionRadiusPix,
		EWSysErr:             c.Extraction.EwSysErr,
		NSSysErr:             c.Extraction.NsSysErr,
	}
}

// ErrNotARun reports --resume into a folder that holds files but no
// manifest: a folder gotrap did not make, where it deletes nothing.
var ErrNotARun = errors.New("pipeline: not a gotrap run directory")

// prepareDir checks the run directory: absent or empty for a new run,
// or holding a manifest for --resume (returned; nil when there is none,
// and --resume then starts afresh). The lock file (rundir.LockFile), and
// logs/ and gotrap.toml without a manifest (a run that stopped in its
// plan stage; gotrap.sbatch of "gotrap slurm"), do not count as content. A folder without a manifest may be resumed only
// when it holds nothing but what a run killed before its manifest leaves
// (logs/, gotrap.toml, temporary files): gotrap never deletes or
// overwrites files it did not write. On --resume, the temporary files of
// killed writers are removed (the caller holds the lock).
func prepareDir(run string, resume bool) (*rundir.Manifest, error) {
	if run == "" {
		return nil, fmt.Errorf("pipeline: no run directory")
	}
	ents, err := os.ReadDir(run)
	if err != nil && !isNotExist(err) {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	// What a run that stopped before its manifest leaves is gotrap's:
	// a new run may start over it.
	var foreign []string
	for _, e := range ents {
		if n := e.Name(); !rundir.PreManifest(n) {
			foreign = append(foreign, n)
		}
	}
	if !resume {
		if len(foreign) > 0 {
			return nil, fmt.Errorf("%w: %s (use --resume to continue the run in it, or a new --out)", ErrRunExists, run)
		}
		if err := os.MkdirAll(run, 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		if _, err := rundir.RemoveTemps(run); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		return nil, nil
	}
	m, err := rundir.ReadManifest(run) // m is nil on error
	switch {
	case err == nil:
	case !isNotExist(err):
		return nil, err
	case len(foreign) > 0:
		return nil, fmt.Errorf("%w: %s has no %s but holds %s: --resume continues only a gotrap run, and nothing was changed; use a new or empty --out",
			ErrNotARun, run, filepath.Base(rundir.ManifestPath(run)), strings.Join(foreign, ", "))
	default:
		if err := os.MkdirAll(run, 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	if _, err := rundir.RemoveTemps(run); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return m, nil
}

// reasonText names a rejection reason (docs/catalog.md).
func reasonText(r int64) string {
	switch r {
	case catalog.RejectRMS:
		return "RMS invalid"
	case catalog.RejectBeam:
		return "beam invalid"
	case catalog.RejectBright:
		return "bright source near"
	case catalog.RejectTauTime:
		return "tau_time invalid"
	case catalog.RejectNaN:
		return "contains NaN"
	case catalog.RejectFlat:
		return "data is flat"
	case catalog.RejectReadError:
		return "read error"
	}
	return fmt.Sprintf("reason %d", r)
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	slices.Sort(k)
	return k
}

// finishStage marks s done and times it from its start, for the manifest:
// a stage is recorded from inside its own function, before the stage
// helper has timed it.
func finishStage(s *rundir.Stage) {
	s.Done = true
	now := time.Now()
	s.Finished = now.UTC().Format(time.RFC3339Nano)
	if t0, err := time.Parse(time.RFC3339Nano, s.Started); err == nil {
		s.Seconds = now.Sub(t0).Seconds()
	}
}
