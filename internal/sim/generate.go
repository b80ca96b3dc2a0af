package sim

import (
	"context"
	"fmt"
	"image"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/kernels"
)

// Options control how Generate runs; they never change its output.
type Options struct {
	// Workers is the number of images made at once (GOMAXPROCS when <= 0).
	// Memory grows by about 5 image planes per worker.
	Workers int
	// Progress, when not nil, receives a line every ProgressEvery and one
	// at the end.
	Progress      io.Writer
	ProgressEvery time.Duration // 2 s when 0
}

// Summary describes a generated data set.
type Summary struct {
	Images      int           // FITS files written
	Bad         int           // of which deliberately bad
	Sources     int           // rows of sources.csv
	FluxRows    int           // rows of fluxes.csv
	ImageBytes  int64         // total size of the FITS files
	Elapsed     time.Duration // wall time of Generate
	Workers     int
	ImageWidth  int
	ImageHeight int
}

// Generate writes the data set described by cfg into dir: FITS images in
// dir/images and truth tables in dir/truth (see the package
// documentation). Every file is written under a temporary name and renamed
// when complete. The output depends on cfg only, not on opt. Cancelling
// ctx stops the work and returns its error.
func Generate(ctx context.Context, cfg Config, dir string, opt Options) (*Summary, error) {
	start := time.Now()
	var user []Source
	if cfg.SourcesFile != "" {
		f, err := os.Open(cfg.SourcesFile)
		if err != nil {
			return nil, fmt.Errorf("sim: user sources: %w", err)
		}
		user, err = ReadSources(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%w (in %s)", err, cfg.SourcesFile)
		}
	}
	p, err := newPlan(&cfg, user)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "images"), 0o755); err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	workers = min(workers, len(p.images))

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	var (
		done  atomic.Int64
		bytes atomic.Int64
		wg    sync.WaitGroup
	)
	jobs := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w, err := newWorker(p)
			if err != nil {
				cancel(err)
				return
			}
			for i := range jobs {
				if ctx.Err() != nil {
					continue // drain
				}
				n, err := w.make(dir, &p.images[i])
				if err != nil {
					cancel(err)
					continue
				}
				bytes.Add(n)
				done.Add(1)
			}
		}()
	}
	go func() {
		defer close(jobs)
		for i := range p.images {
			select {
			case jobs <- i:
			case <-ctx.Done():
				return
			}
		}
	}()

	// The truth tables are written meanwhile, in order, by this goroutine.
	if err := p.writeTruth(dir); err != nil {
		cancel(err)
	}

	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	every := opt.ProgressEvery
	if every <= 0 {
		every = 2 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	report := func() {
		if opt.Progress == nil {
			return
		}
		el := time.Since(start).Seconds()
		n, b := done.Load(), bytes.Load()
		fmt.Fprintf(opt.Progress, "simulate: %d/%d images, %.1f images/s, %.1f MB/s\n",
			n, len(p.images), float64(n)/el, float64(b)/1e6/el)
	}
wait:
	for {
		select {
		case <-finished:
			break wait
		case <-tick.C:
			report()
		}
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	report()
	s := &Summary{
		Images: len(p.images), Sources: len(p.sky), ImageBytes: bytes.Load(),
		Elapsed: time.Since(start), Workers: workers, ImageWidth: cfg.Width, ImageHeight: cfg.Height,
	}
	for i := range p.images {
		if p.images[i].bad != "" {
			s.Bad++
		}
		for _, pl := range p.fields[p.images[i].beam].placed {
			if pl.inside {
				s.FluxRows++
			}
		}
	}
	return s, nil
}

// worker makes images one at a time with its own buffers.
type worker struct {
	p   *plan
	gen *noiseGen
	img *kernels.Image
	box [][2]int  // paint box half-sizes per band
	gx  []float64 // paintGaussian scratch
}

func newWorker(p *plan) (*worker, error) {
	img, err := kernels.NewImage(imageRect(p.cfg.Width, p.cfg.Height))
	if err != nil {
		return nil, fmt.Errorf("sim: %w", err)
	}
	w := &worker{p: p, gen: newNoiseGen(p.grid), img: img}
	for b := range p.beams {
		hx, hy := paintBox(&p.beams[b])
		w.box = append(w.box, [2]int{hx, hy})
	}
	return w, nil
}

// render fills w.img with image im: noise, sources, the realistic
// options' residuals and artefacts, primary-beam correction, defects.
func (w *worker) render(im *imageSpec) {
	p := w.p
	c := &p.cfg
	stream := streamImage + uint64(im.index)
	if c.stokesV() {
		stream += streamStokesV
	}
	rng := rand.New(rand.NewPCG(c.Seed, stream))
	w.gen.fill(w.img, p.filters[im.band], im.rms/c.RmsJy[im.band], rng)
	box := w.box[im.band]
	var (
		arng *rand.Rand
		rot  *scaledPSF
	)
	for _, pl := range p.fields[im.beam].placed {
		s := &p.sky[pl.src]
		t := p.truthOf(im, s, pl.sep)
		if s.Maj > 0 {
			bm, _ := p.sourceBeam(s, im.band)
			hx, hy := paintBox(&bm)
			w.gx = paintGaussian(w.img, pl.x, pl.y, t.appPeak, &bm, hx, hy, w.gx)
		} else {
			w.gx = paintGaussian(w.img, pl.x, pl.y, t.appPeak, &p.beams[im.band], box[0], box[1], w.gx)
		}
		if !t.bright {
			continue
		}
		if arng == nil {
			arng = p.artefactRNG(im)
			alpha := 2 * math.Pi * arng.Float64()
			if p.psf != nil {
				rot = p.psf[im.band].rotated(alpha)
			}
		}
		psi, phi0 := 2*math.Pi*arng.Float64(), 2*math.Pi*arng.Float64()
		w.paintBright(im, pl.x, pl.y, t.appPeak, rot, psi, phi0)
	}
	if c.PBCorrected {
		applyPB(w.img, p.pbInv[im.band])
	}
	if !im.nanRect.Empty() {
		nan := float32(math.NaN())
		for y := im.nanRect.Min.Y; y < im.nanRect.Max.Y; y++ {
			row := w.img.Row(y)[im.nanRect.Min.X:im.nanRect.Max.X]
			for i := range row {
				row[i] = nan
			}
		}
	}
}

// make renders image im and writes it; it returns the file's size.
func (w *worker) make(dir string, im *imageSpec) (int64, error) {
	w.render(im)
	path := filepath.Join(dir, filepath.FromSlash(im.rel))
	if err := fitsimg.WriteFileOptions(path, w.img, w.p.header(im), fitsimg.WriteOptions{Naxis: 4}); err != nil {
		return 0, fmt.Errorf("sim: image %d: %w", im.index, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0, fmt.Errorf("sim: %w", err)
	}
	return st.Size(), nil
}

func imageRect(w, h int) image.Rectangle { return image.Rect(0, 0, w, h) }
