package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/hugemem"
	"gotrap/internal/regions"
	"gotrap/internal/rundir"
	"gotrap/kernels"
)

func init() {
	d := config.DefaultExtraction()
	register(&command{
		name:  "extract",
		usage: "[--config FILE] [flags] FILE...",
		short: "find and measure the sources of images (PySE)",
		long: `
Find the sources of each FITS image and measure them, as TraP's source finder
PySE does (docs/science.md): mask, background and rms grids, islands above the
analysis threshold whose peak passes the detection threshold, then a Gaussian
fit (--mode gaussian, TraP's) or tweaked moments (--mode moments) with the
image's restoring beam and WCS. With --fixed-positions, fit the beam at those
sky positions instead (forced fits; no threshold, the whole box).

Settings come from the defaults (TraP's job defaults; gotrap's decisions,
docs/decisions.md: extraction radius off, edge-hold background maps), then the [extraction]
section of --config FILE, then the flags given on the command line.

For each input, --out DIR (default: the current directory) receives
  STEM.csv      PySE's 37 columns (id, peak, peak_err, flux, ... reduced_chisq)
                with its names, order and units, 12 significant digits;
  STEM.parquet  the same sources as gotrap catalogue measurements;
  STEM.reg      a DS9 region file: ellipses at the half-maximum (fk5, or image
                coordinates with --region image);
  STEM.bkg.fits, STEM.rms.fits, STEM.sig.fits   with --maps.
STEM is the file name without its extension. stdout gets one line per image:
the number of sources, the outcome (why there are none), TraP's rms_qc and the
rms map's range. A file that cannot be read gets "gotrap extract: FILE:
reason" on stderr, the others are still processed, and the exit status is 1.
Files are processed --threads at a time; the outputs do not depend on it.

Examples:
  gotrap extract --out out/ image.fits
  gotrap extract --detection 5 --analysis 3 --back-size 50 --margin 10 \
      --radius 250 --force-beam --mode gaussian --background-edge pyse \
      --error-model pyse --out out/ image.fits     # the reference settings
  gotrap extract --fixed-positions "136.896,14.0222" --ffbox 3 image.fits
  gotrap extract --config job.toml --threads 8 --out cat/ images/*.fits`,
		setFlags: func(fs *flag.FlagSet) {
			x := &extractFlags
			*x = extractFlagValues{fs: fs, e: d}
			e := &x.e
			fs.StringVar(&x.config, "config", "", "job configuration `FILE` (TOML; its [extraction] section)")
			fs.Float64Var(&e.DetectionThreshold, "detection", d.DetectionThreshold, "detection threshold: island peaks above this many rms (detection_threshold)")
			fs.Float64Var(&e.AnalysisThreshold, "analysis", d.AnalysisThreshold, "analysis threshold: island pixels above this many rms (analysis_threshold)")
			fs.StringVar(&x.backSize, "back-size", fmt.Sprint(d.BackSizeX), "background cell size in pixels, `N` or NX,NY (back_size_x, back_size_y)")
			fs.IntVar(&e.Margin, "margin", d.Margin, "masked border width in pixels, 0 for none (margin)")
			fs.Float64Var(&e.ExtractionRadiusPix, "radius", d.ExtractionRadiusPix, "mask pixels this far or further from the image centre, 0 for none (extraction_radius_pix)")
			fs.IntVar(&e.DeblendNThresh, "deblend", d.DeblendNThresh, "deblending levels, 0 for none, at most 300 (deblend_nthresh)")
			fs.Float64Var(&e.DeblendMinCont, "deblend-mincont", d.DeblendMinCont, "minimum flux fraction of a deblended component (deblend_mincont)")
			fs.BoolVar(&e.ForceBeam, "force-beam", d.ForceBeam, "fix the fitted shape to the restoring beam; --force-beam=false fits it (force_beam)")
			fs.StringVar(&e.Mode, "mode", d.Mode, "measurement: gaussian (least-squares fit, TraP) or moments (PySE's vectorized) (mode)")
			fs.StringVar(&e.BackgroundEdge, "background-edge", d.BackgroundEdge, "maps outside the background frame: hold (edge values) or pyse (background 0, rms = min grid, as PySE) (background_edge)")
			fs.StringVar(&e.ErrorModel, "error-model", d.ErrorModel, "errors of fixed-shape fits: gotrap (the unweighted fit's in beam-correlated noise) or pyse (PySE's Condon errors) (error_model)")
			fs.BoolVar(&e.RemoveEdgeSources, "remove-edge-sources", d.RemoveEdgeSources, "drop islands that touch the border or a masked pixel (remove_edge_sources)")
			fs.Float64Var(&e.RMSFilter, "rms-filter", d.RMSFilter, "candidates need rms >= this times the median of the rms grid (rms_filter)")
			fs.IntVar(&e.MedianFilter, "median-filter", d.MedianFilter, "median filter size of the background grids, 0 for none (median_filter)")
			fs.Float64Var(&e.MFThreshold, "mf-threshold", d.MFThreshold, "the median filter changes a node only by more than this (mf_threshold)")
			fs.BoolVar(&e.FDR, "fdr", d.FDR, "thresholds by the False Detection Rate (fdr)")
			fs.Float64Var(&e.FDRAlpha, "fdr-alpha", d.FDRAlpha, "FDR alpha (fdr_alpha)")
			fs.Float64Var(&e.BoxInBeamPix, "ffbox", d.BoxInBeamPix, "forced-fit box side in beam semi-major axes (box_in_beampix)")
			fs.Float64Var(&e.EwSysErr, "ew-sys-err", d.EwSysErr, "systematic position error east-west, arcsec (ew_sys_err)")
			fs.Float64Var(&e.NsSysErr, "ns-sys-err", d.NsSysErr, "systematic position error north-south, arcsec (ns_sys_err)")
			fs.Float64Var(&e.EpsRA, "eps-ra", d.EpsRA, "added to ra_err, degrees (eps_ra)")
			fs.Float64Var(&e.EpsDec, "eps-dec", d.EpsDec, "added to dec_err, degrees (eps_dec)")
			fs.IntVar(&e.Threads, "threads", d.Threads, "CPUs to use, 0 for all Go may use (threads)")
			fs.StringVar(&x.fixed, "fixed-positions", "", "forced fits at `POSITIONS` \"RA,DEC;RA,DEC\" (degrees; [[RA, DEC], ...] also reads) or a file of RA DEC lines")
			fs.StringVar(&x.ffFixed, "ff-fixed", "position+shape", "what forced fits hold fixed: position+shape (TraP), position, or none")
			fs.StringVar(&x.out, "out", ".", "output `DIR` for STEM.csv, STEM.parquet, STEM.reg (created when missing)")
			fs.BoolVar(&x.maps, "maps", false, "also write the background, rms and significance maps as FITS")
			fs.StringVar(&x.region, "region", "fk5", "region file coordinates: fk5, image, or none")
			fs.BoolVar(&x.noParquet, "no-parquet", false, "do not write STEM.parquet")
			fs.IntVar(&x.plane, "plane", 0, "plane of a cube to read (index over axes 3..N, axis 3 fastest)")
			fs.StringVar(&x.stokes, "stokes", "", "polarisation `S` (I, V, RR, ...) to read from cubes with a STOKES axis")
			fs.IntVar(&x.channel, "channel", 0, "channel `N` (1-based) to read from cubes with a frequency axis")
			fs.BoolVar(&x.negative, "negative", false, "also find negative sources (Stokes V): they follow the positive ones, with negative peak and flux")
			fs.StringVar(&x.beam, "beam", "", "restoring beam `BMAJ,BMIN,BPA` in degrees, overriding the header")
			fs.BoolVar(&x.quiet, "quiet", false, "no progress on stderr")
		},
		run: runExtract,
	})
}

// extractFlagValues holds the flags of gotrap extract, set by setFlags for
// each run; fs is the parsed flag set, to tell the flags given from the
// defaults.
type extractFlagValues struct {
	fs        *flag.FlagSet
	e         config.Extraction
	config    string
	backSize  string
	fixed     string
	ffFixed   string
	out       string
	maps      bool
	region    string
	noParquet bool
	plane     int
	stokes    string
	channel   int
	negative  bool
	beam      string
	quiet     bool
}

var extractFlags extractFlagValues

// extractFlagKeys copies a given flag's value into the configuration.
var extractFlagKeys = map[string]func(dst, src *config.Extraction){
	"detection":           func(d, s *config.Extraction) { d.DetectionThreshold = s.DetectionThreshold },
	"analysis":            func(d, s *config.Extraction) { d.AnalysisThreshold = s.AnalysisThreshold },
	"margin":              func(d, s *config.Extraction) { d.Margin = s.Margin },
	"radius":              func(d, s *config.Extraction) { d.ExtractionRadiusPix = s.ExtractionRadiusPix },
	"deblend":             func(d, s *config.Extraction) { d.DeblendNThresh = s.DeblendNThresh },
	"deblend-mincont":     func(d, s *config.Extraction) { d.DeblendMinCont = s.DeblendMinCont },
	"force-beam":          func(d, s *config.Extraction) { d.ForceBeam = s.ForceBeam },
	"mode":                func(d, s *config.Extraction) { d.Mode = s.Mode },
	"background-edge":     func(d, s *config.Extraction) { d.BackgroundEdge = s.BackgroundEdge },
	"error-model":         func(d, s *config.Extraction) { d.ErrorModel = s.ErrorModel },
	"remove-edge-sources": func(d, s *config.Extraction) { d.RemoveEdgeSources = s.RemoveEdgeSources },
	"rms-filter":          func(d, s *config.Extraction) { d.RMSFilter = s.RMSFilter },
	"median-filter":       func(d, s *config.Extraction) { d.MedianFilter = s.MedianFilter },
	"mf-threshold":        func(d, s *config.Extraction) { d.MFThreshold = s.MFThreshold },
	"fdr":                 func(d, s *config.Extraction) { d.FDR = s.FDR },
	"fdr-alpha":           func(d, s *config.Extraction) { d.FDRAlpha = s.FDRAlpha },
	"ffbox":               func(d, s *config.Extraction) { d.BoxInBeamPix = s.BoxInBeamPix },
	"ew-sys-err":          func(d, s *config.Extraction) { d.EwSysErr = s.EwSysErr },
	"ns-sys-err":          func(d, s *config.Extraction) { d.NsSysErr = s.NsSysErr },
	"eps-ra":              func(d, s *config.Extraction) { d.EpsRA = s.EpsRA },
	"eps-dec":             func(d, s *config.Extraction) { d.EpsDec = s.EpsDec },
	"threads":             func(d, s *config.Extraction) { d.Threads = s.Threads },
}

// extractSettings turns the flags into the configuration: defaults, then
// --config, then the flags given.
func extractSettings(x *extractFlagValues) (config.Config, error) {
	cfg := config.Default()
	if x.config != "" {
		c, err := config.Load(x.config)
		if err != nil {
			return cfg, &exitError{code: 2, err: err}
		}
		cfg = c
	}
	var err error
	x.fs.Visit(func(f *flag.Flag) {
		if set, ok := extractFlagKeys[f.Name]; ok {
			set(&cfg.Extraction, &x.e)
		}
		if f.Name == "back-size" && err == nil {
			cfg.Extraction.BackSizeX, cfg.Extraction.BackSizeY, err = parseBackSize(x.backSize)
		}
	})
	if err != nil {
		return cfg, usageError("%v", err)
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError("%v", err)
	}
	return cfg, nil
}

func parseBackSize(s string) (int, int, error) {
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == 'x' || r == 'X' })
	if len(parts) < 1 || len(parts) > 2 {
		return 0, 0, fmt.Errorf("--back-size %q: want N or NX,NY", s)
	}
	var v [2]int
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n <= 0 {
			return 0, 0, fmt.Errorf("--back-size %q: %q is not a positive integer", s, p)
		}
		v[i] = n
	}
	if len(parts) == 1 {
		v[1] = v[0]
	}
	return v[0], v[1], nil
}

// numberRE matches a decimal number. Compiled on first use, not by every
// start-up (docs/performance.md "Session 9").
var numberRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?`)
})

// parseFixedPositions reads "RA,DEC;RA,DEC", PySE's "[[RA, DEC], ...]" or,
// when s names a file, its text (RA DEC pairs; '#' starts a comment).
func parseFixedPositions(s string) ([][2]float64, error) {
	text, what := s, fmt.Sprintf("--fixed-positions %q", s)
	if st, err := os.Stat(s); err == nil && !st.IsDir() {
		b, err := os.ReadFile(s)
		if err != nil {
			return nil, err
		}
		var lines []string
		for _, l := range strings.Split(string(b), "\n") {
			if i := strings.IndexByte(l, '#'); i >= 0 {
				l = l[:i]
			}
			lines = append(lines, l)
		}
		text, what = strings.Join(lines, "\n"), s
	}
	rest := numberRE().ReplaceAllString(text, "")
	if strings.Trim(rest, " \t\r\n,;[]()") != "" {
		return nil, fmt.Errorf("%s: not a list of RA, Dec pairs", what)
	}
	nums := numberRE().FindAllString(text, -1)
	if len(nums) == 0 || len(nums)%2 != 0 {
		return nil, fmt.Errorf("%s: want RA, Dec pairs, got %d numbers", what, len(nums))
	}
	out := make([][2]float64, 0, len(nums)/2)
	for i := 0; i < len(nums); i += 2 {
		ra, err1 := strconv.ParseFloat(nums[i], 64)
		dec, err2 := strconv.ParseFloat(nums[i+1], 64)
		if err1 != nil || err2 != nil || math.Abs(dec) > 90 {
			return nil, fmt.Errorf("%s: position %d (%s, %s) is not RA, Dec in degrees", what, i/2+1, nums[i], nums[i+1])
		}
		out = append(out, [2]float64{ra, dec})
	}
	return out, nil
}

func runExtract(env *cmdEnv, args []string) error {
	x := &extractFlags
	if len(args) == 0 {
		return usageError("no FITS file or CASA image given")
	}
	// The Go heap's first 2 MB in one huge page: a one-image extraction
	// then takes about 150 fewer page faults (docs/performance.md "Session
	// 9"). Only a hint: where the kernel refuses, nothing changes.
	_ = hugemem.CollapseHeap()
	cfg, err := extractSettings(x)
	if err != nil {
		return err
	}
	opt, err := extract.FromConfig(cfg.Extraction)
	if err != nil {
		return usageError("%v", err)
	}
	if x.plane < 0 {
		return usageError("--plane %d: must be 0 or more", x.plane)
	}
	opt.Plane = x.plane
	if x.channel < 0 {
		return usageError("--channel %d: channels count from 1", x.channel)
	}
	opt.Stokes, opt.Channel, opt.Negative = x.stokes, x.channel, x.negative
	if x.negative && x.fixed != "" {
		return usageError("--negative is for blind extraction, not with --fixed-positions")
	}
	if x.beam != "" {
		if opt.Beam, err = parseBeam(x.beam); err != nil {
			return usageError("%v", err)
		}
	}
	if x.fixed != "" {
		if opt.Positions, err = parseFixedPositions(x.fixed); err != nil {
			return usageError("%v", err)
		}
	}
	switch x.ffFixed {
	case "position+shape":
		opt.Fixed = kernels.FixPositionShape
	case "position":
		opt.Fixed = kernels.FixPosition
	case "none":
		opt.Fixed = kernels.FixNone
	default:
		return usageError("--ff-fixed %q: want position+shape, position or none", x.ffFixed)
	}
	var regionSys regions.System
	switch x.region {
	case "fk5":
		regionSys = regions.FK5
	case "image":
		regionSys = regions.Image
	case "none":
	default:
		return usageError("--region %q: want fk5, image or none", x.region)
	}
	opt.Maps = x.maps
	if err := os.MkdirAll(x.out, 0o755); err != nil {
		return fmt.Errorf("--out %s: %w", x.out, err)
	}
	var cfgText bytes.Buffer
	if err := cfg.Encode(&cfgText); err != nil {
		return err
	}
	sum := sha256.Sum256(cfgText.Bytes())
	cfgHash := hex.EncodeToString(sum[:8])

	// Threads: files in parallel first, the rest inside each image.
	threads := cfg.Extraction.Threads
	if threads <= 0 {
		threads = maxProcsCmd()
	}
	workers := max(1, min(threads, len(args)))
	opt.Threads = max(1, threads/workers)
	opt.SerialPixels = extractSerialPixels
	opt.HugePages = true // docs/performance.md "Session 9"

	stems := outputStems(args)
	failed := 0
	start, last := time.Now(), time.Now()
	var nsrc int
	var pix float64
	emit := func(i int, r *extract.Result, err error) error {
		path := args[i]
		if err == nil {
			err = writeExtractOutputs(x, stems[i], int64(i), r, regionSys, cfgHash)
		}
		if err != nil {
			failed++
			msg := strings.TrimPrefix(err.Error(), "fitsimg: ")
			if !strings.HasPrefix(msg, path) {
				msg = path + ": " + msg
			}
			fmt.Fprintf(env.stderr, "gotrap extract: %s\n", msg)
			return nil
		}
		nsrc += len(r.Sources)
		pix += float64(r.Meta.Naxis1) * float64(r.Meta.Naxis2)
		what := "sources"
		if r.Forced {
			what = fmt.Sprintf("forced fits of %d positions", len(opt.Positions))
		}
		fmt.Fprintf(env.stdout, "%s: %d %s (%s); rms_qc %.6g, rms %.6g..%.6g, thresholds %.4g/%.4g\n",
			path, len(r.Sources), what, r.Outcome, r.RMSQC, r.RMSMin, r.RMSMax, r.DetectionThr, r.AnalysisThr)
		if r.Outcome != kernels.OutcomeOK && !r.Forced {
			fmt.Fprintf(env.stderr, "gotrap extract: %s: no sources: %s\n", path, r.Outcome)
		}
		if !x.quiet && len(args) > 1 && (time.Since(last) > 2*time.Second || i == len(args)-1) {
			last = time.Now()
			el := time.Since(start).Seconds()
			fmt.Fprintf(env.stderr, "gotrap extract: %d/%d images, %d sources, %.1f Mpixel/s\n", i+1, len(args), nsrc, pix/el/1e6)
		}
		return nil
	}
	if err := extract.Run(context.Background(), args, opt, workers, emit); err != nil {
		return err
	}
	if failed > 0 {
		return &exitError{code: 1}
	}
	return nil
}

// extractSerialPixels: images of fewer pixels are extracted on one
// goroutine. For the 256x256 cut-out of docs/performance.md "Start-up"
// one goroutine took 19.0 ms at best against 21.5 ms for two (30 runs
// each, load 5.5): a second goroutine's first-touched scratch (a 152 KB
// background clipper, about 38 page faults of 14 us in this VM) and its
// wake-up cost more than half of 2 ms of arithmetic. Twice that size is
// a guess at the break-even, not measured.
const extractSerialPixels = 1 << 17

// outputStems returns each input's output stem: its base name without
// the extension (".fits", ".fit", ".fts", ".image", also before ".gz" or
// ".fz"), made unique
// by a "-N" suffix when two inputs share a name.
func outputStems(paths []string) []string {
	seen := map[string]int{}
	out := make([]string, len(paths))
	for i, p := range paths {
		b := filepath.Base(p)
		b = strings.TrimSuffix(strings.TrimSuffix(b, ".gz"), ".fz")
		b = strings.TrimSuffix(b, filepath.Ext(b))
		if n := seen[b]; n > 0 {
			out[i] = fmt.Sprintf("%s-%d", b, n)
		} else {
			out[i] = b
		}
		seen[b]++
	}
	return out
}

// writeExtractOutputs writes STEM.csv, STEM.parquet, STEM.reg and the
// maps of one image as one rundir.Batch: each file complete under its
// final name or not at all, and all of them durable when it returns nil,
// with one data sync for the files (concurrent) and one for the folder.
func writeExtractOutputs(x *extractFlagValues, stem string, image int64, r *extract.Result, sys regions.System, cfgHash string) error {
	base := filepath.Join(x.out, stem)
	var b rundir.Batch
	err := b.WriteFunc(base+".csv", func(w io.Writer) error { return extract.WriteCSV(w, r.Sources) })
	if err == nil && !x.noParquet {
		typ := int32(catalog.ExtractBlind)
		if r.Forced {
			typ = catalog.ExtractMonitor
		}
		rows := extract.Measurements(nil, image, r.Sources, typ)
		err = b.WriteFunc(base+".parquet", func(w io.Writer) error {
			return catalog.Encode(w, rows, catalog.WithConfigHash(cfgHash), catalog.WithMetadata("gotrap.source_file", r.Path))
		})
	}
	if err == nil && x.region != "none" {
		err = b.WriteFunc(base+".reg", func(w io.Writer) error { return regions.WriteSources(w, r.Sources, sys, "") })
	}
	if err == nil && r.Maps != nil {
		for _, m := range []struct {
			name string
			img  *kernels.Image
		}{{"bkg", r.Maps.Background}, {"rms", r.Maps.RMS}, {"sig", r.Maps.Sig}} {
			h := r.Meta.Header.Clone()
			h.AddHistory("gotrap extract: " + m.name + " map")
			if err = b.WriteFunc(base+"."+m.name+".fits", func(w io.Writer) error {
				return fitsimg.Encode(w, m.img, h, fitsimg.WriteOptions{})
			}); err != nil {
				break
			}
		}
	}
	if err != nil {
		b.Abort()
		return err
	}
	return b.Commit()
}

// maxProcsCmd is the number of CPUs Go may use.
func maxProcsCmd() int { return runtime.GOMAXPROCS(0) }
