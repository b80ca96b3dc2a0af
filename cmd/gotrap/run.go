package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/pipeline/catstage"
	"gotrap/internal/report"
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
	workers, threads         int
	memoryLimit              string
	every                    time.Duration
}

var runFl runFlags

func init() {
	register(&command{
		name:  "run",
		usage: "--out RUN [-c gotrap.toml] [--resume] [--monitor RA,DEC]... INPUT...",
		short: "run the transients pipeline over a stack of images",
		long: `Run finds, associates and measures the sources of a stack of FITS images as
TraP does (SPEC 2-8) and writes the catalogue to the run directory RUN:
images.parquet, measurements/, associations, runcat, runcat_flux,
newsources, skyregions, bands, varmetric (.parquet), manifest.json,
gotrap.toml (the configuration used) and logs/. Query it with
"gotrap query RUN transients|variables|...". See docs/pipeline.md.

An INPUT is a FITS file, a directory (every *.fits below it), a glob, or
@FILE, a list of inputs one per line. Settings are the defaults (TraP's
job defaults) unless -c names a configuration ("gotrap init" writes one).

--resume continues a run that was killed or failed, reusing the images
already extracted and fitted; the result equals an uninterrupted run. The
configuration and inputs must be the run's.`,
		setFlags: func(fs *flag.FlagSet) {
			runFl = runFlags{}
			fs.StringVar(&runFl.out, "out", "", "run directory (required; new or empty unless --resume)")
			fs.StringVar(&runFl.config, "c", "", "job configuration (TOML); default: built-in defaults")
			fs.StringVar(&runFl.config, "config", "", "same as -c")
			fs.BoolVar(&runFl.resume, "resume", false, "continue the run in --out")
			fs.Var(&runFl.monitors, "monitor", "monitor position RA,DEC in degrees (repeatable; SPEC 6.2)")
			fs.StringVar(&runFl.monitorFile, "monitor-file", "", "file of monitor positions, one RA DEC per line")
			fs.IntVar(&runFl.workers, "workers", 0, "images processed at once (0: [pipeline] workers, else all CPUs); does not change the output")
			fs.IntVar(&runFl.threads, "threads", 0, "DuckDB threads for the catalogue stage (0: the CPUs Go may use)")
			fs.StringVar(&runFl.memoryLimit, "memory-limit", "", "DuckDB memory_limit (default 1GB per thread)")
			fs.BoolVar(&runFl.quiet, "quiet", false, "no progress on stderr")
			fs.BoolVar(&runFl.report, "report", false, "write the HTML report (RUN/report/index.html) at the end, as gotrap report does")
			fs.DurationVar(&runFl.every, "progress-every", 10*time.Second, "interval of progress lines when stderr is not a terminal")
		},
		run: runRun,
	})
}

func runRun(env *cmdEnv, args []string) error {
	f := runFl
	if f.out == "" {
		return usageError("--out RUN is required")
	}
	if len(args) == 0 {
		return usageError("no INPUT images")
	}
	cfg := config.Default()
	if f.config != "" {
		var err error
		if cfg, err = config.Load(f.config); err != nil {
			return err
		}
	}
	if file := cfg.Monitor.File; file != "" {
		p, err := pipeline.ReadMonitorFile(file)
		if err != nil {
			return err
		}
		cfg.Monitor.Positions = append(cfg.Monitor.Positions, p...)
		cfg.Monitor.File = ""
	}
	if f.monitorFile != "" {
		p, err := pipeline.ReadMonitorFile(f.monitorFile)
		if err != nil {
			return err
		}
		cfg.Monitor.Positions = append(cfg.Monitor.Positions, p...)
	}
	cfg.Monitor.Positions = append(cfg.Monitor.Positions, f.monitors...)
	inputs, err := pipeline.ExpandInputs(args)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	opt := pipeline.Options{Run: f.out, Inputs: inputs, Config: cfg, Resume: f.resume, Workers: f.workers,
		Terminal: isTerminal(env.stderr), ProgressEvery: f.every}
	if !f.quiet {
		opt.Progress = env.stderr
	}
	sum, err := pipeline.Run(ctx, opt)
	if err != nil {
		return err
	}
	n, dt, err := catstage.Run(ctx, f.out, catstage.Options{Threads: f.threads, MemoryLimit: f.memoryLimit}, f.resume)
	if err != nil {
		return err
	}
	if n >= 0 {
		sum.Stages = append(sum.Stages, pipeline.Stage{Name: pipeline.StageCatalogue, Done: true, Seconds: dt.Seconds(), Items: n})
	}
	if err := pipeline.WriteSummary(f.out, sum); err != nil {
		return err
	}
	if f.report {
		if err := report.Write(ctx, f.out, report.Options{Threads: f.threads, MemoryLimit: f.memoryLimit}); err != nil {
			return err
		}
		fmt.Fprintf(env.stdout, "report: %s\n", filepath.Join(f.out, "report", "index.html"))
	}
	var b strings.Builder
	sum.Format(&b)
	fmt.Fprint(env.stdout, b.String())
	fmt.Fprintf(env.stdout, "catalogue in %s: gotrap query %s transients | variables | stats\n", f.out, f.out)
	return nil
}
