package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"gotrap/internal/rundir"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// PipelineConfig chooses what Pipeline measures.
type PipelineConfig struct {
	Binary string   // the gotrap binary to run (simulate, run, query, report)
	Preset string   // simulation preset: rsm-mini, rsm, tiny
	Seed   uint64   // simulation seed
	Sets   []string // simulation overrides KEY=VALUE (gotrap simulate --set)
	Data   string   // dataset cache root; datasets live in Data/PRESET-seedN[-HASH]
	Out    string   // run directory; "" for a temporary one (removed unless Keep)
	Keep   bool     // keep the run directory

	// Ranks > 0 runs "gotrap run --ranks Ranks" when the binary has the
	// flag, else "--workers Ranks"; MPI runs the ranks under mpirun.
	Ranks   int
	MPI     bool
	Workers int // --workers as well (0: not passed)

	CPUProfile, MemProfile string // passed to gotrap run
	Cold                   bool   // drop the page cache before the run (root)
	Queries                []string
	QueryRepeats           int
	Report                 bool          // time "gotrap report RUN" after the run
	Sample                 time.Duration // /proc sampling interval (default 50 ms)
	Log                    io.Writer     // progress lines (may be nil)
}

// PipelineResult is bench.json: one end-to-end run and the machine it
// ran on. Times are seconds, sizes bytes.
type PipelineResult struct {
	Schema  int       `json:"schema"`
	When    string    `json:"when"`
	Machine Machine   `json:"machine"`
	Dataset Dataset   `json:"dataset"`
	Command []string  `json:"command"`
	Mode    string    `json:"mode"` // ranks, workers or mpirun
	Ranks   int       `json:"ranks"`
	Cache   string    `json:"cache"` // warm or cold
	Wall    float64   `json:"wall_s"`
	User    float64   `json:"user_s"`
	Sys     float64   `json:"sys_s"`
	Stages  []StageRT `json:"stages"` // the manifest's stages, then "other"
	Report  *StageRT  `json:"report,omitempty"`
	Procs   []ProcRSS `json:"procs"`   // peak RSS of the run's processes
	MaxRSS  int64     `json:"max_rss"` // the largest peak RSS of one rank
	IO      IOStats   `json:"io"`
	Parquet []Size    `json:"parquet"`
	Queries []Query   `json:"queries"`
	Derived Derived   `json:"derived"`
	Summary string    `json:"summary"` // gotrap run's stdout
}

// Machine describes where a result was measured.
type Machine struct {
	CPUModel   string     `json:"cpu_model"`
	CPUs       int        `json:"cpus"`
	MemTotal   int64      `json:"mem_total"`
	Kernel     string     `json:"kernel"`
	GoVersion  string     `json:"go_version"` // of the gotrap binary
	Revision   string     `json:"revision"`   // vcs.revision of the binary
	Modified   bool       `json:"modified"`   // vcs.modified of the binary
	GitHead    string     `json:"git_head"`   // git rev-parse HEAD in the working directory
	GitDirty   bool       `json:"git_dirty"`  // tracked files modified there
	LoadBefore [3]float64 `json:"load_before"`
	LoadAfter  [3]float64 `json:"load_after"`
}

// Dataset is the simulated input.
type Dataset struct {
	Preset  string   `json:"preset"`
	Seed    uint64   `json:"seed"`
	Sets    []string `json:"sets,omitempty"`
	Dir     string   `json:"dir"`
	Images  int      `json:"images"`
	Width   int      `json:"width"`
	Height  int      `json:"height"`
	Bytes   int64    `json:"bytes"`
	Reused  bool     `json:"reused"`
	GenWall float64  `json:"gen_wall_s,omitempty"` // not part of the run
}

// StageRT is one stage's wall time (the manifest's) and the CPU time the
// run's processes used between its start and end (sampled from /proc).
type StageRT struct {
	Name  string  `json:"name"`
	Wall  float64 `json:"wall_s"`
	CPU   float64 `json:"cpu_s"`
	Items int     `json:"items"`
	RSS   int64   `json:"rss,omitempty"` // peak RSS sampled during the stage, summed over the run's processes
}

// ProcRSS is one process of the run (the gotrap process, or each rank
// under mpirun) with its peak resident set.
type ProcRSS struct {
	PID     int    `json:"pid"`
	Name    string `json:"name"`
	PeakRSS int64  `json:"peak_rss"`
}

// IOStats are the run's I/O: rchar/wchar (bytes through read and write
// calls, page cache included) and read/write_bytes (storage) from
// /proc/PID/io, and the block counts of getrusage.
type IOStats struct {
	RChar      int64 `json:"rchar"`
	WChar      int64 `json:"wchar"`
	ReadBytes  int64 `json:"read_bytes"`
	WriteBytes int64 `json:"write_bytes"`
	InBlock    int64 `json:"inblock_bytes"`
	OutBlock   int64 `json:"oublock_bytes"`
}

// Size is a file or directory of the run with its size.
type Size struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// Query is a named query's timings (gotrap query RUN NAME, each a fresh
// process: DuckDB start, Parquet scan, output).
type Query struct {
	Name string    `json:"name"`
	Wall []float64 `json:"wall_s"`
	CPU  []float64 `json:"cpu_s"`
	Rows int       `json:"rows"`
}

// Derived are the rates compared with TraP's and PySE's.
type Derived struct {
	Cores             int     `json:"cores"`
	ImagesPerSec      float64 `json:"images_per_s"`
	ImagesPerSecCore  float64 `json:"images_per_s_per_core"`      // images / wall / cores
	MpixPerSecCore    float64 `json:"mpix_per_s_per_core"`        // pixels / wall / cores
	ImagesPerCPUSec   float64 `json:"images_per_cpu_s"`           // images / (user + sys)
	ExtractMpixPerCPU float64 `json:"extract_mpix_per_cpu_s"`     // the timesteps stage only (extraction, association, forced fits)
	ExtractImgPerCPU  float64 `json:"extract_images_per_cpu_s"`   // the timesteps stage only
	VsTraPPerCore     float64 `json:"vs_trap_per_core"`           // ImagesPerSecCore / 0.294
	VsTraPWallScaled  float64 `json:"trap_rsm_equivalent_wall_s"` // wall scaled to 3402 images
}

// TraP's published record on the first LOFAR RSM run (DESIGN.md).
const (
	TraPImages  = 3402
	TraPSeconds = 321
	TraPCores   = 36
)

// DatasetDir returns the cache directory of a preset, seed and overrides.
func DatasetDir(root, preset string, seed uint64, sets []string) string {
	name := fmt.Sprintf("%s-seed%d", preset, seed)
	if len(sets) > 0 {
		h := sha256.Sum256([]byte(strings.Join(sets, "\n")))
		name += "-" + hex.EncodeToString(h[:6])
	}
	return filepath.Join(root, name)
}

// DefaultData is the dataset cache root: $XDG_CACHE_HOME/gotrap (or
// ~/.cache/gotrap).
func DefaultData() string {
	d, err := os.UserCacheDir()
	if err != nil {
		d = os.TempDir()
	}
	return filepath.Join(d, "gotrap", "bench")
}

const readyFile = "bench-ready"

// EnsureDataset simulates the dataset unless the cache holds it complete.
func EnsureDataset(ctx context.Context, cfg PipelineConfig) (Dataset, error) {
	if cfg.Data == "" {
		cfg.Data = DefaultData()
	}
	dir := DatasetDir(cfg.Data, cfg.Preset, cfg.Seed, cfg.Sets)
	ds := Dataset{Preset: cfg.Preset, Seed: cfg.Seed, Sets: cfg.Sets, Dir: dir}
	if _, err := os.Stat(filepath.Join(dir, readyFile)); err == nil {
		ds.Reused = true
	} else {
		if err := os.RemoveAll(dir); err != nil {
			return ds, fmt.Errorf("bench: %w", err)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return ds, fmt.Errorf("bench: %w", err)
		}
		args := []string{"simulate", "--preset", cfg.Preset, "--seed", strconv.FormatUint(cfg.Seed, 10), "--quiet", "--force"}
		for _, s := range cfg.Sets {
			args = append(args, "--set", s)
		}
		args = append(args, dir)
		logf(cfg.Log, "bench: generating %s (not timed): %s %s", dir, cfg.Binary, strings.Join(args, " "))
		t0 := time.Now()
		cmd := exec.CommandContext(ctx, cfg.Binary, args...)
		if out, err := cmd.CombinedOutput(); err != nil {
			return ds, fmt.Errorf("bench: gotrap simulate: %v\n%s", err, out)
		}
		ds.GenWall = time.Since(t0).Seconds()
		if err := os.WriteFile(filepath.Join(dir, readyFile), nil, 0o644); err != nil {
			return ds, fmt.Errorf("bench: %w", err)
		}
	}
	params, err := readParams(filepath.Join(dir, "truth", "params.txt"))
	if err != nil {
		return ds, err
	}
	ds.Width, _ = strconv.Atoi(params["width"])
	ds.Height, _ = strconv.Atoi(params["height"])
	err = filepath.WalkDir(filepath.Join(dir, "images"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".fits") {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		ds.Images++
		ds.Bytes += fi.Size()
		return nil
	})
	if err != nil {
		return ds, fmt.Errorf("bench: %w", err)
	}
	return ds, nil
}

func readParams(path string) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	m := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), "="); ok {
			m[k] = v
		}
	}
	return m, nil
}

// Pipeline generates or reuses the dataset, runs "gotrap run" over it as
// a child process while sampling the process tree in /proc, and then
// times the named queries and the report.
func Pipeline(ctx context.Context, cfg PipelineConfig) (*PipelineResult, error) {
	if cfg.Sample <= 0 {
		cfg.Sample = 50 * time.Millisecond
	}
	if cfg.QueryRepeats <= 0 {
		cfg.QueryRepeats = 3
	}
	if cfg.Data == "" {
		cfg.Data = DefaultData()
	}
	ds, err := EnsureDataset(ctx, cfg)
	if err != nil {
		return nil, err
	}
	res := &PipelineResult{Schema: 1, When: time.Now().UTC().Format(time.RFC3339), Dataset: ds, Ranks: cfg.Ranks}
	res.Machine = machineFacts(cfg.Binary)

	run := cfg.Out
	if run == "" {
		if run, err = os.MkdirTemp("", "gotrap-bench-run-"); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		if !cfg.Keep {
			defer os.RemoveAll(run)
		}
	} else if err := os.RemoveAll(run); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	args := []string{"run", "--quiet", "--out", run}
	res.Mode = "workers"
	if cfg.Ranks > 0 {
		if hasFlag(cfg.Binary, "run", "ranks") {
			res.Mode = "ranks"
			if !cfg.MPI {
				args = append(args, "--ranks", strconv.Itoa(cfg.Ranks))
			}
		} else {
			args = append(args, "--workers", strconv.Itoa(cfg.Ranks))
		}
	}
	if cfg.Workers > 0 {
		args = append(args, "--workers", strconv.Itoa(cfg.Workers))
	}
	if cfg.CPUProfile != "" {
		args = append(args, "--cpuprofile", cfg.CPUProfile)
	}
	if cfg.MemProfile != "" {
		args = append(args, "--memprofile", cfg.MemProfile)
	}
	if strings.HasPrefix(cfg.Preset, "aartfaac") {
		// Snapshots 1 s apart: the default timestep_tolerance (1 s)
		// would put consecutive ones in one timestep (the plan refuses
		// it), so the job sets it to half the cadence, as bench live's.
		job, err := os.CreateTemp("", "gotrap-bench-job-*.toml")
		if err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
		defer os.Remove(job.Name())
		_, werr := job.WriteString(oneSecondCadenceJob)
		if cerr := job.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return nil, fmt.Errorf("bench: %w", werr)
		}
		args = append(args, "-c", job.Name())
	}
	args = append(args, filepath.Join(ds.Dir, "images"))
	name := cfg.Binary
	var env []string
	if cfg.MPI {
		res.Mode = "mpirun"
		n := max(cfg.Ranks, 1)
		args = append([]string{"-np", strconv.Itoa(n), "--bind-to", "none", "--oversubscribe", cfg.Binary}, args...)
		name = "mpirun"
		env = append(os.Environ(), "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1", "OMPI_MCA_mpi_yield_when_idle=1")
	}
	res.Command = append([]string{name}, args...)

	res.Cache = "warm"
	if cfg.Cold {
		if err := dropCaches(); err != nil {
			res.Cache = "warm (drop_caches failed: " + err.Error() + ")"
		} else {
			res.Cache = "cold"
		}
	}
	res.Machine.LoadBefore = loadAvg()
	logf(cfg.Log, "bench: %s", strings.Join(res.Command, " "))
	tr, err := trace(ctx, name, args, env, cfg.Sample)
	res.Machine.LoadAfter = loadAvg()
	if err != nil {
		return nil, fmt.Errorf("bench: gotrap run: %v\n%s", err, tr.stderr)
	}
	res.Summary = tr.stdout
	res.Wall = tr.wall
	res.User, res.Sys = tr.user, tr.sys
	res.MaxRSS = tr.maxRSS
	res.IO = tr.io
	res.Procs = tr.procs

	man, err := rundir.ReadManifest(run)
	if err != nil {
		return nil, err
	}
	var sumWall, sumCPU float64
	for _, s := range man.Stages {
		st := StageRT{Name: s.Name, Wall: s.Seconds, Items: s.Items}
		t0, e0 := time.Parse(time.RFC3339Nano, s.Started)
		t1, e1 := time.Parse(time.RFC3339Nano, s.Finished)
		if e0 == nil && e1 == nil {
			st.CPU = tr.cpuAt(t1) - tr.cpuAt(t0)
			st.RSS = tr.rssIn(t0, t1)
		}
		sumWall += st.Wall
		sumCPU += st.CPU
		res.Stages = append(res.Stages, st)
	}
	res.Stages = append(res.Stages, StageRT{Name: "other", Wall: max(res.Wall-sumWall, 0), CPU: max(res.User+res.Sys-sumCPU, 0)})
	res.Parquet = parquetSizes(run)

	for _, q := range cfg.Queries {
		qr := Query{Name: q}
		for range cfg.QueryRepeats {
			t, err := trace(ctx, cfg.Binary, []string{"query", run, q}, nil, time.Second)
			if err != nil {
				return nil, fmt.Errorf("bench: gotrap query %s: %v\n%s", q, err, t.stderr)
			}
			qr.Wall = append(qr.Wall, t.wall)
			qr.CPU = append(qr.CPU, t.user+t.sys)
			qr.Rows = max(strings.Count(t.stdout, "\n")-1, 0) // CSV with a header
		}
		res.Queries = append(res.Queries, qr)
	}
	if cfg.Report {
		t, err := trace(ctx, cfg.Binary, []string{"report", run}, nil, 100*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("bench: gotrap report: %v\n%s", err, t.stderr)
		}
		res.Report = &StageRT{Name: "report", Wall: t.wall, CPU: t.user + t.sys, RSS: t.maxRSS}
	}
	res.derive()
	return res, nil
}

func (r *PipelineResult) derive() {
	d := &r.Derived
	d.Cores = r.Machine.CPUs
	n := float64(r.Dataset.Images)
	mpix := n * float64(r.Dataset.Width) * float64(r.Dataset.Height) / 1e6
	if r.Wall > 0 {
		d.ImagesPerSec = n / r.Wall
		d.ImagesPerSecCore = d.ImagesPerSec / float64(d.Cores)
		d.MpixPerSecCore = mpix / r.Wall / float64(d.Cores)
		d.VsTraPPerCore = d.ImagesPerSecCore / (TraPImages / float64(TraPSeconds) / TraPCores)
		d.VsTraPWallScaled = r.Wall * TraPImages / n
	}
	if cpu := r.User + r.Sys; cpu > 0 {
		d.ImagesPerCPUSec = n / cpu
	}
	for _, s := range r.Stages {
		if s.Name == "timesteps" && s.CPU > 0 {
			d.ExtractMpixPerCPU = float64(s.Items) * float64(r.Dataset.Width) * float64(r.Dataset.Height) / 1e6 / s.CPU
			d.ExtractImgPerCPU = float64(s.Items) / s.CPU
		}
	}
}

// WriteJSON writes r to path, indented.
func (r *PipelineResult) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// ReadJSON reads a bench.json.
func ReadJSON(path string) (*PipelineResult, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	var r PipelineResult
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("bench: %s: %w", path, err)
	}
	return &r, nil
}

// parquetSizes lists the run's Parquet files and directories by size.
func parquetSizes(run string) []Size {
	ents, _ := os.ReadDir(run)
	var out []Size
	for _, e := range ents {
		var n int64
		p := filepath.Join(run, e.Name())
		filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(q, ".parquet") {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		if n > 0 {
			out = append(out, Size{Name: e.Name(), Bytes: n})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out
}

// hasFlag reports whether "BIN CMD --help" lists -FLAG.
func hasFlag(bin, cmd, flag string) bool {
	out, _ := exec.Command(bin, cmd, "--help").CombinedOutput()
	return bytes.Contains(out, []byte("  -"+flag+" ")) || bytes.Contains(out, []byte("  -"+flag+"\n"))
}

func logf(w io.Writer, format string, a ...any) {
	if w != nil {
		fmt.Fprintf(w, format+"\n", a...)
	}
}

// traceResult is a child process's measurements.
type traceResult struct {
	stdout, stderr string
	wall           float64
	user, sys      float64
	maxRSS         int64
	io             IOStats
	procs          []ProcRSS
	samples        []sample
}

type sample struct {
	t   time.Time
	cpu float64 // seconds, summed over the tree
	rss int64   // summed current RSS over the tree
}

// cpuAt interpolates the sampled CPU time at t.
func (tr *traceResult) cpuAt(t time.Time) float64 {
	s := tr.samples
	if len(s) == 0 {
		return 0
	}
	i := sort.Search(len(s), func(i int) bool { return !s[i].t.Before(t) })
	switch {
	case i == 0:
		return s[0].cpu
	case i == len(s):
		return s[len(s)-1].cpu
	}
	a, b := s[i-1], s[i]
	f := float64(t.Sub(a.t)) / float64(b.t.Sub(a.t))
	return a.cpu + f*(b.cpu-a.cpu)
}

// rssIn is the largest sampled RSS between t0 and t1.
func (tr *traceResult) rssIn(t0, t1 time.Time) int64 {
	var m int64
	for _, s := range tr.samples {
		if !s.t.Before(t0) && !s.t.After(t1) {
			m = max(m, s.rss)
		}
	}
	return m
}

type procStat struct {
	name           string
	cpu            float64
	rss, hwm       int64
	io             IOStats
	lastSeen, dead bool
}

// trace runs name with args, sampling its process tree every interval.
func trace(ctx context.Context, name string, args, env []string, every time.Duration) (*traceResult, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	return traceCmd(cmd, every)
}

// traceCmd runs cmd (not started; its Stdout and Stderr are set here),
// sampling its process tree every interval until it exits.
func traceCmd(cmd *exec.Cmd, every time.Duration) (*traceResult, error) {
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	tr := &traceResult{}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return tr, err
	}
	root := cmd.Process.Pid
	procs := map[int]*procStat{}
	poll := func() {
		now := time.Now()
		var cpu float64
		var rss int64
		pids, parent := tree(root)
		for _, pid := range pids {
			p := procs[pid]
			if p == nil {
				p = &procStat{}
				procs[pid] = p
			}
			readProc(pid, p)
		}
		// CPU: every process seen, the vanished ones' last counts
		// included; RSS: the processes alive now, without a child that
		// bears its parent's name: a fork not yet exec'd (os/exec's
		// vfork), which shares its parent's memory (an exec action of a
		// live run's rules).
		for _, p := range procs {
			cpu += p.cpu
		}
		for _, pid := range pids {
			if pp, ok := parent[pid]; ok && procs[pp] != nil && procs[pp].name == procs[pid].name {
				continue
			}
			rss += procs[pid].rss
		}
		tr.samples = append(tr.samples, sample{t: now, cpu: cpu, rss: rss})
	}
	exited := make(chan error, 1)
	go func() { exited <- waitNoReap(root) }()
	tick := time.NewTicker(every)
	defer tick.Stop()
	poll()
loop:
	for {
		select {
		case <-tick.C:
			poll()
		case <-exited:
			break loop
		}
	}
	// The root has exited but is not reaped: its /proc entry still holds
	// its final counters.
	poll()
	err := cmd.Wait()
	tr.wall = time.Since(t0).Seconds()
	tr.stdout, tr.stderr = out.String(), errb.String()
	if ps := cmd.ProcessState; ps != nil {
		tr.user, tr.sys = ps.UserTime().Seconds(), ps.SystemTime().Seconds()
		if ru, ok := ps.SysUsage().(*syscall.Rusage); ok {
			tr.maxRSS = ru.Maxrss * 1024
			tr.io.InBlock, tr.io.OutBlock = ru.Inblock*512, ru.Oublock*512
		}
	}
	// The root's final /proc/PID/io includes the I/O of the children it
	// reaped (the ranks under mpirun), and getrusage's maxrss is the
	// largest of the root and its descendants: with descendants, each
	// process's peak is its own VmHWM as last sampled.
	if r := procs[root]; r != nil {
		tr.io.RChar, tr.io.WChar = r.io.RChar, r.io.WChar
		tr.io.ReadBytes, tr.io.WriteBytes = r.io.ReadBytes, r.io.WriteBytes
	}
	for pid, p := range procs {
		hwm := p.hwm
		if pid == root && (len(procs) == 1 || hwm == 0) {
			hwm = max(hwm, tr.maxRSS)
		}
		tr.procs = append(tr.procs, ProcRSS{PID: pid, Name: p.name, PeakRSS: hwm})
	}
	slices.SortFunc(tr.procs, func(a, b ProcRSS) int { return a.PID - b.PID })
	if len(procs) > 1 {
		// The largest process's peak: a rank under mpirun, or the root
		// itself when its children are small (a watch's exec actions).
		tr.maxRSS = 0
		for _, p := range tr.procs {
			tr.maxRSS = max(tr.maxRSS, p.PeakRSS)
		}
	}
	// getrusage counts the root and its reaped descendants: the exact
	// totals; the samples only apportion them among stages.
	if n := len(tr.samples); n > 0 && tr.samples[n-1].cpu > 0 {
		f := (tr.user + tr.sys) / tr.samples[n-1].cpu
		if f > 0.8 && f < 1.25 {
			for i := range tr.samples {
				tr.samples[i].cpu *= f
			}
		}
	}
	return tr, err
}

// waitNoReap blocks until pid exits, leaving it a zombie (waitid with
// WNOWAIT), so that /proc/PID still holds its final counters.
func waitNoReap(pid int) error {
	const pPID, wEXITED, wNOWAIT = 1, 4, 0x1000000
	var info [128]byte
	for {
		_, _, e := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid), uintptr(unsafe.Pointer(&info[0])), wEXITED|wNOWAIT, 0, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

// tree lists root and its descendants (from /proc/PID/task/*/children),
// and each descendant's parent.
func tree(root int) ([]int, map[int]int) {
	out := []int{root}
	parent := map[int]int{}
	for i := 0; i < len(out); i++ {
		tasks, _ := os.ReadDir(fmt.Sprintf("/proc/%d/task", out[i]))
		for _, t := range tasks {
			b, err := os.ReadFile(fmt.Sprintf("/proc/%d/task/%s/children", out[i], t.Name()))
			if err != nil {
				continue
			}
			for _, f := range strings.Fields(string(b)) {
				if c, err := strconv.Atoi(f); err == nil && !slices.Contains(out, c) {
					out = append(out, c)
					parent[c] = out[i]
				}
			}
		}
	}
	return out, parent
}

// readProc updates p from /proc/PID/{stat,status,io}; a vanished process
// keeps its last values.
func readProc(pid int, p *procStat) {
	const hz = 100 // USER_HZ
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		s := string(b)
		if i, j := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')'); i >= 0 && j > i {
			p.name = s[i+1 : j]
			f := strings.Fields(s[j+1:])
			// f[0] is field 3 (state); utime and stime are fields 14, 15.
			if len(f) > 13 {
				u, _ := strconv.ParseFloat(f[11], 64)
				st, _ := strconv.ParseFloat(f[12], 64)
				if c := (u + st) / hz; c >= p.cpu {
					p.cpu = c
				}
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		sc := bufio.NewScanner(bytes.NewReader(b))
		var rss int64 = -1
		for sc.Scan() {
			k, v, _ := strings.Cut(sc.Text(), ":")
			switch k {
			case "VmHWM":
				p.hwm = max(p.hwm, kB(v))
			case "VmRSS":
				rss = kB(v)
			}
		}
		if rss >= 0 {
			p.rss = rss
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/io", pid)); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			k, v, _ := strings.Cut(line, ":")
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			switch k {
			case "rchar":
				p.io.RChar = max(p.io.RChar, n)
			case "wchar":
				p.io.WChar = max(p.io.WChar, n)
			case "read_bytes":
				p.io.ReadBytes = max(p.io.ReadBytes, n)
			case "write_bytes":
				p.io.WriteBytes = max(p.io.WriteBytes, n)
			}
		}
	}
}

func kB(v string) int64 {
	f := strings.Fields(v)
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.ParseInt(f[0], 10, 64)
	return n * 1024
}

func loadAvg() [3]float64 {
	var l [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return l
	}
	f := strings.Fields(string(b))
	for i := 0; i < 3 && i < len(f); i++ {
		l[i], _ = strconv.ParseFloat(f[i], 64)
	}
	return l
}

// dropCaches empties the page cache (needs root).
func dropCaches() error {
	syscall.Sync()
	return os.WriteFile("/proc/sys/vm/drop_caches", []byte("3\n"), 0o200)
}

// machineFacts describes this machine and the binary.
func machineFacts(bin string) Machine {
	m := Machine{CPUs: runtime.NumCPU()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && k == "MemTotal" {
				m.MemTotal = kB(v)
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if bi, err := buildinfo.ReadFile(bin); err == nil {
		m.GoVersion = bi.GoVersion
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				m.Revision = s.Value
			case "vcs.modified":
				m.Modified = s.Value == "true"
			}
		}
	} else {
		m.GoVersion = runtime.Version()
	}
	if out, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil {
		m.GitHead = strings.TrimSpace(string(out))
		out, err = exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output()
		m.GitDirty = err == nil && len(bytes.TrimSpace(out)) > 0
	}
	return m
}

// oneSecondCadenceJob is the job of the presets with snapshots 1 s apart
// (aartfaac, aartfaac-mini).
const oneSecondCadenceJob = "# gotrap bench: snapshots 1 s apart\n[pipeline]\ntimestep_tolerance = 0.5\n"
