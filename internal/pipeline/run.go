package pipeline

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
	// time the catalogue is published, with the timesteps committed.
	AfterCommit func(rundir.Commit) error
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

// rank is the rank-local view of a run: this rank's share of the images
// (owner, from decomp's cost balancing; every image on one rank).
type rank struct {
	id    int
	comm  reduce.Comm
	owner []int // owner[i]: the rank that extracts image i and writes its measurements
	todo  []int // indices into plan.Images: this rank's images
	log   *logger
	prog  *progress
	copts []catalog.Option
}

// Run runs the pipeline's stages up to and including association:
// plan, extraction with quality control, association (SPEC 5), forced
// fits (SPEC 6) and the catalogue tables of the run directory. The
// varmetric table (DuckDB) is the catalogue stage's, in package catstage.
func Run(ctx context.Context, opt Options) (*Summary, error) {
	cfg := opt.Config
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if len(opt.Inputs) == 0 && opt.Feed == nil && !opt.Append {
		return nil, fmt.Errorf("pipeline: no input images")
	}
	var base reduce.Comm = reduce.Solo{}
	if opt.Comm != nil {
		base = opt.Comm
	}
	comm := reduce.NewCounting(base)
	me, size := comm.Rank(), comm.Size()
	cpus := opt.CPUs
	if cpus <= 0 {
		cpus = defaultCPUs()
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = cfg.Pipeline.Workers
	}
	if workers <= 0 {
		workers = cpus
	}
	hash, err := ConfigHash(cfg)
	if err != nil {
		return nil, err
	}
	// Rank 0 checks or creates the run directory, then tells the others
	// the manifest it found (or none).
	var old *rundir.Manifest
	if me == 0 {
		if old, err = prepareDir(opt.Run, opt.Resume || opt.Append); err != nil {
			return nil, err
		}
		if err := os.MkdirAll(rundir.LogsDir(opt.Run), 0o755); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	if size > 1 {
		var msg []byte
		if me == 0 && old != nil {
			if msg, err = json.Marshal(old); err != nil {
				return nil, fmt.Errorf("pipeline: %w", err)
			}
		}
		if msg, err = comm.Bcast(msg, 0); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		if me != 0 && len(msg) > 0 {
			old = &rundir.Manifest{}
			if err := json.Unmarshal(msg, old); err != nil {
				return nil, fmt.Errorf("pipeline: manifest from rank 0: %w", err)
			}
		}
	}
	lf, err := os.OpenFile(rundir.RankLogPath(opt.Run, me), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	defer lf.Close()
	log := &logger{w: lf}
	every := opt.ProgressEvery
	if every <= 0 {
		every = 10 * time.Second
	}
	rk := &rank{id: me, comm: comm, log: log, prog: &progress{w: opt.Progress, log: log, term: opt.Terminal, interval: every},
		copts: []catalog.Option{catalog.WithConfigHash(hash)}}
	log.printf("gotrap run %s: rank %d of %d (pid %d), %d inputs, %d CPUs, %d workers, resume=%v, config %s",
		catalog.Version(), me, size, os.Getpid(), len(opt.Inputs), cpus, workers, opt.Resume, hash)
	sum := &Summary{RejectedBy: map[string]int{}, Ranks: size}
	stage := func(name string, f func(*rundir.Stage) error) error {
		t0 := time.Now()
		st := rundir.Stage{Name: name, Started: t0.UTC().Format(time.RFC3339Nano)}
		log.printf("stage %s: start", name)
		rk.prog.event("stage %s: start", name)
		if err := f(&st); err != nil {
			log.printf("stage %s: %v", name, err)
			return err
		}
		st.Done = true
		st.Finished = time.Now().UTC().Format(time.RFC3339Nano)
		st.Seconds = time.Since(t0).Seconds()
		sum.Stages = append(sum.Stages, st)
		log.printf("stage %s: done in %.3f s (%d items, %d reused)", name, st.Seconds, st.Items, st.Skipped)
		rk.prog.event("stage %s: done in %.2f s (%d items, %d reused)", name, st.Seconds, st.Items, st.Skipped)
		if opt.AfterStage != nil {
			return opt.AfterStage(name)
		}
		return nil
	}

	// Plan: inputs, manifest, configuration copy. Every rank builds the
	// same plan from the headers; rank 0 writes the files.
	var plan *Plan
	var man *rundir.Manifest
	readOpt := readOptionsOf(cfg)
	acfg := assocConfig(cfg)
	paths := opt.Inputs
	var nOld int              // the run's images before this call (--append)
	var stale map[string]bool // inputs whose staged results are not to be reused (checkResume)
	err = stage(StagePlan, func(st *rundir.Stage) error {
		if opt.Append {
			if old == nil {
				return fmt.Errorf("%w: %s has no %s; start the run without --append", ErrNoRun, opt.Run, filepath.Base(rundir.ManifestPath(opt.Run)))
			}
			var skipped []string
			paths, skipped = appendPaths(old, opt.Inputs)
			for _, p := range skipped {
				log.printf("--append: %s is in the run already: skipped", p)
				rk.prog.event("notice: %s is in the run already: skipped", p)
			}
			nOld = len(old.Inputs)
		}
		inputs := make([]rundir.InputFile, len(paths))
		if err := forEach(ctx, len(paths), workers, func(i int) error {
			var err error
			inputs[i], err = fingerprintRun(paths[i], opt.Catalogues)
			return err
		}); err != nil {
			return err
		}
		if old != nil {
			merged, s, err := checkResume(old, hash, inputs, opt.Append)
			if err != nil {
				return err
			}
			stale = s
			man = old
			man.Ranks, man.Inputs = size, merged
			if opt.Append {
				man.Reset(StageTimesteps, StageTables, StageBackward, StageLimits, StageVarMetric)
			}
		} else {
			now := time.Now().UTC().Format(time.RFC3339)
			man = &rundir.Manifest{Version: catalog.Version(), Created: now, ConfigHash: hash, Ranks: size, Inputs: inputs}
		}
		if me == 0 {
			var b bytes.Buffer
			b.WriteString("# The job configuration of this run (gotrap run), every setting.\n")
			if err := cfg.Encode(&b); err != nil {
				return fmt.Errorf("pipeline: %w", err)
			}
			if err := rundir.WriteFile(rundir.ConfigPath(opt.Run), b.Bytes()); err != nil {
				return err
			}
		}
		tol := time.Duration(cfg.Pipeline.TimestepTolerance * float64(time.Second))
		var err error
		if plan, err = NewPlanChannels(ctx, paths, readOpt, channelsOf(cfg.Pipeline), tol, acfg, workers); err != nil {
			return err
		}
		if opt.Append {
			if err := checkAppend(plan, paths[:nOld]); err != nil {
				return err
			}
		}
		if opt.Catalogues != nil {
			for i := range plan.Images {
				plan.Images[i].Catalogue = opt.Catalogues[plan.Images[i].Path]
			}
		}
		if size > 1 && cfg.Pipeline.TileDeg > 0 {
			if err := checkTiles(plan, acfg, cfg.Pipeline.TileDeg); err != nil {
				return err
			}
		}
		st.Items = len(plan.Images)
		*man.Entry(StagePlan) = *st
		finishStage(man.Entry(StagePlan))
		if me != 0 {
			return nil
		}
		return rundir.WriteManifest(opt.Run, man)
	})
	if err != nil {
		return nil, err
	}
	rk.owner = assignImages(plan, size)
	log.printf("rank %d: %d of %d images", me, len(mine(rk.owner, me)), len(plan.Images))
	sum.Images, sum.Timesteps = len(plan.Images), len(plan.Timesteps)

	xopt, err := extract.FromConfig(cfg.Extraction)
	if err != nil {
		return nil, err
	}
	if xopt.Threads <= 0 {
		xopt.Threads = max(1, cpus/workers)
	}
	xopt.NegativeStokesV = true // Stokes V planes: both signs (planes.go)
	// record writes a stage into the manifest (rank 0, after a
	// collective that every rank entered with the stage done).
	record := func(st *rundir.Stage) error {
		s := man.Entry(st.Name)
		*s = *st
		finishStage(s)
		if me != 0 {
			return nil
		}
		return rundir.WriteManifest(opt.Run, man)
	}
	rows := make([]catalog.Image, len(plan.Images))
	for i := range plan.Images {
		rows[i] = imageRow(&plan.Images[i])
	}
	ar := &assocRun{plan: plan, rows: rows, cfg: acfg, monitors: cfg.Monitor.Positions,
		comm: comm, owner: rk.owner, me: me, size: size, run: opt.Run, tileDeg: cfg.Pipeline.TileDeg, log: log}
	if opt.Feed != nil {
		ar.tileDeg = 0
	}
	if !man.Done(StageTables) {
		// The timesteps (engine.go), then the catalogue tables from the
		// association engines.
		str := &stream{a: ar, qc: cfg.Quality, workers: workers, lookahead: cfg.Pipeline.Lookahead, prog: rk.prog,
			ex: &extractStage{run: opt.Run, opt: xopt, qc: cfg.Quality, read: readOpt, copts: rk.copts, catalogues: opt.Catalogues != nil, stale: stale, firstOf: firstImages(plan)},
			fs: &forcedStage{run: opt.Run, opt: xopt, read: readOpt, copts: rk.copts}}
		if str.lookahead <= 0 {
			str.lookahead = workers
		}
		str.commit = func(t int) error { return writeCommit(opt.Run, plan, t) }
		str.hashes = map[int]string{}
		var eng *assoc.Engine
		var sink *measurementSink
		err = stage(StageTimesteps, func(st *rundir.Stage) error {
			// What follows the tables is redone after them.
			man.Reset(StageTimesteps, StageBackward, StageLimits, StageVarMetric)
			part := 0
			if opt.Feed != nil && old != nil {
				// A live run started again: readers keep the catalogue of
				// its last publish while it replays.
				c, err := rundir.ReadCommit(opt.Run)
				if err != nil {
					return err
				}
				part = c.Timesteps + 1
			}
			if sink, err = startCatalogue(opt.Run, ar, rk.copts, part); err != nil {
				return err
			}
			rejectUnplanned(plan, rows)
			if opt.Feed != nil {
				str.live = &live{feed: opt.Feed, run: opt.Run, man: man, sink: sink, part: part, copts: rk.copts, sum: sum,
					read: readOpt, channels: channelsOf(cfg.Pipeline), tol: time.Duration(cfg.Pipeline.TimestepTolerance * float64(time.Second)),
					workers: workers, log: log, after: opt.AfterCommit}
				str.live.assigner.assign(plan, size, nil, 0)
			}
			if eng, err = str.run(ctx, sink); err != nil {
				sink.abort()
				return err
			}
			rows = ar.rows // a live run's grew
			sum.Images, sum.Timesteps = len(plan.Images), len(plan.Timesteps)
			if err := sink.close(); err != nil {
				return err
			}
			// Every rank's parts are complete after this collective.
			n := []*int{&sink.n[0], &sink.n[1], &sink.n[2], &str.extracted, &str.reused, &str.fitted, &str.fitsReused}
			if err := sumInts(comm, n...); err != nil {
				return err
			}
			sum.Blind, sum.Forced, sum.Monitor = sink.n[0], sink.n[1], sink.n[2]
			sum.ExtractedNow, sum.Reused, sum.ForcedNow, sum.ForcedUsed = str.extracted, str.reused, str.fitted, str.fitsReused
			st.Items, st.Skipped = str.extracted, str.reused
			if err := fillHashes(man, plan, str.hashes); err != nil {
				return err
			}
			return record(st)
		})
		if err != nil {
			return nil, err
		}
		err = stage(StageTables, func(st *rundir.Stage) error {
			defer closeEngine(eng, &err)
			n := sum.Blind + sum.Forced + sum.Monitor
			if err := writeDistCatalogue(ar, eng, opt.Run, rows, rk.copts, sum, &n); err != nil {
				return err
			}
			st.Items = n
			return record(st)
		})
		if err != nil {
			return nil, err
		}
	} else {
		log.printf("the catalogue tables are done: reused")
		if err := reuseCatalogue(opt.Run, comm, rows, sum); err != nil {
			return nil, err
		}
	}
	for i := range rows {
		if rows[i].Rejected {
			sum.Rejected++
			sum.RejectedBy[reasonText(rows[i].RejectReason.Int64)]++
			if rows[i].RejectReason.Int64 == catalog.RejectReadError {
				sum.Unreadable = append(sum.Unreadable, Unreadable{Path: plan.Images[i].Path, Reason: rows[i].RejectComment})
			}
		}
	}
	// Backward forced fits (backward.go): after the catalogue tables,
	// before the DuckDB catalogue stage. Redone whenever the tables were;
	// they read the images of earlier timesteps a second time.
	if cfg.ForcedFits.Backward {
		bs := &backwardStage{run: opt.Run, opt: xopt, read: readOpt, copts: rk.copts, cfg: acfg,
			plan: plan, rows: rows, comm: comm}
		if !man.Done(StageBackward) {
			err = stage(StageBackward, func(st *rundir.Stage) error {
				if err := bs.runStage(ctx, st, workers, rk.prog, log, sum); err != nil {
					return err
				}
				return record(st)
			})
		} else {
			log.printf("backward fits already done: reused")
			err = countBackward(opt.Run, sum)
		}
		if err != nil {
			return nil, err
		}
	}
	// Upper limits before each source's first detection (limits.go):
	// rank 0, from the catalogue tables and the staged grids.
	if !man.Done(StageLimits) {
		err = stage(StageLimits, func(st *rundir.Stage) error {
			if me == 0 {
				n, err := writeLimits(ctx, opt.Run, plan, rows, limitsOptionsOf(xopt, cfg.TransientSearch.NewSourceSigmaMargin), rk.copts, workers)
				if err != nil {
					return err
				}
				sum.Limits, st.Items = n, n
			}
			return record(st)
		})
	} else {
		log.printf("limits already done: reused")
		sum.Limits, err = countRows[catalog.Limit](rundir.TablePath(opt.Run, catalog.TableLimits))
	}
	if err != nil {
		return nil, err
	}
	if err := circPolStage(ctx, opt.Run, plan, cfg, xopt, readOpt, rk.copts, workers, me, log); err != nil {
		return nil, err
	}
	sum.Comm = comm.Stats()
	log.printf("collectives: %s", formatStats(sum.Comm))
	if me == 0 {
		if err := writeSummary(opt.Run, sum); err != nil {
			return nil, err
		}
	}
	// Every file is complete when the ranks leave Run: rank 0 may run the
	// catalogue (DuckDB) stage after it.
	if err := comm.Barrier(); err != nil {
		return nil, err
	}
	if me == 0 {
		// The engines' link files (unlinked already) had their directory.
		if err := os.RemoveAll(rundir.LinksDir(opt.Run)); err != nil {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
	}
	return sum, nil
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
