package main

import (
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"

	"gotrap/bench"
	"gotrap/kernels"
)

func init() {
	register(&command{
		name:  "bench",
		usage: "extract [--sizes 1280,2048] [--modes gaussian,moments] [--repeats N] [--stat SIZE --psf FILE]",
		short: "benchmark gotrap's stages (extract)",
		long: `
Benchmark one part of gotrap. The only mode yet is "extract": the source finder
on synthetic images of beam-correlated unit noise with a grid of point sources
at the RSM's density (about 300 per Mpixel), written to FITS in a temporary
directory and read back. For each size and measurement mode it prints the time
of each stage on one core (decode, rms_qc, mask, background grids, maps,
labelling, measurement; medians over the repeats on a warm worker), the whole
extraction's time and speed in Mpixel/s per core, its wall time with two
threads, and the bytes per pixel allocated during the extraction beyond the
image.

With --stat SIZE it runs SPEC 10.2 item 9's statistical regression instead, on
a SIZE x SIZE field of noise correlated by --psf (psf.fits), and exits 1 when a
criterion fails.

Examples:
  gotrap bench extract
  gotrap bench extract --sizes 4096 --modes moments --repeats 1
  gotrap bench extract --stat 4096 --psf ../shared/data/psf.fits`,
		setFlags: func(fs *flag.FlagSet) {
			benchFlags = benchFlagValues{}
			fs.StringVar(&benchFlags.sizes, "sizes", "1280,2048", "image sides in pixels, comma-separated")
			fs.StringVar(&benchFlags.modes, "modes", "gaussian,moments", "measurement modes, comma-separated")
			fs.IntVar(&benchFlags.repeats, "repeats", 7, "timed repetitions after a warm-up; medians count")
			fs.Uint64Var(&benchFlags.seed, "seed", 1, "random seed of the synthetic images")
			fs.IntVar(&benchFlags.stat, "stat", 0, "run the statistical regression at this `SIZE` instead")
			fs.Float64Var(&benchFlags.spacing, "spacing", 14, "grid spacing of the statistical regression, pixels")
			fs.StringVar(&benchFlags.psf, "psf", "../shared/data/psf.fits", "PSF `FILE` for --stat")
		},
		run: runBench,
	})
}

type benchFlagValues struct {
	sizes, modes, psf string
	repeats, stat     int
	seed              uint64
	spacing           float64
}

var benchFlags benchFlagValues

func runBench(env *cmdEnv, args []string) error {
	if len(args) != 1 || args[0] != "extract" {
		return usageError("want the mode: extract")
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
	_, err = bench.Extract(env.stdout, bench.ExtractConfig{Sizes: sizes, Modes: modes, Repeats: x.repeats, Seed: x.seed, Dir: dir})
	return err
}
