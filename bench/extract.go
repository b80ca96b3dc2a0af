package bench

import (
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"time"

	"gotrap/internal/extract"
	"gotrap/internal/extract/extracttest"
	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/kernels"
)

// ExtractConfig chooses what Extract measures.
type ExtractConfig struct {
	Sizes   []int                 // image sides in pixels
	Modes   []kernels.MeasureMode // measurement paths
	Repeats int                   // timed repetitions (medians count)
	Seed    uint64
	Dir     string // scratch directory for the FITS files
}

// ExtractResult is one (size, mode) measurement.
type ExtractResult struct {
	Size                                                      int
	Mode                                                      kernels.MeasureMode
	Sources                                                   int
	Decode, QC, Mask, Background, Maps, Label, Measure, Total time.Duration
	Total2                                                    time.Duration // total with two threads (wall)
	MpixPerSec                                                float64       // total, one core
	BytesPerPixel                                             float64       // allocated during Worker.Image, beyond the image
	DecodeMpix, BackgroundMpix, MapsMpix, LabelMpix, MeasMpix float64
}

// beamPx is the benchmark's restoring beam: the RSM's at 150 MHz
// (140" x 112" FWHM, PA 30 deg) in 20" pixels, as semi-axes.
var beamPx = kernels.Beam{A: 3.5, B: 2.8, Theta: 30 * math.Pi / 180}

// MakeField writes a size x size benchmark image to path and returns the
// number of sources painted.
func MakeField(path string, size int, seed uint64) (int, error) {
	img, err := kernels.NewImage(image.Rect(0, 0, size, size))
	if err != nil {
		return 0, err
	}
	// The noise is white noise convolved with the beam shrunk by sqrt 2,
	// which gives it the beam's correlation (as internal/sim does).
	pw := 64
	psf, _ := kernels.NewImage(image.Rect(0, 0, pw, pw))
	sb := kernels.Beam{A: beamPx.A / math.Sqrt2, B: beamPx.B / math.Sqrt2, Theta: beamPx.Theta}
	for y := range pw {
		for x := range pw {
			psf.Pix[y*pw+x] = float32(kernels.Gauss2D(1, 32, 32, sb.A, sb.B, sb.Theta, float64(x), float64(y)))
		}
	}
	rng := rand.New(rand.NewPCG(seed, 4))
	sim.ConvolvedNoise(img, psf, rng)
	// 57 px spacing: 308 sources per Mpixel, peaks 20 sigma.
	n := (size - 60) / 57
	extracttest.PaintGrid(img, n, 40, 57, 20, beamPx, rng)
	meta, err := extracttest.SINMeta(size, size, 20.0/3600, 150, 52.9, beamPx)
	if err != nil {
		return 0, err
	}
	h := meta.Header.Clone()
	h.Delete("NAXIS")
	h.Delete("NAXIS1")
	h.Delete("NAXIS2")
	bmaj := 2 * beamPx.A * 20.0 / 3600
	bmin := 2 * beamPx.B * 20.0 / 3600
	h.Set("BMAJ", bmaj, "")
	h.Set("BMIN", bmin, "")
	h.Set("BPA", 30.0, "")
	h.Set("RESTFRQ", 1.5e8, "")
	h.Set("DATE-OBS", "2012-01-24T00:00:00", "")
	return n * n, fitsimg.WriteFile(path, img, h)
}

// allocated returns the bytes fn allocates with the collector off.
func allocated(fn func()) uint64 {
	runtime.GC()
	old := debug.SetGCPercent(-1)
	defer debug.SetGCPercent(old)
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	fn()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// Extract runs the extraction benchmark and writes a table to w.
func Extract(w io.Writer, cfg ExtractConfig) ([]ExtractResult, error) {
	if cfg.Repeats < 1 {
		cfg.Repeats = 1
	}
	var out []ExtractResult
	fmt.Fprintf(w, "gotrap bench extract: one core (threads=1), GOMAXPROCS %d, %s\n", runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Fprintf(w, "%-6s %-9s %7s | %8s %8s %8s %8s %8s %8s %8s | %8s %7s | %8s %7s\n", "size", "mode", "sources",
		"decode", "qc", "mask", "bkg", "maps", "label", "measure", "total", "Mpix/s", "2 thr", "B/pix")
	for _, size := range cfg.Sizes {
		path := filepath.Join(cfg.Dir, fmt.Sprintf("bench-%d.fits", size))
		if _, err := MakeField(path, size, cfg.Seed); err != nil {
			return out, err
		}
		for _, mode := range cfg.Modes {
			r, err := extractOnce(path, size, mode, cfg.Repeats)
			if err != nil {
				return out, err
			}
			out = append(out, r)
			ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 }
			fmt.Fprintf(w, "%-6d %-9s %7d | %6.1fms %6.1fms %6.1fms %6.1fms %6.1fms %6.1fms %6.1fms | %6.1fms %7.1f | %6.1fms %7.2f\n",
				size, mode, r.Sources, ms(r.Decode), ms(r.QC), ms(r.Mask), ms(r.Background), ms(r.Maps), ms(r.Label), ms(r.Measure),
				ms(r.Total), r.MpixPerSec, ms(r.Total2), r.BytesPerPixel)
		}
		os.Remove(path)
	}
	fmt.Fprintln(w, "stages and total: medians over the repeats on a warm worker, one thread; Mpix/s: whole extraction incl. decode, per core;")
	fmt.Fprintln(w, "2 thr: median wall time of the whole extraction with two threads; B/pix: bytes allocated during extraction beyond the image (upper bound of peak heap growth)")
	return out, nil
}

func extractOnce(path string, size int, mode kernels.MeasureMode, repeats int) (ExtractResult, error) {
	r := ExtractResult{Size: size, Mode: mode}
	npix := float64(size) * float64(size)
	opt := extract.Default()
	opt.Measure.Mode = mode
	var err error
	var runs []extract.Timings
	var totals []time.Duration
	for _, threads := range []int{1, 2} {
		opt.Threads = threads
		wk, werr := extract.NewWorker(opt)
		if werr != nil {
			return r, werr
		}
		// Warm-up: the worker's buffers and the page cache.
		res, ferr := wk.File(path)
		if ferr != nil {
			return r, ferr
		}
		r.Sources = len(res.Sources)
		runs, totals = runs[:0], totals[:0]
		for range repeats {
			t0 := time.Now()
			res, ferr = wk.File(path)
			d := time.Since(t0)
			if ferr != nil {
				return r, ferr
			}
			runs = append(runs, res.Times)
			totals = append(totals, d)
		}
		if threads == 2 {
			r.Total2 = median(totals)
			break
		}
		r.Total = median(totals)
		stage := func(f func(t *extract.Timings) time.Duration) time.Duration {
			ds := make([]time.Duration, len(runs))
			for i := range runs {
				ds[i] = f(&runs[i])
			}
			return median(ds)
		}
		r.Decode = stage(func(t *extract.Timings) time.Duration { return t.Read })
		r.QC = stage(func(t *extract.Timings) time.Duration { return t.QC })
		r.Mask = stage(func(t *extract.Timings) time.Duration { return t.DetectStages.Mask })
		r.Background = stage(func(t *extract.Timings) time.Duration { return t.DetectStages.Background })
		r.Maps = stage(func(t *extract.Timings) time.Duration { return t.DetectStages.Maps })
		r.Label = stage(func(t *extract.Timings) time.Duration { return t.DetectStages.Label })
		r.Measure = stage(func(t *extract.Timings) time.Duration { return t.Measure })
	}
	// Memory: a fresh one-thread worker on a freshly read image.
	opt.Threads = 1
	img, meta, err := fitsimg.Read(path, fitsimg.Options{})
	if err != nil {
		return r, err
	}
	wk, _ := extract.NewWorker(opt)
	var ferr error
	a := allocated(func() { _, ferr = wk.Image(img, meta) })
	if ferr != nil {
		return r, ferr
	}
	r.BytesPerPixel = float64(a) / npix
	mp := func(d time.Duration) float64 { return npix / 1e6 / d.Seconds() }
	r.MpixPerSec = mp(r.Total)
	r.DecodeMpix, r.BackgroundMpix, r.MapsMpix, r.LabelMpix, r.MeasMpix = mp(r.Decode), mp(r.Background), mp(r.Maps), mp(r.Label), mp(r.Measure)
	return r, nil
}

// median returns the median of ds (the lower middle one for an even
// count), reordering ds.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[(len(ds)-1)/2]
}

// ExtractStat runs SPEC 10.2 item 9's point-source regression on a size x
// size field of noise correlated by the PSF in psfPath (psf.fits): a grid
// spaced spacing px of peak-20 beam-shaped sources, detection 12, analysis
// 8, supplied rms = 1 and background = 0, force_beam, remove_edge_sources
// off. It writes the counts and, per quantity, the mean, std and t of the
// normalised residuals with SPEC's bound, and returns whether all held.
func ExtractStat(w io.Writer, psfPath string, size int, spacing float64, mode kernels.MeasureMode, seed uint64) (bool, error) {
	psf, pm, err := fitsimg.Read(psfPath, fitsimg.Options{})
	if err != nil {
		return false, err
	}
	beam := kernels.Beam{A: pm.BeamPx.SMaj, B: pm.BeamPx.SMin, Theta: pm.BeamPx.Theta}
	img, err := kernels.NewImage(image.Rect(0, 0, size, size))
	if err != nil {
		return false, err
	}
	rng := rand.New(rand.NewPCG(seed, 13302))
	t0 := time.Now()
	sim.ConvolvedNoise(img, psf, rng)
	first := spacing
	n := int((float64(size)-2*first)/spacing) + 1
	truth := extracttest.PaintGrid(img, n, first, spacing, 20, beam, rng)
	meta, err := extracttest.SINMeta(size, size, pm.PixelScale, 150, 50, beam)
	if err != nil {
		return false, err
	}
	tgen := time.Since(t0)
	opt := extract.Default()
	opt.Detect.DetectionThr, opt.Detect.AnalysisThr = 12, 8
	opt.Detect.Margin, opt.Detect.RemoveEdgeSources = 0, false
	opt.Measure.ForceBeam, opt.Measure.Mode = true, mode
	opt.Background, _ = kernels.NewImage(img.Rect)
	opt.RMS, _ = kernels.NewImage(img.Rect)
	for i := range opt.RMS.Pix {
		opt.RMS.Pix[i] = 1
	}
	wk, err := extract.NewWorker(opt)
	if err != nil {
		return false, err
	}
	t0 = time.Now()
	res, err := wk.Image(img, meta)
	if err != nil {
		return false, err
	}
	text := time.Since(t0)
	seen := make([]int, len(truth))
	var zx, zy, zp []float64
	spurious := 0
	for k := range res.Sources {
		s := &res.Sources[k]
		i := int(math.Round((s.X - first) / spacing))
		j := int(math.Round((s.Y - first) / spacing))
		if i < 0 || j < 0 || i >= n || j >= n || math.Hypot(s.X-truth[j*n+i].X, s.Y-truth[j*n+i].Y) > 1.5 {
			spurious++
			continue
		}
		tr := truth[j*n+i]
		seen[j*n+i]++
		zx = append(zx, (s.X-tr.X)/s.XErr)
		zy = append(zy, (s.Y-tr.Y)/s.YErr)
		zp = append(zp, (s.Peak-tr.Peak)/s.PeakErr)
	}
	missing, dup := 0, 0
	for _, c := range seen {
		if c == 0 {
			missing++
		} else if c > 1 {
			dup++
		}
	}
	ok := missing == 0 && dup == 0 && spurious == 0
	fmt.Fprintf(w, "statistical regression %dx%d (%s): noise+sources %.1fs, extraction %.1fs\n", size, size, mode, tgen.Seconds(), text.Seconds())
	fmt.Fprintf(w, "  %d inserted (grid %d px), %d sources: %d missing, %d found twice, %d spurious\n", len(truth), int(spacing), len(res.Sources), missing, dup, spurious)
	N := float64(len(zp))
	for _, c := range []struct {
		name string
		z    []float64
		tmax float64
	}{{"x", zx, 2.58}, {"y", zy, 2.58}, {"peak", zp, math.Sqrt(N / 3969)}} {
		var m, s float64
		for _, v := range c.z {
			m += v
		}
		m /= float64(len(c.z))
		for _, v := range c.z {
			s += (v - m) * (v - m)
		}
		s = math.Sqrt(s / float64(len(c.z)-1))
		t := m / (s / math.Sqrt(float64(len(c.z))))
		pass := math.Abs(t) < c.tmax && s > 0.5 && s < 2
		ok = ok && pass
		fmt.Fprintf(w, "  %-5s mean %+.4f std %.4f t %+.2f (|t| < %.2f, std in (0.5, 2): %v)\n", c.name, m, s, t, c.tmax, pass)
	}
	return ok, nil
}
