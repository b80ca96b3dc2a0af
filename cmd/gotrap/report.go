//go:build !front

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gotrap/catalog"
	"gotrap/internal/report"
	"gotrap/internal/rundir"
	"gotrap/slurm"
)

type reportFlags struct {
	out, stretch, memoryLimit     string
	alpha, vMin                   float64
	maxPages, cutouts, cutoutSize int
	threads, workers              int
	voevent                       bool
	authority, stream, role       string
	contact, suppress             string
	rate                          int
	ratePeriod                    time.Duration
}

var reportFl reportFlags

func init() {
	register(&command{
		name:  "report",
		usage: "[--voevent] [flags] RUN",
		short: "write the HTML report, plots, VOEvents and region files of a run",
		long: `Report writes RUN/report/index.html and the pages and files it links to:
an interactive report that opens from disk (file://; no server, nothing is
fetched from the network; the plotting library is built into gotrap). Its
pages: the run summary and quality control (version, configuration, inputs,
timings per stage, counts; rms and detections per image against time per
band; rejected images with reasons; the association check), a sky map per
sky region, the eta-V diagram of each band with the variables query's
thresholds and each source's significance, the new-source and
variable-candidate tables (sortable, filterable; also as CSV), and one page
per source: its light curve per band with forced fits and upper limits, its
vetting flags, cut-outs before, at and after the first detection (for the
first --max-pages candidates) and links to SIMBAD, NED, TNS and Aladin.
Hover a point for its values, drag to zoom, click a point to open its
source. Static SVG plots stay for print, and a DS9 region file per image.

--voevent also writes a VOEvent 2.0 packet per new source and variable
candidate in RUN/report/voevent/, role "test" unless --role says otherwise,
with IVORN ivo://AUTHORITY/STREAM#ID. --rate limits the packets per
--rate-period of trigger time and --suppress names a CSV of RA,DEC,RADIUS
(degrees) around which no packet is sent; withheld packets are listed in
the report. See docs/report.md.`,
		setFlags: func(fs *flag.FlagSet) {
			reportFl = reportFlags{}
			fs.StringVar(&reportFl.out, "out", "", "report directory (default RUN/report)")
			fs.Float64Var(&reportFl.alpha, "alpha", 0.01, "variables: false-alarm probability for the whole run (the variables query's ALPHA)")
			fs.Float64Var(&reportFl.vMin, "v-min", 0.1, "variables: minimum V, flux standard deviation over the mean (the variables query's V_MIN; negative: any V)")
			fs.IntVar(&reportFl.maxPages, "max-pages", 200, "cut-outs and static light curves for at most this many candidates (every source has a page; tables list all)")
			fs.IntVar(&reportFl.cutouts, "cutouts", 6, "cut-outs per candidate page (0: none)")
			fs.IntVar(&reportFl.cutoutSize, "cutout-size", 64, "cut-out side in image pixels")
			fs.StringVar(&reportFl.stretch, "stretch", report.StretchAsinh, "cut-out stretch: asinh or linear")
			fs.BoolVar(&reportFl.voevent, "voevent", false, "write a VOEvent 2.0 packet per new source and variable candidate")
			fs.StringVar(&reportFl.authority, "authority", "gotrap.invalid", "VOEvent IVORN authority")
			fs.StringVar(&reportFl.stream, "stream", "trap", "VOEvent IVORN stream")
			fs.StringVar(&reportFl.role, "role", report.RoleTest, "VOEvent role: test, observation, utility or prediction")
			fs.StringVar(&reportFl.contact, "contact", "gotrap", "VOEvent Who/Author contactName")
			fs.IntVar(&reportFl.rate, "rate", 0, "at most this many VOEvents per --rate-period of trigger time (0: no limit)")
			fs.DurationVar(&reportFl.ratePeriod, "rate-period", time.Hour, "period of --rate")
			fs.StringVar(&reportFl.suppress, "suppress", "", "CSV of known sources RA,DEC,RADIUS (deg): no VOEvent within RADIUS")
			fs.IntVar(&reportFl.threads, "threads", 0, "DuckDB threads (0: the CPUs Go may use)")
			fs.StringVar(&reportFl.memoryLimit, "memory-limit", "", "DuckDB memory_limit")
			fs.IntVar(&reportFl.workers, "workers", 0, "FITS images read at once for cut-outs (0: the CPUs Go may use)")
		},
		run: runReport,
	})
}

func runReport(env *cmdEnv, args []string) error {
	f := reportFl
	if len(args) != 1 {
		return usageError("want one run directory, got %d arguments", len(args))
	}
	cutouts := f.cutouts
	if cutouts == 0 {
		cutouts = -1 // Options: 0 is the default, negative none
	}
	opt := report.Options{Dir: f.out, Alpha: f.alpha, VMin: f.vMin, MaxPages: f.maxPages, Cutouts: cutouts, CutoutSize: f.cutoutSize,
		Stretch: f.stretch, VOEvent: f.voevent, Threads: f.threads, MemoryLimit: f.memoryLimit, Workers: f.workers,
		Events: report.VOEventOptions{Authority: f.authority, Stream: f.stream, Role: f.role, Contact: f.contact,
			RateLimit: f.rate, RatePeriod: f.ratePeriod}}
	if f.maxPages <= 0 {
		opt.MaxPages = -1
	}
	if f.suppress != "" {
		fh, err := os.Open(f.suppress)
		if err != nil {
			return err
		}
		opt.Events.Known, err = report.ReadKnownSources(fh)
		fh.Close()
		if err != nil {
			return err
		}
	}
	if err := checkRun(args[0]); err != nil {
		return err
	}
	// The run's lock: no run may write it meanwhile, nor a second
	// report. A run on a read-only file system can still be reported
	// into a folder outside it, unlocked.
	lk, err := rundir.Acquire(args[0], "gotrap report")
	if err != nil && (errors.Is(err, rundir.ErrLocked) || f.out == "" || within(args[0], f.out)) {
		return err
	}
	defer lk.Unlock()
	ctx, stop := slurm.NotifyContext(context.Background())
	defer stop()
	s, err := report.Generate(ctx, args[0], opt)
	if err != nil && ctx.Err() != nil {
		return &exitError{code: signalExit(ctx), err: err}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "report: %s\n", s.Index)
	plots := "interactive plots"
	if !s.Interactive {
		plots = "static plots only: this gotrap was built without the report's plotting library (make build installs it)"
	}
	fmt.Fprintf(env.stdout, "  %d source pages (%s)\n", s.SourcePages, plots)
	fmt.Fprintf(env.stdout, "  %d new sources (%d with vetting flags), %d variable candidates, %d with cut-outs, %d cut-outs, %d region files\n",
		s.NewSources, s.Flagged, s.Variables, s.Pages, s.Cutouts, s.Regions)
	if f.voevent {
		fmt.Fprintf(env.stdout, "  %d VOEvents written, %d suppressed or withheld\n", s.VOEvents, s.Suppressed)
	}
	fmt.Fprintf(env.stdout, "  %.2f s\n", s.Seconds)
	return nil
}

// checkRun reports a RUN argument that is not a run directory: not a
// folder, or one with neither a manifest.json nor any catalogue table
// (catalog.Tables: NAME.parquet or a NAME/ folder). An error: exit 1.
func checkRun(run string) error {
	st, err := os.Stat(run)
	if err != nil {
		return fmt.Errorf("run directory: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("%s is not a run directory (not a folder)", run)
	}
	if _, err := os.Stat(rundir.ManifestPath(run)); err == nil {
		return nil
	}
	for _, t := range catalog.Tables() {
		if _, err := os.Stat(rundir.TablePath(run, t.Name)); err == nil {
			return nil
		}
		if st, err := os.Stat(rundir.TableDir(run, t.Name)); err == nil && st.IsDir() {
			return nil
		}
	}
	return fmt.Errorf("%s is not a gotrap run directory: it has no %s and no catalogue table", run, filepath.Base(rundir.ManifestPath(run)))
}

// within reports whether path is dir or lies below it (lexically, after
// resolving symbolic links where they exist).
func within(dir, path string) bool {
	abs := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			p = r
		}
		a, err := filepath.Abs(p)
		if err != nil {
			return filepath.Clean(p)
		}
		return a
	}
	d, p := abs(dir), abs(path)
	rel, err := filepath.Rel(d, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
