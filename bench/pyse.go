package bench

import (
	"bufio"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"time"

	"gotrap/internal/extract"
	"gotrap/kernels"
)

//go:embed pyse_driver.py
var pyseDriver []byte

// PySEConfig chooses what ExtractPySE compares.
type PySEConfig struct {
	// Root is PySE's source tree, the directory holding sourcefinder/
	// (setup_pyse.sh's PYSE_ROOT, e.g. /tmp/pyse).
	Root string
	// Shim is prepended to PYTHONPATH (setup_pyse.sh's PYSE_SHIM: numba
	// 0.56's np.isclose); "" takes Root's sibling pyse_shim when it exists.
	Shim string
	// Python is the interpreter ("" = /usr/bin/python3, Debian's, whose
	// numba, astropy and scipy setup_pyse.sh installs).
	Python  string
	Sizes   []int
	Modes   []kernels.MeasureMode
	Repeats int // timed repetitions per side after one untimed run; medians count
	Seed    uint64
	Dir     string // scratch directory: the FITS files and both sides' outputs
	// Write writes gotrap's outputs of one image into dir, as gotrap
	// extract does (the command passes its own writer: CSV, Parquet, DS9
	// regions), so the gotrap side's time includes them like PySE's
	// includes its CSV and region file.
	Write func(dir string, r *extract.Result) error
}

// PySEResult is one (size, mode) comparison: medians over the repeats.
type PySEResult struct {
	Size                       int
	Mode                       kernels.MeasureMode
	GotrapSources, PySESources int
	GotrapWall, GotrapCPU      time.Duration
	PySEWall, PySECPU          time.Duration
	// Ratio is PySE's wall time over gotrap's: how many times faster
	// gotrap is on this image.
	Ratio float64
}

// pyseJob and pyseAnswer are the driver's protocol (pyse_driver.py).
type pyseJob struct {
	Path    string         `json:"path"`
	Out     string         `json:"out"`
	Mode    string         `json:"mode"`
	Repeats int            `json:"repeats"`
	Image   map[string]any `json:"image"`
}

type pyseAnswer struct {
	Ready   bool      `json:"ready"`
	Python  string    `json:"python"`
	Wall    []float64 `json:"wall"`
	CPU     []float64 `json:"cpu"`
	Sources int       `json:"sources"`
	Error   string    `json:"error"`
}

// pyseImageConf returns PySE's ImgConf fields equal to gotrap's options:
// the same thresholds, background cells, margin, radius, deblending and
// rms filter, and free fits (force_beam off) on one thread.
func pyseImageConf(o extract.Options) map[string]any {
	d := o.Detect
	return map[string]any{
		"detection_thr":   d.DetectionThr,
		"analysis_thr":    d.AnalysisThr,
		"back_size_x":     d.BackSizeX,
		"back_size_y":     d.BackSizeY,
		"margin":          d.Margin,
		"radius":          d.Radius,
		"deblend_nthresh": d.DeblendNThresh,
		"deblend_mincont": d.DeblendMinCont,
		"rms_filter":      d.RMSFilter,
		"force_beam":      o.Measure.ForceBeam,
		"nr_threads":      1,
	}
}

// pyseProc is the running driver.
type pyseProc struct {
	cmd   *exec.Cmd
	in    io.WriteCloser
	out   *bufio.Scanner
	ready time.Duration // launch to the driver's first line (imports)
	py    string
	// stderr keeps the end of PySE's messages (warnings about the
	// synthetic images' missing end time and bandwidth, progress) for the
	// error of a failed job.
	stderr   tailBuffer
	stopOnce sync.Once
}

// tailBuffer keeps the last 4 KiB written to it.
type tailBuffer struct {
	mu sync.Mutex
	b  []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if len(t.b) > 4096 {
		t.b = append(t.b[:0], t.b[len(t.b)-4096:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

func startPySE(cfg PySEConfig) (*pyseProc, error) {
	if _, err := os.Stat(filepath.Join(cfg.Root, "sourcefinder", "image.py")); err != nil {
		return nil, fmt.Errorf("bench: --pyse %s: no PySE source tree there (run ../shared/tools/setup_pyse.sh): %w", cfg.Root, err)
	}
	py := cfg.Python
	if py == "" {
		py = "/usr/bin/python3"
	}
	shim := cfg.Shim
	if shim == "" {
		if s := filepath.Join(filepath.Dir(filepath.Clean(cfg.Root)), "pyse_shim"); dirExists(s) {
			shim = s
		}
	}
	script := filepath.Join(cfg.Dir, "pyse_driver.py")
	if err := os.WriteFile(script, pyseDriver, 0o644); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	pp := cfg.Root
	if shim != "" {
		pp = shim + string(os.PathListSeparator) + pp
	}
	p := &pyseProc{}
	cmd := exec.Command(py, script)
	// One core: numba, OpenMP and BLAS threads off; PySE's fitting pool
	// has one worker (nr_threads 1).
	cmd.Env = append(os.Environ(), "PYTHONPATH="+pp, "NUMBA_NUM_THREADS=1", "OMP_NUM_THREADS=1",
		"OPENBLAS_NUM_THREADS=1", "MKL_NUM_THREADS=1", "PYTHONDONTWRITEBYTECODE=1")
	cmd.Stderr = &p.stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench: starting PySE (%s): %w", py, err)
	}
	p.cmd, p.in, p.out = cmd, in, bufio.NewScanner(outp)
	p.out.Buffer(make([]byte, 1<<16), 1<<24)
	a, err := p.read()
	if err != nil || !a.Ready {
		p.stop()
		return nil, fmt.Errorf("bench: PySE did not start (PYTHONPATH=%s %s): %v\nits stderr ends:\n%s", pp, py, err, p.stderr.String())
	}
	p.ready, p.py = time.Since(t0), a.Python
	return p, nil
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

func (p *pyseProc) read() (pyseAnswer, error) {
	var a pyseAnswer
	if !p.out.Scan() {
		if err := p.out.Err(); err != nil {
			return a, err
		}
		return a, io.ErrUnexpectedEOF
	}
	if err := json.Unmarshal(p.out.Bytes(), &a); err != nil {
		return a, fmt.Errorf("%w: %q", err, p.out.Text())
	}
	if a.Error != "" {
		// The bench stops here: end the driver, so that its stderr is
		// copied in full before it is quoted.
		p.stop()
		return a, fmt.Errorf("%s\nPySE's stderr ends:\n%s", a.Error, p.stderr.String())
	}
	return a, nil
}

func (p *pyseProc) run(job pyseJob) (pyseAnswer, error) {
	b, err := json.Marshal(job)
	if err != nil {
		return pyseAnswer{}, err
	}
	if _, err := p.in.Write(append(b, '\n')); err != nil {
		return pyseAnswer{}, err
	}
	return p.read()
}

// stop ends the driver (stdin closed, then killed after 10 s) and waits
// for it; it may be called again.
func (p *pyseProc) stop() {
	p.stopOnce.Do(p.doStop)
}

func (p *pyseProc) doStop() {
	p.in.Close()
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// cpuTime returns the process's user + system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// ExtractPySE times PySE and gotrap on the same synthetic images (those of
// Extract, written to FITS once per size) in one run, side by side: PySE in
// one Python process (pyse_driver.py), gotrap in this one, each on one
// core (PySE: numba, OpenMP, BLAS and its fitting pool on one thread;
// gotrap: one extraction thread and GOMAXPROCS 1 while it is timed). Per
// image, each side opens and reads the FITS file, extracts and writes its
// outputs (PySE: CSV and region file with its own writers; gotrap: what
// cfg.Write writes). Settings are the same on both sides: gotrap's
// defaults (TraP's thresholds, 50x50 background cells, margin 10) with
// free fits (force_beam off) in gaussian mode, against PySE's Gaussian
// fits; moments mode against PySE's vectorised mode (tweaked moments).
// The two sides take turns per (size, mode), so both see the same load.
func ExtractPySE(w io.Writer, cfg PySEConfig) ([]PySEResult, error) {
	if cfg.Repeats < 1 {
		cfg.Repeats = 1
	}
	if cfg.Write == nil {
		return nil, errors.New("bench: ExtractPySE needs a Write function")
	}
	p, err := startPySE(cfg)
	if err != nil {
		return nil, err
	}
	defer p.stop()
	fmt.Fprintf(w, "gotrap bench extract --pyse %s: PySE (Python %s, started and imported in %.1fs) against gotrap %s, one core each, %d repeats (medians)\n",
		cfg.Root, p.py, p.ready.Seconds(), runtime.Version(), cfg.Repeats)
	fmt.Fprintf(w, "%-6s %-9s | %8s %9s %9s | %8s %9s %9s | %7s %7s\n", "size", "mode",
		"gotrap n", "wall", "cpu", "PySE n", "wall", "cpu", "ratio", "cpu rt")
	var out []PySEResult
	for _, size := range cfg.Sizes {
		path := filepath.Join(cfg.Dir, fmt.Sprintf("bench-%d.fits", size))
		if _, err := MakeField(path, size, cfg.Seed); err != nil {
			return out, err
		}
		for _, mode := range cfg.Modes {
			opt := extract.Default()
			opt.Measure.Mode = mode
			opt.Measure.ForceBeam = false
			opt.Threads = 1
			name := "gaussian"
			if mode == kernels.ModeMoments {
				name = "moments"
			}
			r := PySEResult{Size: size, Mode: mode}
			a, err := p.run(pyseJob{Path: path, Out: filepath.Join(cfg.Dir, "pyse-out"), Mode: name,
				Repeats: cfg.Repeats, Image: pyseImageConf(opt)})
			if err != nil {
				return out, fmt.Errorf("bench: PySE on %s (%s): %w", path, name, err)
			}
			r.PySESources = a.Sources
			r.PySEWall, r.PySECPU = medianSeconds(a.Wall), medianSeconds(a.CPU)
			if err := gotrapSide(&r, path, filepath.Join(cfg.Dir, "gotrap-out"), opt, cfg); err != nil {
				return out, err
			}
			r.Ratio = r.PySEWall.Seconds() / r.GotrapWall.Seconds()
			out = append(out, r)
			ms := func(d time.Duration) float64 { return d.Seconds() * 1e3 }
			fmt.Fprintf(w, "%-6d %-9s | %8d %7.1fms %7.1fms | %8d %7.1fms %7.1fms | %6.1fx %6.1fx\n",
				size, name, r.GotrapSources, ms(r.GotrapWall), ms(r.GotrapCPU), r.PySESources, ms(r.PySEWall), ms(r.PySECPU),
				r.Ratio, r.PySECPU.Seconds()/r.GotrapCPU.Seconds())
		}
		os.Remove(path)
	}
	fmt.Fprintln(w, "per image: open and read the FITS file, extract, write the outputs (gotrap: CSV, Parquet, regions; PySE: CSV, regions);")
	fmt.Fprintln(w, "gaussian: free Gaussian fits on both sides (force_beam off); moments: gotrap's moments against PySE's vectorised mode;")
	fmt.Fprintln(w, "ratio: PySE's median wall time / gotrap's; cpu rt: the same for CPU time (process user+system)")
	return out, nil
}

// gotrapSide times gotrap on one image: a warm worker (as gotrap extract
// and the pipeline reuse theirs), one untimed run, then cfg.Repeats runs of
// read + extract + outputs under GOMAXPROCS 1.
func gotrapSide(r *PySEResult, path, out string, opt extract.Options, cfg PySEConfig) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	wk, err := extract.NewWorker(opt)
	if err != nil {
		return err
	}
	prev := runtime.GOMAXPROCS(1)
	defer runtime.GOMAXPROCS(prev)
	once := func() error {
		res, err := wk.File(path)
		if err != nil {
			return err
		}
		r.GotrapSources = len(res.Sources)
		return cfg.Write(out, res)
	}
	if err := once(); err != nil {
		return err
	}
	walls := make([]time.Duration, 0, cfg.Repeats)
	cpus := make([]time.Duration, 0, cfg.Repeats)
	for range cfg.Repeats {
		t0, c0 := time.Now(), cpuTime()
		if err := once(); err != nil {
			return err
		}
		walls = append(walls, time.Since(t0))
		cpus = append(cpus, cpuTime()-c0)
	}
	r.GotrapWall, r.GotrapCPU = median(walls), median(cpus)
	return nil
}

// medianSeconds is median over durations given in seconds.
func medianSeconds(s []float64) time.Duration {
	if len(s) == 0 {
		return 0
	}
	ds := make([]time.Duration, len(s))
	for i, v := range s {
		ds[i] = time.Duration(v * float64(time.Second))
	}
	return median(ds)
}
