//go:build !front

package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"time"

	"gotrap/bench"
	"gotrap/internal/extract"
	"gotrap/internal/regions"
	"gotrap/kernels"
)

func init() {
	register(&command{
		name:  "bench",
		usage: "[pipeline] [--preset rsm-mini|rsm] [--set KEY=VALUE]... [--ranks N] [--json FILE] [--md FILE] | live [--preset aartfaac|aartfaac-mini|rsm-mini] [--rate IMAGES/S] [--duration D] | compare A.json B.json | extract [--sizes 1280,2048] ...",
		short: "benchmark gotrap end to end (pipeline, live), compare results, or time the extraction",
		long: `
Benchmark gotrap. The default mode, "pipeline", runs the whole pipeline on a
simulated dataset and measures it from outside: it generates the dataset
with "gotrap simulate --preset NAME" (or reuses it from the cache under
--data, keyed by preset, seed and --set overrides; generation is not
timed), runs "gotrap run" over it as a child process (with --ranks N when
that flag exists, else --workers N; under mpirun with --mpirun), samples
the process tree in /proc every 50 ms, and then times the named queries
(gotrap query RUN transients|variables|stats, each a fresh process) and
the HTML report. It writes bench.json (--json) and a markdown table
(--md, and stdout): wall and CPU time of each stage of the run's manifest
(CPU apportioned from the samples; "other" is start-up and the gaps
between stages), images/s and Mpixel/s per core next to TraP's and PySE's
figures, peak RSS per process, bytes read and written, Parquet sizes,
query times, and the machine (CPU, cores, Go version, revision, load
average). --cpuprofile and --memprofile pass gotrap run's profiles on.
See docs/performance.md.

"compare A.json B.json" prints B/A for each time and rate.

Mode "live" measures "gotrap watch" (docs/live.md): it generates or reuses
the dataset (default preset aartfaac), starts "gotrap watch --out RUN -c
JOB DIR" as a child process (--ranks N, --poll passed on; JOB sets
timestep_tolerance = 0.5 for 1 s cadences unless --config is given),
replays the stack into DIR at --rate images/s (each image under a temporary
name then renamed; every --slow N-th written slowly in place; looping the
stack, DATE-OBS moved on, until --duration when given), waits for the last
commits (--drain), stops the child with SIGTERM, and reports the offered and
sustained rates, the latency percentiles (p50, p95, max) from a timestep's
last image landing to its commit and to its VOEvent files (read from
RUN/logs/commits.jsonl), RSS sampled over time, and the bytes of RUN/work and
of the catalogue per committed timestep (--json, default bench-live.json;
--md). --prune removes a timestep's images once committed, for long soaks.

Mode "extract" times the source finder alone, on synthetic images of beam-correlated unit noise with a grid of point sources
at the RSM's density (about 300 per Mpixel), written to FITS in a temporary
directory and read back. For each size and measurement mode it prints the time
of each stage on one core (decode, rms_qc, mask, background grids, maps,
labelling, measurement; medians over the repeats on a warm worker), the whole
extraction's time and speed in Mpixel/s per core, its wall time with two
threads, and the bytes per pixel allocated during the extraction beyond the
image.

With --pyse DIR it times PySE instead, against gotrap on the same images
in the same run (bench/doc.go): DIR is PySE's source tree as
../shared/tools/setup_pyse.sh sets it up (PYSE_ROOT, e.g. /tmp/pyse; its
numba shim, DIR/../pyse_shim, is found beside it). Per image, one core
each, FITS read and outputs included: gotrap's free Gaussian fits against
PySE's Gaussian fits with force_beam off, gotrap's moments against PySE's
vectorised mode; it prints both median times and PySE's over gotrap's.

With --stat SIZE it runs PySE's statistical regression (docs/extract.md)
instead, on
a SIZE x SIZE field of noise correlated by --psf (psf.fits), and exits 1 when a
criterion fails.

Examples:
  gotrap bench --preset rsm-mini --json bench.json --md bench.md
  gotrap bench --preset rsm-mini --set timesteps=24 --ranks 2
  gotrap bench --preset rsm --ranks 2 --cpuprofile cpu.pprof
  gotrap bench live --preset aartfaac --rate 48 --ranks 2
  gotrap bench live --preset aartfaac --rate 48 --duration 30m --prune --md soak.md
  gotrap bench compare old/bench.json bench.json
  gotrap bench extract
  gotrap bench extract --sizes 4096 --modes moments --repeats 1
  gotrap bench extract --stat 4096 --psf ../shared/data/psf.fits
  gotrap bench extract --pyse /tmp/pyse --repeats 5`,
		setFlags: func(fs *flag.FlagSet) {
			benchFlags = benchFlagValues{}
			fs.StringVar(&benchFlags.sizes, "sizes", "1280,2048", "image sides in pixels, comma-separated")
			fs.StringVar(&benchFlags.modes, "modes", "gaussian,moments", "measurement modes, comma-separated")
			fs.IntVar(&benchFlags.repeats, "repeats", 7, "timed repetitions after a warm-up; medians count")
			fs.Uint64Var(&benchFlags.seed, "seed", 1, "random seed of the synthetic images")
			fs.IntVar(&benchFlags.stat, "stat", 0, "run the statistical regression at this `SIZE` instead")
			fs.Float64Var(&benchFlags.spacing, "spacing", 14, "grid spacing of the statistical regression, pixels")
			fs.StringVar(&benchFlags.pyse, "pyse", "", "extract: time PySE's source tree `DIR` (setup_pyse.sh's PYSE_ROOT) against gotrap on the same images")
			fs.StringVar(&benchFlags.pyseShim, "pyse-shim", "", "extract --pyse: `DIR` prepended to PYTHONPATH (default: DIR/../pyse_shim when present)")
			fs.StringVar(&benchFlags.python, "python", "/usr/bin/python3", "extract --pyse: the Python interpreter")
			fs.StringVar(&benchFlags.psf, "psf", "../shared/data/psf.fits", "PSF `FILE` for --stat")
			fs.StringVar(&benchFlags.preset, "preset", "", "simulation preset (pipeline: rsm-mini, rsm, tiny; default rsm-mini; live: aartfaac, aartfaac-mini, rsm-mini; default aartfaac)")
			fs.Var(&benchFlags.sets, "set", "pipeline: simulation override KEY=VALUE (repeatable), e.g. timesteps=24")
			fs.StringVar(&benchFlags.data, "data", bench.DefaultData(), "pipeline: dataset cache `DIR`")
			fs.IntVar(&benchFlags.ranks, "ranks", runtime.NumCPU(), "pipeline: ranks (gotrap run --ranks; --workers when run has no --ranks)")
			fs.IntVar(&benchFlags.workers, "workers", 0, "pipeline: also pass gotrap run --workers N")
			fs.BoolVar(&benchFlags.mpirun, "mpirun", false, "pipeline: run the ranks under mpirun (a binary built with -tags mpi)")
			fs.StringVar(&benchFlags.out, "out", "", "pipeline: run directory (default: a temporary one, removed)")
			fs.StringVar(&benchFlags.json, "json", "", "pipeline, live: write the result to `FILE` (default bench.json, live: bench-live.json; \"-\": none)")
			fs.StringVar(&benchFlags.md, "md", "", "pipeline: also write the markdown table to `FILE`")
			fs.StringVar(&benchFlags.cpuProfile, "cpuprofile", "", "pipeline: gotrap run --cpuprofile `FILE`; live: gotrap watch --cpuprofile FILE")
			fs.StringVar(&benchFlags.memProfile, "memprofile", "", "pipeline: gotrap run --memprofile `FILE`; live: gotrap watch --memprofile FILE")
			fs.BoolVar(&benchFlags.cold, "cold", false, "pipeline: drop the page cache before the run (root; affects the whole machine)")
			fs.StringVar(&benchFlags.queries, "queries", "transients,variables,stats", "pipeline: named queries to time (\"\": none)")
			fs.BoolVar(&benchFlags.report, "report", true, "pipeline: time gotrap report RUN after the run")
			fs.StringVar(&benchFlags.bin, "bin", "", "pipeline: gotrap binary to benchmark (default: this one)")
			fs.BoolVar(&benchFlags.prepare, "prepare", false, "pipeline: only generate (or find) the dataset and print its directory")
			fs.Float64Var(&benchFlags.rate, "rate", 8, "live: images per second offered (8: the aartfaac preset's own cadence; AARTFAAC's rate is 48)")
			fs.DurationVar(&benchFlags.duration, "duration", 0, "live: replay this long, looping the stack (0: the stack once)")
			fs.DurationVar(&benchFlags.drain, "drain", time.Minute, "live: wait this long at most for the last commits after the replay")
			fs.BoolVar(&benchFlags.poll, "poll", false, "live: gotrap watch --poll")
			fs.IntVar(&benchFlags.slow, "slow", 0, "live: write every `N`-th image slowly in place (0: none)")
			fs.BoolVar(&benchFlags.prune, "prune", false, "live: remove a timestep's images once committed (long soaks)")
			fs.StringVar(&benchFlags.config, "config", "", "live: job configuration `FILE` for gotrap watch (default: timestep_tolerance 0.5, settle 0.5 s, timeout 5 s)")
		},
		run: runBench,
	})
}

type benchFlagValues struct {
	sizes, modes, psf      string
	pyse, pyseShim, python string
	repeats, stat          int
	seed                   uint64
	spacing                float64

	preset, data, out, json, md, queries, bin string
	cpuProfile, memProfile                    string
	sets                                      setFlag
	ranks, workers                            int
	mpirun, cold, report, prepare             bool

	rate            float64
	duration, drain time.Duration
	slow            int
	poll, prune     bool
	config          string
}

var benchFlags benchFlagValues

func runBench(env *cmdEnv, args []string) error {
	mode := "pipeline"
	if len(args) > 0 {
		mode = args[0]
	}
	switch {
	case mode == "pipeline" && len(args) <= 1:
		return runBenchPipeline(env)
	case mode == "live" && len(args) == 1:
		return runBenchLive(env)
	case mode == "compare" && len(args) == 3:
		a, err := bench.ReadJSON(args[1])
		if err != nil {
			return err
		}
		b, err := bench.ReadJSON(args[2])
		if err != nil {
			return err
		}
		bench.Compare(env.stdout, a, b)
		return nil
	case mode == "compare":
		return usageError("compare wants two bench.json files")
	case mode != "extract" || len(args) != 1:
		return usageError("want the mode: pipeline (default), live, compare A.json B.json, or extract")
	}
	x := &benchFlags
	var modes []kernels.MeasureMode
	for _, m := range strings.Split(x.modes, ",") {
		switch strings.TrimSpace(m) {
		case "gaussian":
			modes = append(modes, kernels.ModeGaussian)
		case "moments":
			modes = append(modes, kernels.ModeMoments)
		default:
			return usageError("--modes: %q is not gaussian or moments", m)
		}
	}
	if x.stat > 0 {
		allOK := true
		for _, m := range modes {
			ok, err := bench.ExtractStat(env.stdout, x.psf, x.stat, x.spacing, m, x.seed)
			if err != nil {
				return err
			}
			allOK = allOK && ok
		}
		if !allOK {
			return &exitError{code: 1, err: fmt.Errorf("statistical regression failed")}
		}
		return nil
	}
	var sizes []int
	for _, s := range strings.Split(x.sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 128 {
			return usageError("--sizes: %q is not a size of at least 128", s)
		}
		sizes = append(sizes, n)
	}
	dir, err := os.MkdirTemp("", "gotrap-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if x.pyse != "" {
		write := func(out string, r *extract.Result) error {
			stem := outputStems([]string{r.Path})[0]
			return writeExtractOutputs(&extractFlagValues{out: out, region: "fk5"}, stem, 0, r, regions.FK5, "")
		}
		_, err = bench.ExtractPySE(env.stdout, bench.PySEConfig{Root: x.pyse, Shim: x.pyseShim, Python: x.python,
			Sizes: sizes, Modes: modes, Repeats: x.repeats, Seed: x.seed, Dir: dir, Write: write})
		return err
	}
	_, err = bench.Extract(env.stdout, bench.ExtractConfig{Sizes: sizes, Modes: modes, Repeats: x.repeats, Seed: x.seed, Dir: dir})
	return err
}

func runBenchPipeline(env *cmdEnv) error {
	x := &benchFlags
	x.preset = cmp.Or(x.preset, "rsm-mini")
	x.json = cmp.Or(x.json, "bench.json")
	bin := x.bin
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return err
		}
	}
	var queries []string
	for _, q := range strings.Split(x.queries, ",") {
		if q = strings.TrimSpace(q); q != "" {
			queries = append(queries, q)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	cfg := bench.PipelineConfig{
		Binary: bin, Preset: x.preset, Seed: x.seed, Sets: x.sets, Data: x.data,
		Out: x.out, Keep: x.out != "", Ranks: x.ranks, MPI: x.mpirun, Workers: x.workers,
		CPUProfile: x.cpuProfile, MemProfile: x.memProfile, Cold: x.cold,
		Queries: queries, Report: x.report, Log: env.stderr,
	}
	if x.prepare {
		ds, err := bench.EnsureDataset(ctx, cfg)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "%s: %d images of %dx%d px, %.1f GB (reused: %v, generated in %.0f s)\n",
			ds.Dir, ds.Images, ds.Width, ds.Height, float64(ds.Bytes)/1e9, ds.Reused, ds.GenWall)
		return nil
	}
	res, err := bench.Pipeline(ctx, cfg)
	if err != nil {
		return err
	}
	if x.json != "-" {
		if err := res.WriteJSON(x.json); err != nil {
			return err
		}
	}
	var b strings.Builder
	res.WriteMarkdown(&b)
	if x.md != "" {
		if err := os.WriteFile(x.md, []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	fmt.Fprint(env.stdout, b.String())
	return nil
}

func runBenchLive(env *cmdEnv) error {
	x := &benchFlags
	x.preset = cmp.Or(x.preset, "aartfaac")
	x.json = cmp.Or(x.json, "bench-live.json")
	if !(x.rate > 0) {
		return usageError("--rate %v: want images per second > 0", x.rate)
	}
	bin := x.bin
	if bin == "" {
		var err error
		if bin, err = os.Executable(); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := bench.Live(ctx, bench.LiveConfig{
		Binary: bin, Preset: x.preset, Seed: x.seed, Sets: x.sets, Data: x.data,
		Out: x.out, Keep: x.out != "", Rate: x.rate, Duration: x.duration, Ranks: x.ranks,
		Poll: x.poll, CPUProfile: x.cpuProfile, MemProfile: x.memProfile, Config: x.config, SlowEvery: x.slow, Prune: x.prune, Drain: x.drain, Log: env.stderr,
	})
	if res != nil {
		if x.json != "-" {
			if werr := res.WriteJSON(x.json); werr != nil && err == nil {
				err = werr
			}
		}
		var b strings.Builder
		res.WriteMarkdown(&b)
		if x.md != "" {
			if werr := os.WriteFile(x.md, []byte(b.String()), 0o644); werr != nil && err == nil {
				err = werr
			}
		}
		fmt.Fprint(env.stdout, b.String())
	}
	return err
}
