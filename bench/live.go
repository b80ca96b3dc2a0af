package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gotrap/internal/watch"
)

// A Commit is a line of RUN/logs/commits.jsonl (watch.Commit, the
// engine's contract with this benchmark).
type Commit = watch.Commit

// Percentiles of a sample of latencies, seconds (nearest rank).
type Percentiles struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50_s"`
	P95 float64 `json:"p95_s"`
	Max float64 `json:"max_s"`
}

// percentiles returns the nearest-rank percentiles of x (sorted here).
func percentiles(x []float64) Percentiles {
	p := Percentiles{N: len(x)}
	if len(x) == 0 {
		return p
	}
	slices.Sort(x)
	rank := func(q float64) float64 { return x[max(int(math.Ceil(q*float64(len(x))))-1, 0)] }
	p.P50, p.P95, p.Max = rank(0.50), rank(0.95), x[len(x)-1]
	return p
}

// Latency compares replayed timesteps with their commits.
type Latency struct {
	// Commit: from a timestep's last image landing to its commit;
	// VOEvent: to its VOEvent files (timesteps that had some).
	Commit  Percentiles `json:"commit"`
	VOEvent Percentiles `json:"voevent"`
	// Matched timesteps were replayed and committed (by start time);
	// Uncommitted were replayed and not committed; Images counts the
	// images of the matched commits. First and Last are the earliest
	// landing and the last commit of the matched timesteps.
	Matched     int       `json:"matched"`
	Uncommitted int       `json:"uncommitted"`
	Images      int       `json:"images"`
	First       time.Time `json:"first_landed"`
	Last        time.Time `json:"last_commit"`
}

// startKey matches a commit with a replayed timestep: start times to the
// millisecond (both come from DATE-OBS).
func startKey(t time.Time) int64 { return t.UnixMilli() }

// Latencies matches commits to steps by start time (the first commit of
// a start counts) and returns the latency percentiles.
func Latencies(steps []ReplayTimestep, commits []Commit) Latency {
	byStart := map[int64]Commit{}
	for _, c := range commits {
		if _, dup := byStart[startKey(c.Start)]; !dup {
			byStart[startKey(c.Start)] = c
		}
	}
	var l Latency
	var commit, vo []float64
	for _, s := range steps {
		c, ok := byStart[startKey(s.Start)]
		if !ok || s.Landed.IsZero() {
			l.Uncommitted++
			continue
		}
		l.Matched++
		l.Images += c.Images
		if l.First.IsZero() || s.Landed.Before(l.First) {
			l.First = s.Landed
		}
		ct := time.Unix(0, c.Committed)
		if ct.After(l.Last) {
			l.Last = ct
		}
		commit = append(commit, ct.Sub(s.Landed).Seconds())
		if c.VOEvents > 0 {
			vo = append(vo, time.Unix(0, c.VOEvents).Sub(s.Landed).Seconds())
		}
	}
	l.Commit, l.VOEvent = percentiles(commit), percentiles(vo)
	return l
}

// LiveConfig chooses what Live measures.
type LiveConfig struct {
	Binary string   // gotrap binary (simulate, watch)
	Preset string   // aartfaac, aartfaac-mini, rsm-mini, ...
	Seed   uint64   // simulation seed
	Sets   []string // simulation overrides
	Data   string   // dataset cache root (as Pipeline's)
	Out    string   // run directory; "" for a temporary one (removed unless Keep)
	Keep   bool

	Rate       float64       // images/s offered
	Duration   time.Duration // replay this long, looping the stack (0: the stack once)
	Ranks      int           // gotrap watch --ranks N (when the command has it; 0: not passed)
	Poll       bool          // gotrap watch --poll
	CPUProfile string        // gotrap watch --cpuprofile
	MemProfile string        // gotrap watch --memprofile
	// Config is the job TOML passed with -c; "" writes one with
	// timestep_tolerance = 0.5 (1 s cadences) and [watch] settle = 0.5,
	// timeout = 5 (defaultLiveJob).
	Config    string
	SlowEvery int           // every N-th image written slowly in place (0: none)
	Prune     bool          // remove a timestep's images once it is committed (long soaks)
	Drain     time.Duration // wait this long at most for the last commits (default 60 s)
	Sample    time.Duration // /proc sampling (default 1 s)
	Probe     time.Duration // run directory sizes (default 10 s)
	Log       io.Writer
}

// LivePoint is a sample of a live run over time.
type LivePoint struct {
	T              float64 `json:"t_s"` // since the replay started
	RSS            int64   `json:"rss"` // of gotrap watch and its children
	Committed      int     `json:"committed"`
	WorkBytes      int64   `json:"work_bytes"`      // RUN/work
	CatalogueBytes int64   `json:"catalogue_bytes"` // Parquet files of RUN outside work/
	// From RUN/status.json at the probe (the watch's own figures, rank 0's
	// under MPI): what the Go runtime holds and the live Go heap.
	GoResident int64 `json:"go_resident_bytes,omitempty"`
	GoHeapLive int64 `json:"go_heap_live_bytes,omitempty"`
	DuckDB     int64 `json:"duckdb_bytes,omitempty"`
	Malloc     int64 `json:"malloc_bytes,omitempty"`
}

// LiveResult is bench-live.json.
type LiveResult struct {
	Schema  int      `json:"schema"`
	When    string   `json:"when"`
	Machine Machine  `json:"machine"`
	Dataset Dataset  `json:"dataset"`
	Command []string `json:"command"`

	Rate           float64 `json:"rate_images_per_s"` // offered (asked)
	Replayed       int     `json:"timesteps_replayed"`
	ImagesReplayed int     `json:"images_replayed"`
	ReplayWall     float64 `json:"replay_wall_s"`
	OfferedRate    float64 `json:"offered_images_per_s"` // images written / replay wall
	// SustainedRate is the images committed per second, from the first
	// landing to the last commit of the matched timesteps.
	SustainedRate float64 `json:"sustained_images_per_s"`
	Latency       Latency `json:"latency"`

	Exit      string      `json:"exit"` // gotrap watch's exit after SIGTERM
	PeakRSS   int64       `json:"peak_rss"`
	Points    []LivePoint `json:"points"`
	WorkBytes int64       `json:"work_bytes"`
	Catalogue int64       `json:"catalogue_bytes"`
	// Per committed timestep, at the end (after the watch's end, which
	// unpacks RUN/work's packs: docs/live.md).
	WorkPerTimestep      float64 `json:"work_bytes_per_timestep"`
	CataloguePerTimestep float64 `json:"catalogue_bytes_per_timestep"`
	// Growth per committed timestep while the watch ran: from the first
	// sample with a tenth of the commits to the last (LiveSlopes).
	WorkGrowth      float64 `json:"work_bytes_per_timestep_live"`
	CatalogueGrowth float64 `json:"catalogue_bytes_per_timestep_live"`
	Stderr          string  `json:"stderr_tail"`
}

// LiveSlopes returns how fast RUN/work and the catalogue grew per
// committed timestep over points (sampled while the watch ran): from the
// first point with a tenth of the last point's commits (past the
// start-up) to the last point; zeros when fewer than two points qualify.
func LiveSlopes(points []LivePoint) (work, catalogue float64) {
	if len(points) < 2 {
		return 0, 0
	}
	last := points[len(points)-1]
	for _, p := range points {
		if p.Committed*10 >= last.Committed && p.Committed < last.Committed {
			d := float64(last.Committed - p.Committed)
			return float64(last.WorkBytes-p.WorkBytes) / d, float64(last.CatalogueBytes-p.CatalogueBytes) / d
		}
	}
	return 0, 0
}

// defaultLiveJob is the job written when LiveConfig.Config is "": the
// simulated AARTFAAC timesteps are 1 s apart (docs/live.md), the
// replay's slow writes pause well under half a second, and a timestep's
// images land together, so 5 s without one closes it (within the drain).
const defaultLiveJob = "# gotrap bench live\n[pipeline]\ntimestep_tolerance = 0.5\n\n[watch]\nsettle = 0.5\npoll_interval = 0.25\ntimeout = 5.0\n"

// Live replays a simulated stack into a directory followed by "gotrap
// watch" (a child process, sampled in /proc), then stops it with SIGTERM
// and reports rates, latencies, memory and sizes.
func Live(ctx context.Context, cfg LiveConfig) (*LiveResult, error) {
	if cfg.Sample <= 0 {
		cfg.Sample = time.Second
	}
	if cfg.Probe <= 0 {
		cfg.Probe = 10 * time.Second
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 60 * time.Second
	}
	ds, err := EnsureDataset(ctx, PipelineConfig{Binary: cfg.Binary, Preset: cfg.Preset, Seed: cfg.Seed, Sets: cfg.Sets, Data: cfg.Data, Log: cfg.Log})
	if err != nil {
		return nil, err
	}
	res := &LiveResult{Schema: 1, When: time.Now().UTC().Format(time.RFC3339), Dataset: ds, Rate: cfg.Rate}
	res.Machine = machineFacts(cfg.Binary)

	tmp, err := os.MkdirTemp("", "gotrap-bench-live-")
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	defer os.RemoveAll(tmp)
	watched := filepath.Join(tmp, "incoming")
	if err := os.Mkdir(watched, 0o755); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	run := cfg.Out
	if run == "" {
		run = filepath.Join(tmp, "run")
		if cfg.Keep {
			if run, err = os.MkdirTemp("", "gotrap-bench-live-run-"); err != nil {
				return nil, fmt.Errorf("bench: %w", err)
			}
		}
	} else if err := os.RemoveAll(run); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	job := cfg.Config
	if job == "" {
		job = filepath.Join(tmp, "live.toml")
		if err := os.WriteFile(job, []byte(defaultLiveJob), 0o644); err != nil {
			return nil, fmt.Errorf("bench: %w", err)
		}
	}
	args := []string{"watch", "--out", run, "-c", job}
	if cfg.Ranks > 0 && hasFlag(cfg.Binary, "watch", "ranks") {
		args = append(args, "--ranks", strconv.Itoa(cfg.Ranks))
	}
	if cfg.CPUProfile != "" {
		args = append(args, "--cpuprofile", cfg.CPUProfile)
	}
	if cfg.MemProfile != "" {
		args = append(args, "--memprofile", cfg.MemProfile)
	}
	if cfg.Poll {
		args = append(args, "--poll")
	}
	args = append(args, watched)
	res.Command = append([]string{cfg.Binary}, args...)

	// The child stops on SIGTERM when childCtx ends.
	childCtx, stopChild := context.WithCancel(ctx)
	defer stopChild()
	cmd := exec.CommandContext(childCtx, cfg.Binary, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	// After SIGTERM the watch ends the run as a batch run does (tables,
	// backward fits, limits, varmetric over every timestep): minutes
	// after a long soak (a 30-minute aartfaac soak's end took more than
	// the 2 minutes allowed before). Killed only past this.
	cmd.WaitDelay = 15 * time.Minute
	res.Machine.LoadBefore = loadAvg()
	logf(cfg.Log, "bench: %s", strings.Join(res.Command, " "))
	type traced struct {
		tr  *traceResult
		err error
	}
	done := make(chan traced, 1)
	go func() {
		tr, err := traceCmd(cmd, cfg.Sample)
		done <- traced{tr, err}
	}()
	// Ready when the run directory shows status.json, or after 5 s.
	ready := time.Now().Add(5 * time.Second)
	for time.Now().Before(ready) {
		if _, err := os.Stat(filepath.Join(run, "status.json")); err == nil {
			break
		}
		select {
		case t := <-done:
			return nil, fmt.Errorf("bench: gotrap watch ended before the replay: %v\n%s", t.err, t.tr.stderr)
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Probes of the run directory, and pruning of committed timesteps.
	var (
		mu     sync.Mutex
		points []LivePoint
		landed = map[int64][]string{} // start -> images, until pruned
	)
	t0 := time.Now()
	probeCtx, stopProbe := context.WithCancel(ctx)
	probeDone := make(chan struct{})
	go func() {
		defer close(probeDone)
		tick := time.NewTicker(min(cfg.Probe, time.Second))
		defer tick.Stop()
		next := time.Now()
		for {
			select {
			case <-probeCtx.Done():
				return
			case now := <-tick.C:
				commits, _ := watch.ReadCommitsFile(run)
				if cfg.Prune {
					mu.Lock()
					for _, c := range commits {
						for _, p := range landed[startKey(c.Start)] {
							os.Remove(p)
						}
						delete(landed, startKey(c.Start))
					}
					mu.Unlock()
				}
				if now.Before(next) {
					continue
				}
				next = now.Add(cfg.Probe)
				w, c := runSizes(run)
				p := LivePoint{T: now.Sub(t0).Seconds(), Committed: len(commits), WorkBytes: w, CatalogueBytes: c}
				if st, err := watch.ReadStatus(run); err == nil && st.Memory != nil {
					m := st.Memory
					p.GoResident, p.GoHeapLive, p.DuckDB, p.Malloc = m.GoResident, m.GoHeapLive, m.DuckDB, m.Malloc
				}
				mu.Lock()
				points = append(points, p)
				mu.Unlock()
			}
		}
	}()
	// A watch that ends during the replay (a crash) stops it: the
	// images would only pile up, and its stderr says why.
	replayCtx, stopReplay := context.WithCancel(ctx)
	defer stopReplay()
	childEnded := make(chan struct{})
	go func() {
		t := <-done
		done <- t
		close(childEnded)
		stopReplay()
	}()
	steps, rerr := Replay(replayCtx, ReplayConfig{
		Src: ds.Dir, Dst: watched, Rate: cfg.Rate, Duration: cfg.Duration,
		SlowEvery: cfg.SlowEvery, SlowChunks: 4, SlowPause: 50 * time.Millisecond,
		Landed: func(s ReplayTimestep) {
			if cfg.Prune {
				mu.Lock()
				landed[startKey(s.Start)] = s.Images
				mu.Unlock()
			}
		},
	})
	select {
	case <-childEnded:
		if ctx.Err() == nil {
			stopProbe()
			<-probeDone
			t := <-done
			return nil, fmt.Errorf("bench: gotrap watch ended during the replay, after %d timesteps replayed (%v); its stderr ends:\n%s", len(steps), t.err, tail(t.tr.stderr, 4000))
		}
	default:
	}
	res.ReplayWall = time.Since(t0).Seconds()
	res.Replayed = len(steps)
	for _, s := range steps {
		res.ImagesReplayed += len(s.Images)
	}
	if res.ReplayWall > 0 {
		res.OfferedRate = float64(res.ImagesReplayed) / res.ReplayWall
	}
	logf(cfg.Log, "bench: replayed %d timesteps (%d images) in %.1f s; waiting for the last commits", res.Replayed, res.ImagesReplayed, res.ReplayWall)
	// Drain: wait until every replayed timestep is committed, or Drain.
	deadline := time.Now().Add(cfg.Drain)
	for rerr == nil && time.Now().Before(deadline) {
		commits, _ := watch.ReadCommitsFile(run)
		if Latencies(steps, commits).Uncommitted == 0 {
			break
		}
		select {
		case t := <-done:
			done <- t
			deadline = time.Now()
		case <-time.After(200 * time.Millisecond):
		}
	}
	stopProbe()
	<-probeDone
	stopChild() // SIGTERM
	t := <-done
	res.Machine.LoadAfter = loadAvg()
	// Wait reports the context's error even when the child exited 0 on
	// SIGTERM: the process state says how it ended.
	switch ps := cmd.ProcessState; {
	case ps == nil && t.err != nil:
		res.Exit = t.err.Error()
	case ps == nil:
		res.Exit = "unknown"
	case ps.Exited():
		res.Exit = strconv.Itoa(ps.ExitCode())
	default:
		res.Exit = ps.String()
	}
	res.Stderr = tail(t.tr.stderr, 4000)
	res.PeakRSS = t.tr.maxRSS
	commits, err := watch.ReadCommitsFile(run)
	if err != nil {
		return res, err
	}
	res.Latency = Latencies(steps, commits)
	if d := res.Latency.Last.Sub(res.Latency.First).Seconds(); d > 0 {
		res.SustainedRate = float64(res.Latency.Images) / d
	}
	res.WorkBytes, res.Catalogue = runSizes(run)
	if n := len(commits); n > 0 {
		res.WorkPerTimestep = float64(res.WorkBytes) / float64(n)
		res.CataloguePerTimestep = float64(res.Catalogue) / float64(n)
	}
	res.WorkGrowth, res.CatalogueGrowth = LiveSlopes(points)
	// RSS at each probe: the last /proc sample at or before it.
	for i := range points {
		at := t0.Add(time.Duration(points[i].T * float64(time.Second)))
		for _, s := range t.tr.samples {
			if s.t.After(at) {
				break
			}
			points[i].RSS = s.rss
		}
	}
	res.Points = points
	if rerr != nil {
		return res, rerr
	}
	return res, nil
}

// runSizes returns the bytes of RUN/work and of the Parquet files of RUN
// outside it.
func runSizes(run string) (work, catalogue int64) {
	filepath.WalkDir(run, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		rel, _ := filepath.Rel(run, p)
		switch {
		case rel == "work" || strings.HasPrefix(rel, "work"+string(filepath.Separator)):
			work += fi.Size()
		case strings.HasSuffix(p, ".parquet"):
			catalogue += fi.Size()
		}
		return nil
	})
	return work, catalogue
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// WriteJSON writes r as indented JSON to path.
func (r *LiveResult) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return nil
}

// WriteMarkdown writes the result as markdown tables.
func (r *LiveResult) WriteMarkdown(w io.Writer) {
	ds := r.Dataset
	fmt.Fprintf(w, "## gotrap bench live: %s (%d images of %dx%d px)\n\n", ds.Preset, ds.Images, ds.Width, ds.Height)
	fmt.Fprintf(w, "`%s`\n\n", strings.Join(r.Command, " "))
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| offered rate | %.1f images/s asked, %.1f written (%d timesteps, %d images in %.1f s) |\n", r.Rate, r.OfferedRate, r.Replayed, r.ImagesReplayed, r.ReplayWall)
	fmt.Fprintf(w, "| sustained rate | %.1f images/s committed (%d timesteps committed, %d not; %d of %d images in commits) |\n",
		r.SustainedRate, r.Latency.Matched, r.Latency.Uncommitted, r.Latency.Images, r.ImagesReplayed)
	l := r.Latency
	fmt.Fprintf(w, "| latency to commit | p50 %.2f s, p95 %.2f s, max %.2f s (%d timesteps) |\n", l.Commit.P50, l.Commit.P95, l.Commit.Max, l.Commit.N)
	fmt.Fprintf(w, "| latency to VOEvents | p50 %.2f s, p95 %.2f s, max %.2f s (%d timesteps with events) |\n", l.VOEvent.P50, l.VOEvent.P95, l.VOEvent.Max, l.VOEvent.N)
	fmt.Fprintf(w, "| peak RSS | %s |\n", bytesText(r.PeakRSS))
	fmt.Fprintf(w, "| RUN/work | %s, %s per committed timestep |\n", bytesText(r.WorkBytes), bytesText(int64(r.WorkPerTimestep)))
	fmt.Fprintf(w, "| catalogue (Parquet) | %s, %s per committed timestep |\n", bytesText(r.Catalogue), bytesText(int64(r.CataloguePerTimestep)))
	fmt.Fprintf(w, "| growth while live, per committed timestep | RUN/work %s, catalogue %s |\n", bytesText(int64(r.WorkGrowth)), bytesText(int64(r.CatalogueGrowth)))
	fmt.Fprintf(w, "| gotrap watch exit | %s |\n", r.Exit)
	fmt.Fprintf(w, "| machine | %s, %d CPUs; load %.2f before, %.2f after |\n\n", r.Machine.CPUModel, r.Machine.CPUs, r.Machine.LoadBefore[0], r.Machine.LoadAfter[0])
	if len(r.Points) > 0 {
		fmt.Fprintf(w, "| t (s) | RSS | Go resident | Go heap live | DuckDB | malloc | committed | RUN/work | catalogue |\n|---|---|---|---|---|---|---|---|---|\n")
		step := max(len(r.Points)/20, 1)
		for i := 0; i < len(r.Points); i += step {
			p := r.Points[i]
			fmt.Fprintf(w, "| %.0f | %s | %s | %s | %s | %s | %d | %s | %s |\n", p.T, bytesText(p.RSS), bytesText(p.GoResident), bytesText(p.GoHeapLive), bytesText(p.DuckDB), bytesText(p.Malloc), p.Committed, bytesText(p.WorkBytes), bytesText(p.CatalogueBytes))
		}
		fmt.Fprintln(w)
	}
}

// bytesText is n bytes for a reader: kB below a megabyte, else MB.
func bytesText(n int64) string {
	if n < 1e6 {
		return fmt.Sprintf("%.1f kB", float64(n)/1e3)
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}
