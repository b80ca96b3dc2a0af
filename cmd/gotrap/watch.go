//go:build !front

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"gotrap/catalog/duck"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline"
	"gotrap/internal/respond"
	"gotrap/internal/rundir"
	"gotrap/internal/watch"
	"gotrap/reduce"
	"gotrap/reduce/mpi"
	"gotrap/slurm"
)

type watchFlags struct {
	out, config    string
	poll, quiet    bool
	ranks, workers int
	threads        int
	memoryLimit    string
	every          time.Duration
	stopAfter      int
	cpuProfile     string
	memProfile     string
}

var watchFl watchFlags

func init() {
	register(&command{
		name:  "watch",
		usage: "--out RUN [-c gotrap.toml] [--poll] [--ranks N] DIR...",
		short: "follow directories and run the pipeline on each timestep as it arrives (live mode)",
		long: `Watch follows the directories DIR for new FITS images, as an imager drops
them, and runs the pipeline on each timestep as soon as it is complete:
the timestep is extracted, associated, force-fitted and committed as
"gotrap run --append" would, the catalogue tables, varmetric and events
are refreshed, the [[response]] rules fire for its events, and a line is
appended to RUN/logs/commits.jsonl. "gotrap query RUN ..." works on the
run at any time. The catalogue equals that of "gotrap run" over the same
images. See docs/live.md.

A file is taken when it is complete: renamed into place (inotify), or
unchanged for [watch] settle seconds (and always when polling: --poll, or
where inotify is missing, e.g. network file systems). Hidden and
temporary names (.x, *.tmp, *.part) are never read. A timestep closes when
an image of a later one arrives, when it holds [watch]
images_per_timestep images (0: learned from the first two), or [watch]
timeout seconds after its last image. An image of a timestep already
closed is late: logged, counted in RUN/status.json and listed in
RUN/logs/late.txt, not added (run the batch pipeline over all the images
to include it).

RUN is created when missing, with -c's configuration (default: the
built-in one); an existing run continues with its own (RUN/gotrap.toml;
a different -c is refused, naming the keys). The files of the directories
that the run already holds are skipped, so watching again after a stop or
a crash continues where it was: nothing is lost or counted twice.

RUN/status.json (rewritten atomically every second) and the status line
on stderr give images in, timesteps committed, late images, the lag and
the rate; off a terminal the line is a timestamped log line every
--progress-every.

SIGTERM and SIGINT finish the timestep in progress, write the final
catalogue (as a batch run ends: limits, varmetric, events) and exit with
status 0, as a service manager expects of a service stopped on request.
A timestep not yet closed is left for the next start.

--ranks N splits the work over N in-process ranks; under mpirun or srun
(a binary built with -tags mpi) the ranks are the MPI processes and rank 0
follows the directories. On several ranks the association runs on rank 0
(docs/live.md).`,
		setFlags: func(fs *flag.FlagSet) {
			watchFl = watchFlags{}
			fs.StringVar(&watchFl.out, "out", "", "run directory (required; created when missing, continued when it holds a run)")
			fs.StringVar(&watchFl.config, "c", "", "job configuration (TOML) of a new run; default: the run's own, else built-in defaults")
			fs.StringVar(&watchFl.config, "config", "", "same as -c")
			fs.BoolVar(&watchFl.poll, "poll", false, "list the directories every [watch] poll_interval instead of using inotify")
			fs.IntVar(&watchFl.ranks, "ranks", 1, "in-process ranks; under mpirun/srun the MPI processes instead; does not change the output")
			fs.IntVar(&watchFl.workers, "workers", 0, "images processed at once (0: [pipeline] workers, else all CPUs)")
			fs.IntVar(&watchFl.threads, "threads", 0, "DuckDB threads (0: the CPUs Go may use)")
			fs.StringVar(&watchFl.memoryLimit, "memory-limit", "", "DuckDB memory_limit (default: 1GB per thread)")
			fs.BoolVar(&watchFl.quiet, "quiet", false, "no status line or progress on stderr")
			fs.DurationVar(&watchFl.every, "progress-every", 10*time.Second, "interval of status lines when stderr is not a terminal")
			fs.StringVar(&watchFl.cpuProfile, "cpuprofile", "", "write a CPU profile (pprof) of the watch to `FILE` (gotrap bench live --cpuprofile)")
			fs.StringVar(&watchFl.memProfile, "memprofile", "", "write the Go heap in use (pprof) to `FILE` when the watch stops following, before the run's end (gotrap bench live --memprofile)")
			fs.IntVar(&watchFl.stopAfter, "stop-after", 0, "stop (as on SIGTERM) once this many timesteps are committed in all (0: never; for tests and replays)")
		},
		run: runWatch,
	})
}

func runWatch(env *cmdEnv, args []string) error {
	f := watchFl
	if f.out == "" {
		return usageError("--out RUN is required")
	}
	if len(args) == 0 {
		return usageError("no DIR to follow")
	}
	for _, d := range args {
		if st, err := os.Stat(d); err != nil || !st.IsDir() {
			return usageError("%s: not a directory to follow", d)
		}
	}
	if f.ranks < 1 {
		return usageError("--ranks must be at least 1")
	}
	m, merr := rundir.ReadManifest(f.out)
	existing := merr == nil
	cfgPath := f.config
	if existing && cfgPath == "" {
		cfgPath = filepath.Join(f.out, "gotrap.toml")
	}
	cfg, err := loadJob(cfgPath)
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if f.threads == 0 {
		f.threads = reduce.CPUs(os.Getenv)
	}
	stopProfiles, err := startProfiles(f.cpuProfile, "")
	if err != nil {
		return err
	}
	defer func() {
		if err := stopProfiles(); err != nil {
			fmt.Fprintln(env.stderr, "gotrap watch:", err)
		}
	}()
	// SIGTERM and SIGINT stop the feed: the timestep in progress ends and
	// the run finishes as a batch run does.
	sigCtx, stopSignals := slurm.NotifyContext(context.Background())
	defer stopSignals()
	feed := &watchFeed{env: env, run: f.out, dirs: args, cfg: cfg, poll: f.poll, stopAfter: f.stopAfter, stop: sigCtx.Done(),
		quiet: f.quiet, every: f.every, terminal: isTerminal(env.stderr), memProfile: f.memProfile}
	if existing {
		feed.have = map[string]bool{}
		for _, in := range m.Inputs {
			feed.have[in.Path] = true
		}
	}
	opt := pipeline.Options{Run: f.out, Config: cfg, Append: existing, Workers: f.workers, Feed: feed,
		AfterCommit: feed.afterCommit, Terminal: isTerminal(env.stderr), ProgressEvery: f.every}
	rf := runFlags{out: f.out, quiet: f.quiet, threads: f.threads, memoryLimit: f.memoryLimit}
	// The pipeline's context ends only on a second signal's worth of
	// trouble: the first stops the feed, and the run ends by itself.
	ctx := context.Background()
	var sum *pipeline.Summary
	if mpi.Launched(os.Getenv) {
		if f.ranks > 1 {
			return usageError("--ranks is for in-process ranks; under an MPI launcher the ranks are its processes")
		}
		err = mpi.Run(func(c reduce.Comm) error {
			o := opt
			o.Comm = c
			o.CPUs = reduce.LimitGOMAXPROCS(os.Getenv)
			if c.Rank() == 0 {
				lk, err := lockRun(env, f.out, "gotrap watch (MPI rank 0)")
				if err != nil {
					return err
				}
				defer lk.Unlock()
			}
			s, err := pipeline.Run(ctx, o)
			if err != nil || c.Rank() != 0 {
				return err
			}
			return feed.finish(ctx, env, rf, s)
		})
		if errors.Is(err, mpi.ErrNotBuilt) {
			return fmt.Errorf("gotrap watch: started by an MPI launcher, but this gotrap was built without MPI: build it with `go build -tags mpi ./cmd/gotrap`, or use --ranks N")
		}
		return err
	}
	lk, err := lockRun(env, f.out, "gotrap watch")
	if err != nil {
		return err
	}
	defer lk.Unlock()
	opt.CPUs = reduce.CPUs(os.Getenv)
	if sum, err = pipeline.RunRanks(ctx, opt, f.ranks); err != nil {
		if errors.Is(err, pipeline.ErrConfigDiffers) {
			if keys := configDiff(filepath.Join(f.out, "gotrap.toml"), cfg); len(keys) > 0 {
				err = fmt.Errorf("%w; differing keys: %s", err, strings.Join(keys, ", "))
			}
		}
		return err
	}
	return feed.finish(ctx, env, rf, sum)
}

// watchFeed is the pipeline's Feed of gotrap watch (on rank 0; the other
// ranks never call it): a watch.Follower over the directories, a
// watch.Closer that groups the files into timesteps, and the status.
type watchFeed struct {
	env       *cmdEnv
	run       string
	dirs      []string
	cfg       config.Config
	poll      bool
	quiet     bool
	terminal  bool
	every     time.Duration
	stopAfter int
	stop      <-chan struct{} // closed by SIGTERM or SIGINT
	// have are the files the run holds (skipped when found again).
	have map[string]bool

	started bool
	cancel  context.CancelFunc
	fol     *watch.Follower
	closer  *watch.Closer
	tracker *watch.Tracker
	queue   []watch.Timestep
	// given are the timesteps given and not yet committed, in order.
	given  []watch.Timestep
	images int // images committed before the last publish
	// events computes each commit's events from its points (a running
	// state per light curve); responded is the timesteps whose events
	// are done. respondMu guards both: a commit's responses run in the
	// background of the next timesteps (afterCommit), an alert's in
	// Next (inbox).
	events    *respond.Stream
	responded int
	respondMu sync.Mutex
	statusWG  sync.WaitGroup
	mu        sync.Mutex // guards the status writes
	ended     bool
	// memProfile is --memprofile's file, written once by end.
	memProfile string
}

// start begins following (on the first Next: only rank 0 follows).
func (w *watchFeed) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	w.cancel = cancel
	logf := func(format string, a ...any) { w.log(format, a...) }
	opt := watch.Options{Dirs: w.dirs, Poll: w.poll, Interval: seconds(w.cfg.Watch.PollInterval), Settle: seconds(w.cfg.Watch.Settle), Logf: logf}
	fol, err := watch.Follow(ctx, opt)
	if err != nil {
		cancel()
		return err
	}
	w.fol = fol
	mode := "inotify"
	if fol.Polling() {
		mode = "poll"
	}
	w.tracker = watch.NewTracker(mode, nil)
	w.closer = &watch.Closer{Tolerance: seconds(w.cfg.Pipeline.TimestepTolerance), Expected: w.cfg.Watch.ImagesPerTimestep,
		Timeout: seconds(w.cfg.Watch.Timeout)}
	if c, err := rundir.ReadCommit(w.run); err == nil && c.Timesteps > 0 {
		w.closer.Committed(c.LastStart)
		w.images = c.Images
		// The image counts of the timesteps committed before (the
		// commits log: one line a timestep), for the expected count.
		if cs, err := watch.ReadCommitsFile(w.run); err == nil {
			for _, cm := range cs {
				w.closer.Counted(cm.Images)
			}
		}
	}
	w.log("watching %v (%s) into %s", w.dirs, mode, w.run)
	w.statusWG.Add(1)
	go func() {
		defer w.statusWG.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		last := time.Time{}
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-tick.C:
				w.writeStatus(!w.terminal && now.Sub(last) < w.every)
				if w.terminal || now.Sub(last) >= w.every {
					last = now
				}
			}
		}
	}()
	return nil
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// log writes a timestamped line to stderr (unless --quiet).
func (w *watchFeed) log(format string, a ...any) {
	if w.quiet {
		return
	}
	if w.terminal {
		fmt.Fprint(w.env.stderr, "\r\033[K")
	}
	fmt.Fprintf(w.env.stderr, "%s watch: %s\n", pipeline.Stamp(time.Now()), fmt.Sprintf(format, a...))
}

// writeStatus rewrites RUN/status.json and, unless quiet (or the line is
// not due), prints the status line.
func (w *watchFeed) writeStatus(quietLine bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.tracker.Status()
	m := watch.ReadMemory()
	m.DuckDB, m.Malloc = duck.CMemory()
	s.Memory = &m
	if err := watch.WriteStatus(w.run, s); err != nil {
		w.log("warning: %v", err)
	}
	if !w.quiet && !quietLine {
		watch.Printer{W: w.env.stderr, Terminal: w.terminal}.Print(s)
	}
}

// maxBatch bounds the timesteps one commit takes when the commits fall
// behind.
const maxBatch = 16

// drainIdle is how long drain waits for the follower's next file: it
// hands its queue over one file at a time.
const drainIdle = 2 * time.Millisecond

// drain takes every file the follower has ready, until none comes for
// drainIdle.
func (w *watchFeed) drain() {
	idle := time.NewTimer(drainIdle)
	defer idle.Stop()
	for {
		select {
		case file, ok := <-w.fol.Files():
			if !ok {
				return
			}
			w.take(file)
			idle.Reset(drainIdle)
		case <-idle.C:
			return
		}
	}
}

// end is io.EOF, after writing the heap profile of --memprofile (the
// state the watch holds after following, before the run's end adds its
// own).
func (w *watchFeed) end() error {
	if w.memProfile != "" {
		if err := writeHeapProfile(w.memProfile); err != nil {
			w.log("warning: %v", err)
		}
		w.memProfile = ""
	}
	return io.EOF
}

// Next gives the files of the next closed timestep.
func (w *watchFeed) Next(ctx context.Context) ([]string, error) {
	if !w.started {
		w.started = true
		if err := w.start(); err != nil {
			return nil, err
		}
	}
	for {
		if w.stopAfter > 0 && w.committed() >= w.stopAfter {
			return nil, w.end()
		}
		select {
		case <-w.stop:
			w.log("stopping on request: the timesteps committed are kept; a timestep not closed is left for the next start")
			return nil, w.end()
		default:
		}
		w.inbox()
		// The files that landed while the last timesteps were
		// processed, all of them: the timesteps they close go together.
		w.drain()
		if paths := w.give(); len(paths) > 0 {
			return paths, nil
		}
		var timer <-chan time.Time
		if d, ok := w.closer.Deadline(); ok {
			timer = time.After(time.Until(d))
		}
		select {
		case <-time.After(time.Second): // the alerts inbox
		case <-w.stop:
		case <-ctx.Done():
			return nil, ctx.Err()
		case file, ok := <-w.fol.Files():
			if !ok {
				return nil, w.end()
			}
			w.take(file)
		case <-timer:
			w.queue = append(w.queue, w.closer.Tick()...)
		}
	}
}

// Ready gives the files of the timesteps closed by now without waiting
// for more (pipeline.ReadyFeed: the run extracts them while it publishes
// the batch before), none when the watch is stopping (Next ends it).
func (w *watchFeed) Ready(ctx context.Context) ([]string, error) {
	if !w.started || (w.stopAfter > 0 && w.committed() >= w.stopAfter) {
		return nil, nil
	}
	select {
	case <-w.stop:
		return nil, nil
	default:
	}
	w.inbox()
	w.drain()
	return w.give(), nil
}

// give takes every timestep closed by now from the queue, up to
// maxBatch, and returns their files: when the commits fall behind the
// arrivals, one commit takes several timesteps and its fixed cost
// (publishing, the events) is paid once for them (docs/live.md
// "Timesteps").
func (w *watchFeed) give() []string {
	n := min(len(w.queue), maxBatch)
	var paths []string
	for _, ts := range w.queue[:n] {
		for _, im := range ts.Images {
			paths = append(paths, im.Path)
		}
		w.given = append(w.given, ts)
		w.log("timestep %s closed (%s): %d images", ts.Start.UTC().Format(time.RFC3339Nano), ts.Reason, len(ts.Images))
	}
	w.queue = w.queue[n:]
	return paths
}

// inbox follows up the alerts gotrap listen queued for this live run
// (RUN/alerts/inbox/*.xml), oldest name first: the light curve at the
// alert's position back in time, its event and rules, and the position
// as a monitor from the run's next timestep on. A packet is removed once
// followed up; one that fails stays, logged, and is tried again.
func (w *watchFeed) inbox() {
	files, _ := filepath.Glob(rundir.AlertInboxGlob(w.run))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		a, err := respond.ParseAlert(f, b)
		if err != nil {
			// gotrap listen parsed it before queueing it: only a file put
			// there by hand gets here. Set aside, not retried.
			w.log("warning: alert %s rejected: %v (renamed *.rejected)", f, err)
			os.Rename(f, f+".rejected")
			continue
		}
		w.log("alert %s at %.5f %+.5f: following up", a.IVORN, a.RA, a.Dec)
		// Not beside the last commit's responses (afterCommit, in the
		// background): both write the events and the delivery log.
		w.respondMu.Lock()
		err = followUpAlert(context.Background(), w.env, w.run, w.cfg, a, true, 5, 0)
		if w.events != nil {
			w.events.EventsAdded() // the rules count the alert's event from now on
		}
		w.respondMu.Unlock()
		if err != nil {
			w.log("warning: alert %s: %v (kept; tried again)", f, err)
			continue
		}
		os.Remove(f)
	}
}

// committed is the number of timesteps the run has committed.
func (w *watchFeed) committed() int {
	c, err := rundir.ReadCommit(w.run)
	if err != nil {
		return 0
	}
	return c.Timesteps
}

// take reads a complete file's start time and gives it to the closer.
func (w *watchFeed) take(file watch.File) {
	if w.have[file.Path] {
		return // the run holds it
	}
	w.tracker.Landed(file.Path, file.Landed)
	meta, err := fitsimg.ReadMeta(file.Path, fitsimg.Options{Plane: w.cfg.Pipeline.Plane, Stokes: w.cfg.Pipeline.Stokes, Channel: w.cfg.Pipeline.Channel})
	if err != nil {
		w.log("warning: %v: not taken", err)
		w.tracker.Bad(file.Path)
		w.record(file.Path, "unreadable header: "+err.Error())
		return
	}
	closed, late := w.closer.Add(watch.Image{Path: file.Path, Start: meta.TauStart})
	w.queue = append(w.queue, closed...)
	if late != nil {
		why := "older than the open timestep"
		if !late.Timestep.IsZero() {
			why = "timestep " + late.Timestep.UTC().Format(time.RFC3339Nano) + ", already closed"
		}
		w.log("late image %s (%s)", file.Path, why)
		w.tracker.Late(file.Path)
		w.record(file.Path, "late: "+why)
	}
}

// record appends a file not taken to RUN/logs/late.txt.
func (w *watchFeed) record(path, why string) {
	fh, err := os.OpenFile(rundir.LatePath(w.run), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		w.log("warning: %v", err)
		return
	}
	fmt.Fprintf(fh, "%s\t%s\t%s\n", time.Now().UTC().Format(time.RFC3339Nano), path, why)
	fh.Close()
}

// afterCommit runs on rank 0 each time the run publishes its catalogue:
// the events and responses of the new timesteps, the commits log and the
// status. varmetric is not rewritten: while a run is live, the varmetric
// view is computed from the tables by each query (catalog/duck), so it is
// always current and costs a commit nothing; the run's end writes
// varmetric.parquet as a batch run does. It takes what the commit holds
// (the timesteps given, their files) and returns the rest, which the
// pipeline runs in the background of the next timesteps, concurrently
// with Next (pipeline.Options.AfterCommit): the events Stream is guarded
// by respondMu (inbox's alerts use it too), the tracker and the status by
// their own locks, and the fields the rest reads are its own from here.
func (w *watchFeed) afterCommit(c rundir.Commit) (func() error, error) {
	restart := w.tracker == nil // the run so far, replayed before following
	if restart && c.Timesteps == 0 {
		return nil, nil
	}
	committedAt := time.Now()
	// The timesteps given that this commit holds: the first of those
	// given, as many as its images (Ready may have given later ones,
	// being extracted now); all of them when the counts disagree (an
	// image whose header the plan could not read).
	n := 0
	for k := 0; n < len(w.given); n++ {
		if k += len(w.given[n].Images); k >= c.Images-w.images {
			if k == c.Images-w.images {
				n++
			} else {
				n = len(w.given)
			}
			break
		}
	}
	given := w.given[:n]
	w.given = slices.Clone(w.given[n:])
	var lines []watch.Commit
	if !restart && c.Images > w.images {
		// One line a timestep: those given since the last commit, the
		// last of them c's last timestep.
		lines = []watch.Commit{{Timestep: c.Timesteps - 1, Images: c.Images - w.images, Start: c.LastStart}}
		if n := len(given); n > 0 && n <= c.Timesteps {
			lines = lines[:0]
			for i, ts := range given {
				lines = append(lines, watch.Commit{Timestep: c.Timesteps - n + i, Images: len(ts.Images), Start: ts.Start})
			}
		}
	}
	w.images = c.Images
	var pending []string
	for _, ts := range given {
		for _, im := range ts.Images {
			pending = append(pending, im.Path)
		}
	}
	tracker := w.tracker
	rest := func() error {
		voevents, err := w.respond(c, restart)
		if err != nil {
			return err
		}
		for _, l := range lines {
			l.Committed, l.VOEvents = committedAt.UnixNano(), voevents
			if err := watch.AppendCommit(w.run, l); err != nil {
				w.log("warning: %v", err)
			}
		}
		if !restart {
			tracker.Committed(int64(c.Timesteps), pending)
			w.writeStatus(true)
		}
		return nil
	}
	return rest, nil
}

// respond computes the events and responses of the timesteps committed
// since the last call (after a restart, every timestep's: a crash may
// have come between a commit and its responses; nothing is delivered
// twice), and returns when the responses went out (Unix ns; 0: none).
// Only an events Stream that cannot be made is an error; a failed
// response is logged (the catalogue is committed).
func (w *watchFeed) respond(c rundir.Commit, restart bool) (int64, error) {
	w.respondMu.Lock()
	defer w.respondMu.Unlock()
	var out io.Writer
	if !w.quiet {
		out = w.env.stderr
	}
	r := respond.Range{From: int64(w.responded), To: int64(c.Timesteps - 1)}
	if restart {
		r = respond.All
	}
	if w.events == nil {
		ev, err := respond.NewStream(w.cfg)
		if err != nil {
			return 0, err
		}
		w.events = ev
	}
	res, err := respond.Respond(context.Background(), w.run, w.cfg, respond.Options{Send: true, Timesteps: r, Out: out, Stream: w.events})
	if err == nil {
		w.responded = c.Timesteps
	}
	if err != nil {
		w.log("warning: responses: %v (the catalogue is committed; gotrap respond --send %s retries)", err, w.run)
	}
	// The events' queries freed DuckDB memory that its allocator would
	// otherwise keep: without this, RSS creeps up commit by commit.
	if err := duck.ReleaseMemory(); err != nil {
		w.log("warning: %v", err)
	}
	if err == nil && res.Sent > 0 {
		return time.Now().UnixNano(), nil
	}
	return 0, nil
}

// finish ends a watch: the final catalogue stage and events (as a batch
// run ends), the status, and the summary.
func (w *watchFeed) finish(ctx context.Context, env *cmdEnv, f runFlags, sum *pipeline.Summary) error {
	if w.events != nil {
		if err := w.events.Close(); err != nil {
			w.log("warning: %v", err)
		}
	}
	if w.cancel != nil {
		w.cancel()
		w.statusWG.Wait()
		w.writeStatus(true)
	}
	return finishRun(ctx, env, f, sum)
}
