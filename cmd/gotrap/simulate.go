package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"

	"gotrap/internal/sim"
)

// setFlag collects repeated --set KEY=VALUE flags in order.
type setFlag []string

func (s *setFlag) String() string { return strings.Join(*s, " ") }
func (s *setFlag) Set(v string) error {
	if !strings.Contains(v, "=") {
		return fmt.Errorf("want KEY=VALUE, got %q", v)
	}
	*s = append(*s, v)
	return nil
}

type simulateFlags struct {
	preset    string
	seed      uint64
	timesteps int
	workers   int
	sources   string
	sets      setFlag
	force     bool
	quiet     bool
	params    bool
	check     bool
}

var simFlags simulateFlags

func simulateLong() string {
	var b strings.Builder
	b.WriteString(`Simulate writes a stack of radio images of a sky whose truth is known: FITS
images (BITPIX -32, SIN projection, LOFAR keywords) in DIR/images, one per
(timestep, beam, band), and truth tables in DIR/truth: sources.csv,
fluxes.csv (one row per source and image it lies in), images.csv and
params.txt (the parameters, reusable with --set). The same parameters and
seed give byte-identical files whatever --workers is. See docs/simulate.md.

Presets:
  tiny      1 beam, 2 bands (120 and 160 MHz), 8 timesteps, 256x256 px at
            20"; 4 variables, 4 transients, 3 bad images (CI, about 4 MB)
  rsm-mini  the LOFAR Radio Sky Monitor layout: 6 beams in a hexagon around
            a zenith pointing, 4 HBA bands (120.0, 130.0, 139.9, 160.1 MHz;
            rms 0.053, 0.038, 0.035, 0.028 Jy), 1280x1280 px at 20", beam
            140"x112" at 150 MHz; 6 timesteps 15 min apart: 144 images
  rsm       the same with 142 timesteps: 3408 images, 22.4 GB
  realistic rsm-mini with 768x768 px images (144 images, 0.34 GB) and the
            flaws of real images: noise correlated by a
            real LOFAR PSF, primary-beam-corrected (noise rising to the
            edges), 10% resolved sources, sidelobe residuals and ring and
            spoke artefacts around sources above 50 sigma
  aartfaac  an all-sky-like monitor after AARTFAAC: 1 field of 1024x1024 px
            of 270" (SIN, 77 deg across), 8 sub-bands (57-64 MHz, rms 3 Jy),
            60 snapshots 1 s apart, bright steady sources (30-3000 Jy),
            20 transients on for 2-5 s: 480 images (2.0 GB). Run with
            [pipeline] timestep_tolerance below 1 s
  aartfaac-mini  the same with 4 sub-bands, 20 snapshots, 256x256 px
            and 3 transients: 80 images (22 MB), for CI

--check FILE... prints, for FITS images (simulated or real), the noise
autocorrelation with the sources masked (rho at 1 and 2 beam FWHM, rms at
3-6 FWHM, minimum; edge/centre rms) and the detections near bright sources
(not in the truth, for simulated images; expected from the density
elsewhere), as in docs/simulate.md.

Parameters (--set KEY=VALUE, repeatable; --params lists the values):
`)
	for _, p := range sim.ParamHelp() {
		fmt.Fprintf(&b, "  %-21s %s\n", p.Key, p.Help)
	}
	return b.String()
}

func init() {
	register(&command{
		name:     "simulate",
		usage:    "[--preset NAME] [--seed N] [--set KEY=VALUE]... [--workers N] DIR | --check FILE...",
		short:    "write simulated radio images with truth tables",
		longFunc: simulateLong,
		setFlags: func(fs *flag.FlagSet) {
			simFlags = simulateFlags{}
			fs.StringVar(&simFlags.preset, "preset", sim.PresetTiny, "preset: "+strings.Join(sim.PresetNames(), ", "))
			fs.Uint64Var(&simFlags.seed, "seed", 1, "random seed: fixes every file")
			fs.IntVar(&simFlags.timesteps, "timesteps", 0, "number of snapshots (0: the preset's)")
			fs.IntVar(&simFlags.workers, "workers", runtime.GOMAXPROCS(0), "images made at once (does not change the output)")
			fs.StringVar(&simFlags.sources, "sources", "", "CSV of extra sources: ra,dec,flux_jy[,spectral_index,onset_step,end_step]")
			fs.Var(&simFlags.sets, "set", "override a parameter, KEY=VALUE (repeatable)")
			fs.BoolVar(&simFlags.force, "force", false, "write into a non-empty DIR (files of the same names are replaced)")
			fs.BoolVar(&simFlags.quiet, "quiet", false, "no progress on stderr")
			fs.BoolVar(&simFlags.params, "params", false, "print the parameters and exit (DIR not needed)")
			fs.BoolVar(&simFlags.check, "check", false, "instead of simulating, print how real the FITS files given look: noise autocorrelation and detections near bright sources (see docs/simulate.md)")
		},
		run: runSimulate,
	})
}

func runSimulate(env *cmdEnv, args []string) error {
	f := simFlags
	if f.check {
		if len(args) == 0 {
			return usageError("--check wants FITS files")
		}
		rows, err := checkImages(args, defaultCheck, f.workers)
		if err != nil {
			return err
		}
		writeCheck(env.stdout, rows, defaultCheck)
		return nil
	}
	cfg, err := sim.Preset(f.preset)
	if err != nil {
		return usageError("%v", err)
	}
	cfg.Seed = f.seed
	if f.timesteps != 0 {
		cfg.Timesteps = f.timesteps
	}
	if f.sources != "" {
		cfg.SourcesFile = f.sources
	}
	for _, kv := range f.sets {
		k, v, _ := strings.Cut(kv, "=")
		if err := cfg.Set(strings.TrimSpace(k), v); err != nil {
			return usageError("%v", err)
		}
	}
	if err := cfg.Validate(); err != nil {
		return usageError("%v", err)
	}
	if f.params {
		for _, p := range cfg.Params() {
			fmt.Fprintf(env.stdout, "%s=%s\n", p.Key, p.Value)
		}
		return nil
	}
	if len(args) != 1 {
		return usageError("want one output directory, got %d arguments", len(args))
	}
	dir := args[0]
	if !f.force {
		if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%s is not empty (use --force to write into it)", dir)}
		}
	}
	opt := sim.Options{Workers: f.workers}
	if !f.quiet {
		opt.Progress = env.stderr
	}
	s, err := sim.Generate(context.Background(), cfg, dir, opt)
	if err != nil {
		return err
	}
	sec := s.Elapsed.Seconds()
	fmt.Fprintf(env.stdout, "wrote %d images of %dx%d px (%d bad; %.1f MB) and truth for %d sources (%d flux rows) to %s\n",
		s.Images, s.ImageWidth, s.ImageHeight, s.Bad, float64(s.ImageBytes)/1e6, s.Sources, s.FluxRows, dir)
	fmt.Fprintf(env.stdout, "%.2f s with %d workers: %.2f images/s, %.1f MB/s\n",
		sec, s.Workers, float64(s.Images)/sec, float64(s.ImageBytes)/1e6/sec)
	return nil
}
