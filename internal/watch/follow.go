package watch

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"

	"gotrap/internal/fitsimg"
)

// Default settings of a Follower (and of the [watch] section of the job
// configuration).
const (
	DefaultSettle   = 2 * time.Second
	DefaultInterval = time.Second
)

// Options configure a Follower.
type Options struct {
	// Dirs are the directories followed (not their subdirectories).
	Dirs []string
	// Poll lists the directories every Interval instead of using inotify.
	// The Follower also polls when inotify cannot be had.
	Poll bool
	// Interval is the polling period (0: DefaultInterval).
	Interval time.Duration
	// Settle is how long a file's size and modification time must stay
	// the same before a file that was not renamed into place is taken
	// (0: DefaultSettle).
	Settle time.Duration
	// Logf, when not nil, receives the log lines (fallback to polling,
	// inotify queue overflows, replaced files).
	Logf func(format string, a ...any)
}

// A File is an image file found complete.
type File struct {
	Path    string    // as the directory given joined with the name
	Size    int64     // bytes when taken
	ModTime time.Time // modification time when taken
	// Landed is the time the Follower found it complete (time.Now).
	Landed time.Time
	// Renamed is true when it was taken because it was renamed into place
	// (inotify), false when by the settle rule.
	Renamed bool
}

// IsCandidate reports whether a file name is one the Follower takes: an
// image name (fitsimg.IsImageName) that is neither hidden (".x") nor a
// temporary name (*.tmp, *.part, *.partial, in any case).
func IsCandidate(name string) bool {
	b := filepath.Base(name)
	if strings.HasPrefix(b, ".") {
		return false
	}
	l := strings.ToLower(b)
	for _, s := range []string{".tmp", ".part", ".partial"} {
		if strings.HasSuffix(l, s) {
			return false
		}
	}
	return fitsimg.IsImageName(b)
}

// A Follower yields the complete image files of some directories, each
// once, in the order they became complete. Create it with Follow.
type Follower struct {
	opt   Options
	out   chan File
	poll  bool
	w     *fsnotify.Watcher
	done  chan struct{}
	state followState
}

// followState is what the follower's goroutine alone touches.
type followState struct {
	taken   map[string]struct{} // paths yielded, while they exist
	pending map[string]*pend    // candidates waiting for the settle rule
	queue   []File              // complete, not yet received
}

type pend struct {
	size  int64
	mtime time.Time
	since time.Time // when (size, mtime) was first seen
}

// Follow starts following opt.Dirs: with inotify unless opt.Poll, falling
// back to polling (with a log line) when inotify cannot be set up. The
// files already present are yielded too, by the settle rule. Files() is
// closed when ctx ends. Follow fails when a directory cannot be read.
func Follow(ctx context.Context, opt Options) (*Follower, error) {
	if len(opt.Dirs) == 0 {
		return nil, errors.New("watch: no directory to follow")
	}
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.Settle <= 0 {
		opt.Settle = DefaultSettle
	}
	for _, d := range opt.Dirs {
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("watch: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("watch: %s: not a directory", d)
		}
	}
	f := &Follower{opt: opt, out: make(chan File), poll: opt.Poll, done: make(chan struct{})}
	f.state = followState{taken: map[string]struct{}{}, pending: map[string]*pend{}}
	if !f.poll {
		if err := f.startInotify(); err != nil {
			f.logf("watch: inotify unavailable (%v): polling every %s", err, opt.Interval)
			f.poll = true
		}
	}
	go f.run(ctx)
	return f, nil
}

// newWatcher makes the inotify watcher (a variable so that tests can
// refuse it).
var newWatcher = fsnotify.NewWatcher

func (f *Follower) startInotify() error {
	w, err := newWatcher()
	if err != nil {
		return err
	}
	for _, d := range f.opt.Dirs {
		if err := w.Add(d); err != nil {
			w.Close()
			return fmt.Errorf("%s: %w", d, err)
		}
	}
	f.w = w
	return nil
}

// Files yields the complete files. It is closed when the context of
// Follow ends.
func (f *Follower) Files() <-chan File { return f.out }

// Polling reports whether the Follower polls (asked for, or inotify was
// refused).
func (f *Follower) Polling() bool { return f.poll }

// Done is closed when the Follower has stopped and released inotify.
func (f *Follower) Done() <-chan struct{} { return f.done }

func (f *Follower) logf(format string, a ...any) {
	if f.opt.Logf != nil {
		f.opt.Logf(format, a...)
	}
}

// check is the period of the settle checks: a quarter of the settle
// time, at most the polling interval, at least 10 ms.
func (f *Follower) check() time.Duration {
	return min(max(f.opt.Settle/4, 10*time.Millisecond), f.opt.Interval)
}

func (f *Follower) run(ctx context.Context) {
	defer close(f.done)
	defer close(f.out)
	var events chan fsnotify.Event
	var errs chan error
	if f.w != nil {
		defer f.w.Close()
		events, errs = f.w.Events, f.w.Errors
	}
	// Inotify is set up before this first listing, so a file that lands
	// in between is seen by both, and taken once.
	f.scan()
	// Files already complete (unchanged for the settle time) are taken
	// now, before any event: a restart finds the files of the timestep it
	// had open, which would be late behind newer files renamed in.
	f.settle(time.Now())
	lastScan := time.Now()
	tick := time.NewTicker(f.check())
	defer tick.Stop()
	renamed := "" // directory of the IN_MOVED_FROM just before, if any
	for {
		var out chan File
		var head File
		if len(f.state.queue) > 0 {
			out, head = f.out, f.state.queue[0]
		}
		select {
		case <-ctx.Done():
			return
		case out <- head:
			f.state.queue[0] = File{}
			f.state.queue = f.state.queue[1:]
		case <-tick.C:
			// The time now, not the tick's: a tick read late would date a
			// change before the write a Write event saw.
			now := time.Now()
			if f.poll && now.Sub(lastScan) >= f.opt.Interval {
				f.scan()
				lastScan = now
			}
			f.settle(now)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			renamed = f.event(ev, renamed)
		case err, ok := <-errs:
			if !ok {
				errs = nil
				continue
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				f.logf("watch: inotify queue overflowed: listing the directories again")
				f.scan()
			} else {
				f.logf("watch: inotify: %v", err)
			}
		}
	}
}

// event handles one inotify event and returns the directory of a rename
// away (IN_MOVED_FROM) when ev is one. A rename inside a directory comes
// as IN_MOVED_FROM of the old name followed by IN_MOVED_TO (Create) of
// the new one; a Create right after such an event is a file renamed into
// place, complete.
func (f *Follower) event(ev fsnotify.Event, renamed string) string {
	dir := filepath.Dir(ev.Name)
	switch {
	case ev.Has(fsnotify.Create):
		if !IsCandidate(ev.Name) {
			return ""
		}
		if renamed == dir {
			if _, done := f.state.taken[ev.Name]; done {
				f.logf("watch: %s replaced after it was taken: ignored", ev.Name)
				return ""
			}
			st, err := os.Stat(ev.Name)
			if err == nil && st.Mode().IsRegular() {
				delete(f.state.pending, ev.Name)
				f.take(File{Path: ev.Name, Size: st.Size(), ModTime: st.ModTime(), Renamed: true})
				return ""
			}
		}
		f.observe(ev.Name, time.Now())
	case ev.Has(fsnotify.Rename), ev.Has(fsnotify.Remove):
		delete(f.state.pending, ev.Name)
		delete(f.state.taken, ev.Name)
		if ev.Has(fsnotify.Rename) {
			return dir
		}
	case ev.Has(fsnotify.Write):
		if p := f.state.pending[ev.Name]; p != nil {
			p.since = time.Now()
		}
	}
	return ""
}

// scan lists the directories: a candidate neither taken nor pending
// becomes pending; taken paths no longer listed are forgotten, so the
// memory held is that of the directories' contents.
func (f *Follower) scan() {
	now := time.Now()
	seen := make(map[string]struct{}, len(f.state.taken))
	read := map[string]bool{} // directories listed without error
	for _, d := range f.opt.Dirs {
		ents, err := os.ReadDir(d)
		if err != nil {
			f.logf("watch: %v", err)
			continue
		}
		read[filepath.Clean(d)] = true
		for _, e := range ents {
			if e.IsDir() || !IsCandidate(e.Name()) {
				continue
			}
			p := filepath.Join(d, e.Name())
			seen[p] = struct{}{}
			if _, done := f.state.taken[p]; done {
				continue
			}
			if _, ok := f.state.pending[p]; !ok {
				f.observe(p, now)
			}
		}
	}
	for p := range f.state.taken {
		if _, ok := seen[p]; !ok && read[filepath.Dir(p)] {
			delete(f.state.taken, p)
		}
	}
}

// observe makes p pending from its current size and mtime.
func (f *Follower) observe(p string, now time.Time) {
	if _, done := f.state.taken[p]; done {
		return
	}
	st, err := os.Stat(p)
	if err != nil || !st.Mode().IsRegular() {
		return
	}
	// A file not modified for the settle time already is as settled as
	// one watched that long: it counts from its modification time.
	f.state.pending[p] = &pend{size: st.Size(), mtime: st.ModTime(), since: minTime(now, st.ModTime())}
}

// settle takes the pending files whose size and mtime have not changed
// for the settle time (and are not empty), in (mtime, path) order.
func (f *Follower) settle(now time.Time) {
	var ready []File
	for p, q := range f.state.pending {
		st, err := os.Stat(p)
		if err != nil || !st.Mode().IsRegular() {
			delete(f.state.pending, p)
			continue
		}
		if st.Size() != q.size || !st.ModTime().Equal(q.mtime) {
			// A change restarts the settle time, from when it was seen
			// (after the stat: now was read before it, and the write may
			// have come in between); it never moves back.
			q.size, q.mtime, q.since = st.Size(), st.ModTime(), maxTime(q.since, time.Now())
			continue
		}
		if q.size > 0 && now.Sub(q.since) >= f.opt.Settle {
			ready = append(ready, File{Path: p, Size: q.size, ModTime: q.mtime})
		}
	}
	slices.SortFunc(ready, func(a, b File) int {
		return cmp.Or(a.ModTime.Compare(b.ModTime), cmp.Compare(a.Path, b.Path))
	})
	for _, r := range ready {
		delete(f.state.pending, r.Path)
		f.take(r)
	}
}

func (f *Follower) take(file File) {
	file.Landed = time.Now()
	f.state.taken[file.Path] = struct{}{}
	f.state.queue = append(f.state.queue, file)
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
