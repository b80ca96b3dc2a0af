//go:build !front

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/pipeline/catstage"
	"gotrap/internal/report"
	"gotrap/internal/respond"
	"gotrap/internal/rundir"
	"gotrap/reduce"
	"gotrap/reduce/mpi"
	"gotrap/slurm"
)

// positionsFlag collects repeated --monitor RA,DEC flags.
type positionsFlag [][2]float64

func (p *positionsFlag) String() string { return fmt.Sprint([][2]float64(*p)) }
func (p *positionsFlag) Set(v string) error {
	pos, err := pipeline.ParsePosition(v)
	if err != nil {
		return err
	}
	*p = append(*p, pos)
	return nil
}

type runFlags struct {
	out, config, monitorFile string
	monitors                 positionsFlag
	resume, quiet, report    bool
	append                   bool
	backwardFits             bool
	stokes                   string // [pipeline] stokes, when given
	channel                  int    // [pipeline] channel, when given (> 0)
	channels                 string // [pipeline] channels, when given
	circularPol              bool   // [pipeline] circular_polarisation
	catalogues               string // --catalogues: "", "auto" or @LIST
	catalogueMap             map[string]string
	workers, threads, ranks  int
	memoryLimit, memory      string
	every                    time.Duration
	cpuProfile, memProfile   string
	traceFile                string
}

var runFl runFlags

func init() {
	register(&command{
		name:  "run",
		usage: "--out RUN [-c gotrap.toml] [--resume | --append] [--monitor RA,DEC]... [--catalogues auto|@LIST] INPUT...",
		short: "run the transients pipeline over a stack of images",
		long: `Run finds, associates and measures the sources of a stack of FITS images as
TraP does (docs/science.md) and writes the catalogue to the run directory RUN:
images.parquet, measurements/, associations, runcat, runcat_flux,
newsources, skyregions, bands, varmetric (.parquet), manifest.json,
gotrap.toml (the configuration used) and logs/. Query it with
"gotrap query RUN transients|variables|...". See docs/pipeline.md.

An INPUT is a FITS file (also .fits.gz or tile-compressed .fits.fz), a CASA
image directory, a directory (every *.fits, *.fits.gz, *.fits.fz file and
CASA image below it), a glob, or @FILE, a list of inputs one per line
(docs/inputs.md lists the formats). Settings are the defaults (TraP's
job defaults) unless -c names a configuration ("gotrap init" writes one).

--backward-fits (or [forced_fits] backward = true) adds forced fits of each
source in the earlier images, before its first detection (VAST style;
docs/pipeline.md "Backward forced fits").

--catalogues associates other source finders' catalogues instead of
extracting: each image is read (quality control, rms and background maps
for forced fits and limits, metadata) and its measurements are the rows of
its catalogue: Selavy (components .txt, CASDA .csv or VOTable .xml),
Aegean or PyBDSF (CSV or FITS tables) or PySE's CSV (gotrap extract's
STEM.csv). "--catalogues auto" takes, for each INPUT image STEM.fits, the
first of STEM.selavy.components.xml, .txt, .csv, STEM_comp.fits,
STEM_comp.csv (Aegean), STEM.pybdsf.srl.fits, .csv (PyBDSF) or STEM.csv
beside it; "--catalogues @LIST" reads IMAGE CATALOGUE pairs, one
a line, and the images need not be given as INPUTs. An image without a
catalogue, or with one that cannot be read, is rejected (reason 6, naming
the file, line and column); catalogue rows off the image are listed in
RUN/work/extract/ID.dropped.csv. See docs/inputs.md "Catalogues".

--resume continues a run that was killed or failed, reusing the images
already extracted and fitted; the result equals an uninterrupted run. The
configuration and inputs must be the run's ("gotrap run --resume --out RUN"
takes both from the run).

--append adds the INPUT images to the run in --out (tonight's images to
last week's run): the run's timesteps are replayed from RUN/work without
reading their images again, the new ones are processed, and every table
is rewritten; the result equals one run over all the images. Only images
whose timesteps start after the run's last one can be added: others are
refused, by name. Images already in the run are skipped with a notice. The
run's configuration (RUN/gotrap.toml) is used; a different -c is refused,
naming the keys that differ. An append that is killed continues when the
same command is run again. See docs/pipeline.md "Runs that grow".

--ranks N splits the run over N in-process ranks. Started by mpirun or
srun (a binary built with -tags mpi), every MPI process is a rank; rank 0
writes the shared files and prints the summary. The catalogue is the
same on any number of ranks. See README "Running with MPI".

Inside a Slurm job, a requeued job (SLURM_RESTART_COUNT > 0) resumes as
with --resume, and without --memory-limit DuckDB gets three quarters of
the task's memory allowance. See docs/slurm.md.

--memory SIZE (or [pipeline] memory) is the memory allowance of this
process: of each MPI rank, or of all the in-process ranks together.
Without it, Slurm's allowance per task (--mem, --mem-per-cpu) applies,
else the memory limit of the process's cgroup shared by the MPI ranks on
the node, else none. Of an allowance, the Go runtime gets three quarters
as its soft memory limit (unless GOMEMLIMIT is set) and DuckDB three
quarters as its memory_limit (unless --memory-limit is given): the stages
that use them run one after the other. Without an allowance Go has no
limit and DuckDB 1 GB per thread. See docs/performance.md "Memory".`,
		setFlags: func(fs *flag.FlagSet) {
			runFl = runFlags{}
			fs.StringVar(&runFl.out, "out", "", "run directory (required; new or empty unless --resume)")
			fs.StringVar(&runFl.config, "c", "", "job configuration (TOML); default: built-in defaults")
			fs.StringVar(&runFl.config, "config", "", "same as -c")
			fs.BoolVar(&runFl.resume, "resume", false, "continue the run in --out")
			fs.BoolVar(&runFl.append, "append", false, "add the INPUT images to the run in --out (images of later timesteps)")
			fs.Var(&runFl.monitors, "monitor", "monitor position RA,DEC in degrees (repeatable)")
			fs.StringVar(&runFl.monitorFile, "monitor-file", "", "file of monitor positions, one RA DEC per line")
			fs.StringVar(&runFl.stokes, "stokes", "", "polarisation `S` (I, V, RR, ...) to read from cubes, as [pipeline] stokes (part of the run's configuration)")
			fs.IntVar(&runFl.channel, "channel", 0, "channel `N` (1-based) to read from cubes, as [pipeline] channel (part of the run's configuration)")
			fs.BoolVar(&runFl.circularPol, "circular-polarisation", false, "also measure the circular polarisation of every associated measurement in the Stokes V plane of its image file (RUN/circpol.parquet), as [pipeline] circular_polarisation")
			fs.StringVar(&runFl.channels, "channels", "", "channels `R` of cubes, each its own image and band: all, N, N-M or N- (1-based), as [pipeline] channels (part of the run's configuration)")
			fs.BoolVar(&runFl.backwardFits, "backward-fits", false, "also fit every source in the images before its first detection, as [forced_fits] backward = true (part of the run's configuration)")
			fs.IntVar(&runFl.ranks, "ranks", 1, "in-process ranks (goroutines; the CPUs are divided among them); under mpirun/srun the ranks are the MPI processes instead; does not change the output")
			fs.IntVar(&runFl.workers, "workers", 0, "images processed at once (0: [pipeline] workers, else all CPUs); does not change the output")
			fs.IntVar(&runFl.threads, "threads", 0, "DuckDB threads for the catalogue stage (0: the CPUs Go may use, at most SLURM_CPUS_PER_TASK)")
			fs.StringVar(&runFl.memoryLimit, "memory-limit", "", "DuckDB memory_limit (default: 3/4 of the memory allowance, else 1GB per thread)")
			fs.StringVar(&runFl.memory, "memory", "", "memory allowance `SIZE` of this process, e.g. 8GiB (default: [pipeline] memory, else Slurm's, else the cgroup's): Go's soft limit and DuckDB's memory_limit are 3/4 of it")
			fs.StringVar(&runFl.catalogues, "catalogues", "", "associate catalogues instead of extracting: `auto` (STEM.selavy.components.{xml,txt,csv}, STEM_comp.{fits,csv}, STEM.pybdsf.srl.{fits,csv} or STEM.csv beside each image) or @LIST (IMAGE CATALOGUE pairs, one a line)")
			fs.BoolVar(&runFl.quiet, "quiet", false, "no progress on stderr")
			fs.BoolVar(&runFl.report, "report", false, "write the HTML report (RUN/report/index.html) at the end, as gotrap report does")
			fs.DurationVar(&runFl.every, "progress-every", 10*time.Second, "interval of progress lines when stderr is not a terminal")
			fs.StringVar(&runFl.cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the run to `FILE`")
			fs.StringVar(&runFl.memProfile, "memprofile", "", "write an allocation profile (pprof) of the run to `FILE` at the end")
			fs.StringVar(&runFl.traceFile, "trace", "", "write an execution trace of the run to `FILE` (go tool trace: where goroutines run and wait)")
		},
		run: runRun,
	})
}

func runRun(env *cmdEnv, args []string) error {
	f := runFl
	if f.out == "" {
		return usageError("--out RUN is required")
	}
	if f.resume && f.append {
		return usageError("--resume and --append exclude each other (an append continues when run again)")
	}
	if f.append && f.config == "" {
		// The run's own configuration.
		f.config = rundir.ConfigPath(f.out)
		if _, err := os.Stat(f.config); err != nil {
			return fmt.Errorf("%w: %s has no configuration copy (%v); start the run without --append", pipeline.ErrNoRun, f.out, err)
		}
	}
	var resumeCats map[string]string // the catalogues of a run resumed from its manifest
	if f.resume && len(args) == 0 && f.catalogues == "" {
		// "gotrap run --resume --out RUN" (the hint printed on an
		// interrupt): the run's own inputs, from its manifest, and its
		// configuration, RUN/gotrap.toml, unless -c names one.
		m, err := rundir.ReadManifest(f.out)
		if err != nil {
			return usageError("--resume without INPUT needs the run's manifest: %v", err)
		}
		for _, in := range m.Inputs {
			args = append(args, in.Path)
			// A catalogue run resumes with its catalogues.
			if in.Catalogue != nil {
				if resumeCats == nil {
					resumeCats = map[string]string{}
				}
				resumeCats[in.Path] = in.Catalogue.Path
			}
		}
		if f.config == "" {
			f.config = rundir.ConfigPath(f.out)
		}
	}
	if len(args) == 0 && !strings.HasPrefix(f.catalogues, "@") {
		return usageError("no INPUT images")
	}
	cfg, err := loadJob(f.config)
	if err != nil {
		return err
	}
	if f.monitorFile != "" {
		p, err := pipeline.ReadMonitorFile(f.monitorFile)
		if err != nil {
			return err
		}
		cfg.Monitor.Positions = append(cfg.Monitor.Positions, p...)
	}
	cfg.Monitor.Positions = append(cfg.Monitor.Positions, f.monitors...)
	if f.backwardFits {
		cfg.ForcedFits.Backward = true
	}
	if f.stokes != "" {
		cfg.Pipeline.Stokes = f.stokes
	}
	if f.channel != 0 {
		cfg.Pipeline.Channel = f.channel
	}
	if f.channels != "" {
		cfg.Pipeline.Channels = f.channels
	}
	if f.circularPol {
		cfg.Pipeline.CircularPolarisation = true
	}
	if cfg.Pipeline.Channels != "" && f.catalogues != "" {
		return usageError("--catalogues gives one catalogue an image file: not with a channel range ([pipeline] channels = %q)", cfg.Pipeline.Channels)
	}
	if err := cfg.Pipeline.Validate(); err != nil {
		return usageError("%v", err)
	}
	// Settings out of their domain fail here, before the run directory
	// is made or locked.
	if err := cfg.Validate(); err != nil {
		return err
	}
	var inputs []string
	if len(args) > 0 {
		warn := func(msg string) { fmt.Fprintf(env.stderr, "gotrap run: warning: %s\n", msg) }
		if inputs, err = pipeline.ExpandInputsWarn(args, warn); err != nil {
			return err
		}
	}
	if inputs, f.catalogueMap, err = catalogueInputs(f.catalogues, inputs); err != nil {
		return err
	}
	if resumeCats != nil {
		f.catalogueMap = resumeCats
	}
	stopTrace, err := startTrace(f.traceFile)
	if err != nil {
		return err
	}
	defer func() {
		if err := stopTrace(); err != nil {
			fmt.Fprintln(env.stderr, "gotrap run:", err)
		}
	}()
	stopProfiles, err := startProfiles(f.cpuProfile, f.memProfile)
	if err != nil {
		return err
	}
	defer func() {
		if err := stopProfiles(); err != nil {
			fmt.Fprintln(env.stderr, "gotrap run:", err)
		}
	}()
	// Inside a Slurm job: a requeued job resumes, and DuckDB's memory
	// follows the task's allowance. A malformed variable is reported, not
	// fatal (the others still apply).
	senv, serr := slurm.ParseEnv(os.Getenv)
	if serr != nil {
		fmt.Fprintf(env.stderr, "gotrap run: warning: %v\n", serr)
	}
	// DuckDB's threads and memory_limit are set per rank (DESIGN): its
	// threads are the CPUs this rank may use, and the memory allowance
	// sets Go's soft limit and DuckDB's (before applySlurmEnv, so that
	// --memory and [pipeline] memory win).
	if f.threads == 0 {
		f.threads = reduce.CPUs(os.Getenv)
	}
	mem, memFrom, err := memoryAllowance(f.memory, cfg.Pipeline.Memory, senv, os.Getenv, os.ReadFile)
	if err != nil {
		return err
	}
	if mem > 0 {
		if f.memoryLimit == "" {
			f.memoryLimit = fmt.Sprintf("%dMiB", catstage.DuckDBMemory(mem)>>20)
		}
		goLim := reduce.SetGoMemoryLimit(mem, os.Getenv)
		if !f.quiet {
			fmt.Fprintf(env.stderr, "gotrap run: memory allowance %d MiB (%s): Go soft limit %d MiB, DuckDB memory_limit %s\n",
				mem>>20, memFrom, goLim>>20, f.memoryLimit)
		}
	}
	f = applySlurmEnv(f, senv)
	// SIGINT (Ctrl-C) and SIGTERM (Slurm's scancel, a job's time limit):
	// the images in flight finish and stay staged, nothing new starts, and
	// the run stops with a message that says how to continue.
	ctx, stop := slurm.NotifyContext(context.Background())
	defer stop()
	err = runPipeline(ctx, env, f, inputs, cfg)
	if err != nil && ctx.Err() != nil && f.append {
		return &exitError{code: signalExit(ctx), err: &interruptError{msg: fmt.Sprintf("interrupted (%v); the committed timesteps are kept; continue with the same gotrap run --append command", context.Cause(ctx)), err: err}}
	}
	if errors.Is(err, pipeline.ErrConfigDiffers) {
		if keys := configDiff(rundir.ConfigPath(f.out), cfg); len(keys) > 0 {
			err = fmt.Errorf("%w; differing keys: %s", err, strings.Join(keys, ", "))
		}
	}
	if err != nil && ctx.Err() != nil {
		// Whatever the stage returned (context.Canceled, DuckDB's
		// interrupt), a signal stopped it.
		return &exitError{code: signalExit(ctx), err: interrupted(ctx, f.out, err)}
	}
	return err
}

// loadJob reads the job configuration path (the built-in defaults when
// empty), checks its [[response]] rules (a typo in a rule's when fails
// now, not after the run) and merges its [monitor] file into the
// monitor positions.
func loadJob(path string) (config.Config, error) {
	cfg := config.Default()
	if path != "" {
		var err error
		if cfg, err = config.Load(path); err != nil {
			return cfg, err
		}
		if err := respond.CheckRules(context.Background(), cfg.Response); err != nil {
			return cfg, err
		}
	}
	if file := cfg.Monitor.File; file != "" {
		p, err := pipeline.ReadMonitorFile(file)
		if err != nil {
			return cfg, err
		}
		cfg.Monitor.Positions = append(cfg.Monitor.Positions, p...)
		cfg.Monitor.File = ""
	}
	return cfg, nil
}

// interrupted is the error of a run that a signal stopped: it names the
// signal and says how to continue. err (context.Canceled, DuckDB's
// interrupt, a rank's "context canceled") says nothing more and is kept
// for errors.Is only, out of the message.
func interrupted(ctx context.Context, out string, err error) error {
	return &interruptError{msg: fmt.Sprintf("interrupted (%v); the committed timesteps are kept; resume with: gotrap run --resume --out %s (the run's inputs and gotrap.toml)",
		context.Cause(ctx), out), err: err}
}

type interruptError struct {
	msg string
	err error
}

func (e *interruptError) Error() string { return e.msg }
func (e *interruptError) Unwrap() error { return e.err }

// configDiff names the keys ("section.key") whose values differ between
// the run's stored configuration (path) and cfg, comparing their TOML
// encodings line by line; nil when the stored one cannot be read.
func configDiff(path string, cfg config.Config) []string {
	old, err := config.Load(path)
	if err != nil {
		return nil
	}
	keys := func(c config.Config) map[string]string {
		var b strings.Builder
		if c.Encode(&b) != nil {
			return nil
		}
		m, section := map[string]string{}, ""
		for _, l := range strings.Split(b.String(), "\n") {
			l = strings.TrimSpace(l)
			if strings.HasPrefix(l, "[") && strings.HasSuffix(l, "]") {
				section = strings.Trim(l, "[]")
			} else if k, v, ok := strings.Cut(l, "="); ok {
				m[section+"."+strings.TrimSpace(k)] = strings.TrimSpace(v)
			}
		}
		return m
	}
	a, b := keys(old), keys(cfg)
	var diff []string
	for k, v := range a {
		if b[k] != v {
			diff = append(diff, k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			diff = append(diff, k)
		}
	}
	slices.Sort(diff)
	return diff
}

// applySlurmEnv applies what a Slurm job's environment implies to the
// flags: a requeued job (SLURM_RESTART_COUNT > 0) resumes, and without
// --memory-limit DuckDB may use three quarters of the task's memory
// (slurm.Env.MemPerTask), leaving the rest to the Go heap and buffers.
// Outside Slurm (the zero Env) f is returned unchanged. The rank is never
// taken from the environment: MPI gives it.
func applySlurmEnv(f runFlags, e slurm.Env) runFlags {
	if e.Requeued() && !f.append {
		// (A requeued append runs the same append again.)
		f.resume = true
	}
	if mem := e.MemPerTask(); f.memoryLimit == "" && mem > 0 {
		f.memoryLimit = fmt.Sprintf("%dMiB", max(mem/4*3>>20, 64))
	}
	return f
}

// memoryAllowance returns the memory this process may use, in bytes (0:
// no allowance is known), and where that came from: --memory (flagVal),
// else [pipeline] memory (cfgVal), else Slurm's allowance per task
// (slurm.Env.MemPerTask), else the cgroup's memory limit
// (reduce.CgroupMemory) divided among the MPI ranks on this node
// (localRanks). getenv and readFile are os.Getenv and os.ReadFile.
func memoryAllowance(flagVal, cfgVal string, e slurm.Env, getenv func(string) string, readFile func(string) ([]byte, error)) (int64, string, error) {
	for _, s := range []struct{ v, from string }{{flagVal, "--memory"}, {cfgVal, "[pipeline] memory"}} {
		if s.v == "" {
			continue
		}
		b, err := config.ParseMemory(s.v)
		if err != nil && s.from == "--memory" {
			return 0, "", usageError("--memory: %w", err)
		}
		if err != nil {
			return 0, "", fmt.Errorf("gotrap run: %s: %w", s.from, err)
		}
		return b, s.from, nil
	}
	if m := e.MemPerTask(); m > 0 {
		return m, "Slurm", nil
	}
	if m := reduce.CgroupMemory(readFile); m > 0 {
		n := localRanks(getenv, e)
		return m / int64(n), fmt.Sprintf("cgroup limit / %d ranks on the node", n), nil
	}
	return 0, "", nil
}

// localRanks returns the MPI ranks on this node that share its cgroup:
// OMPI_COMM_WORLD_LOCAL_SIZE (Open MPI), MPI_LOCALNRANKS (MPICH), Slurm's
// tasks on the node under an MPI launcher, else 1 (in-process ranks share
// one process).
func localRanks(getenv func(string) string, e slurm.Env) int {
	for _, k := range []string{"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS"} {
		if n, err := strconv.Atoi(strings.TrimSpace(getenv(k))); err == nil && n > 0 {
			return n
		}
	}
	if mpi.Launched(getenv) && e.TasksOnNode > 0 {
		return e.TasksOnNode
	}
	return 1
}

// Exit statuses of a batch command stopped by a signal: 128 + the
// signal's number, what a shell reports for a process the signal killed.
const (
	exitInterrupted = 143 // SIGTERM
	exitSIGINT      = 130
)

// signalExit is the exit status of a command whose context a signal
// cancelled (slurm.NotifyContext): 130 for SIGINT, else 143.
func signalExit(ctx context.Context) int {
	var se *slurm.SignalError
	if errors.As(context.Cause(ctx), &se) && se.Signal == os.Interrupt {
		return exitSIGINT
	}
	return exitInterrupted
}

// runPipeline runs the stages and prints the summary.
func runPipeline(ctx context.Context, env *cmdEnv, f runFlags, inputs []string, cfg config.Config) error {
	opt := pipeline.Options{Run: f.out, Inputs: inputs, Config: cfg, Resume: f.resume, Append: f.append, Workers: f.workers,
		Terminal: isTerminal(env.stderr), ProgressEvery: f.every, Catalogues: f.catalogueMap}
	if !f.quiet {
		opt.Progress = env.stderr
	}
	if f.ranks < 1 {
		return usageError("--ranks must be at least 1")
	}
	if mpi.Launched(os.Getenv) {
		if f.ranks > 1 {
			return usageError("--ranks is for in-process ranks; under an MPI launcher the ranks are its processes (mpirun -np N)")
		}
		return runMPI(ctx, env, f, opt)
	}
	lk, err := lockRun(env, f.out, "gotrap run")
	if err != nil {
		return err
	}
	defer lk.Unlock()
	opt.CPUs = reduce.CPUs(os.Getenv)
	sum, err := pipeline.RunRanks(ctx, opt, f.ranks)
	if err != nil {
		return err
	}
	return finishRun(ctx, env, f, sum)
}

// runMPI runs this process's rank of an MPI job: every rank runs the
// pipeline, rank 0 then the catalogue stage and the report. An error on
// any rank aborts the whole job (mpi.Run: MPI_Abort, with the rank and
// the reason on stderr).
func runMPI(ctx context.Context, env *cmdEnv, f runFlags, opt pipeline.Options) error {
	err := mpi.Run(func(c reduce.Comm) error {
		o := opt
		o.Comm = c
		o.CPUs = reduce.LimitGOMAXPROCS(os.Getenv)
		if c.Rank() != 0 {
			o.Progress = nil
		} else {
			// Rank 0 holds the run's lock; the other ranks wait for it
			// in the run's first collective.
			lk, err := lockRun(env, f.out, "gotrap run (MPI rank 0)")
			if err != nil {
				return err
			}
			defer lk.Unlock()
		}
		sum, err := pipeline.Run(ctx, o)
		if err != nil && ctx.Err() != nil {
			// A signal (Slurm's SIGTERM reaches every task): the job is
			// aborted like on any error, and its log says how to resume.
			return interrupted(ctx, f.out, err)
		}
		if err != nil {
			return err
		}
		if c.Rank() != 0 {
			return nil
		}
		return finishRun(ctx, env, f, sum)
	})
	if errors.Is(err, mpi.ErrNotBuilt) {
		return fmt.Errorf("gotrap run: started by an MPI launcher, but this gotrap was built without MPI: build it with `go build -tags mpi ./cmd/gotrap`, or use --ranks N without mpirun")
	}
	return err
}

// lockRun creates the run directory dir when missing and locks it for
// the command what (rundir.Acquire): a second writer fails at once,
// naming the holder. A lock left by a process that ended is noted on
// stderr.
func lockRun(env *cmdEnv, dir, what string) (*rundir.Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	lk, err := rundir.Acquire(dir, what)
	if err != nil {
		return nil, err
	}
	if lk.Stale != nil {
		fmt.Fprintf(env.stderr, "gotrap: note: %s held %s and ended without releasing it (killed?); its lock is stale and now ours\n", lk.Stale, dir)
	}
	if lk.Unsupported {
		fmt.Fprintf(env.stderr, "gotrap: warning: the file system of %s cannot lock files (flock): nothing stops a second writer; run one at a time\n", dir)
	}
	return lk, nil
}

// finishRun runs the catalogue stage (DuckDB, once) and the report, and
// prints the summary.
func finishRun(ctx context.Context, env *cmdEnv, f runFlags, sum *pipeline.Summary) error {
	if !f.quiet {
		fmt.Fprintf(env.stderr, "%s stage %s: start\n", pipeline.Stamp(time.Now()), pipeline.StageVarMetric)
	}
	n, dt, err := catstage.Run(ctx, f.out, catstage.Options{Threads: f.threads, MemoryLimit: f.memoryLimit}, f.resume)
	if err != nil {
		return err
	}
	if n >= 0 {
		sum.Stages = append(sum.Stages, rundir.Stage{Name: pipeline.StageVarMetric, Done: true, Seconds: dt.Seconds(), Items: n})
	}
	if !f.quiet {
		fmt.Fprintf(env.stderr, "%s stage %s: done in %.2f s (%d rows)\n", pipeline.Stamp(time.Now()), pipeline.StageVarMetric, dt.Seconds(), n)
	}
	if err := pipeline.WriteSummary(f.out, sum); err != nil {
		return err
	}
	// The catalogue stage's garbage goes back to the system before the
	// events (DuckDB's memory, which Go does not see, comes on top).
	debug.FreeOSMemory()
	respondAfterRun(ctx, env, f.out, f.quiet) // events.parquet and the [[response]] rules; never fails the run
	if f.report {
		if err := report.Write(ctx, f.out, report.Options{Threads: f.threads, MemoryLimit: f.memoryLimit}); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "report: %s\n", filepath.Join(rundir.ReportDir(f.out), "index.html"))
	}
	var b strings.Builder
	sum.Format(&b)
	fmt.Fprint(env.stdout, b.String())
	fmt.Fprintf(env.stdout, "catalogue in %s: gotrap query %s transients | variables | stats\n", f.out, f.out)
	return nil
}
