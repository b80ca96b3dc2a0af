package watch

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"gotrap/internal/rundir"
)

// StatusFile is the name of the status file in the run directory.
const StatusFile = "status.json"

// Status is the state of a live run, as RUN/status.json holds it.
type Status struct {
	// Mode is how the directories are followed: "inotify" or "poll".
	Mode string `json:"mode"`
	// Started is when following began; Updated when this was made.
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	// ImagesIn counts the images taken (complete files, late and bad
	// ones included); Late the late ones.
	ImagesIn int64 `json:"images_in"`
	Late     int64 `json:"late_images"`
	// Bad counts the images whose start time could not be read.
	Bad int64 `json:"bad_images"`
	// Committed counts the timesteps the run has committed (earlier
	// processes' included: a restarted watch continues the count);
	// LastCommit is the time of this process's last commit (omitted
	// before its first).
	Committed  int64      `json:"timesteps_committed"`
	LastCommit *time.Time `json:"last_commit,omitempty"`
	// Pending counts the images taken and neither committed, late nor
	// bad.
	Pending int `json:"pending_images"`
	// LagS is the age in seconds of the oldest pending image (0 when
	// none is pending): how far the commits are behind the arrivals.
	LagS float64 `json:"lag_s"`
	// Rate is the images taken per second over the last minute (over the
	// time since Started when shorter).
	Rate float64 `json:"rate_images_per_s"`
	// Memory is the watch process's (rank 0's under MPI) at Updated;
	// omitted where not read.
	Memory *Memory `json:"memory,omitempty"`
}

// rateWindow is the span of Status.Rate, in one-second buckets.
const rateWindow = 60

// A Tracker keeps the counters of a Status. Safe for concurrent use; its
// clock is Now (time.Now when nil).
type Tracker struct {
	Now func() time.Time

	mu        sync.Mutex
	st        Status
	pending   map[string]time.Time // path -> landing time
	buckets   [rateWindow]int64    // images per second, by unix second mod rateWindow
	bucketSec [rateWindow]int64    // the unix second each bucket counts
}

// NewTracker starts a Tracker in mode ("inotify" or "poll").
func NewTracker(mode string, now func() time.Time) *Tracker {
	t := &Tracker{Now: now, pending: map[string]time.Time{}}
	t.st.Mode = mode
	t.st.Started = t.now()
	return t
}

func (t *Tracker) now() time.Time {
	if t.Now != nil {
		return t.Now()
	}
	return time.Now()
}

// Landed counts an image taken at time at.
func (t *Tracker) Landed(path string, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.ImagesIn++
	t.pending[path] = at
	s := at.Unix()
	i := int(((s % rateWindow) + rateWindow) % rateWindow)
	if t.bucketSec[i] != s {
		t.bucketSec[i], t.buckets[i] = s, 0
	}
	t.buckets[i]++
}

// Late counts a late image (taken, not committed).
func (t *Tracker) Late(path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Late++
	delete(t.pending, path)
}

// Bad counts an image whose start time could not be read (taken, never
// part of a timestep).
func (t *Tracker) Bad(path string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Bad++
	delete(t.pending, path)
}

// Committed records a commit of the images paths, after which the run
// has committed total timesteps (counting those of earlier processes).
func (t *Tracker) Committed(total int64, paths []string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	t.st.Committed = total
	t.st.LastCommit = &now
	for _, p := range paths {
		delete(t.pending, p)
	}
}

// SetMode changes the mode shown (the follower fell back to polling).
func (t *Tracker) SetMode(mode string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.st.Mode = mode
}

// Status is the current state.
func (t *Tracker) Status() Status {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	s := t.st
	s.Updated = now
	s.Pending = len(t.pending)
	var oldest time.Time
	for _, at := range t.pending {
		if oldest.IsZero() || at.Before(oldest) {
			oldest = at
		}
	}
	if !oldest.IsZero() {
		s.LagS = max(0, now.Sub(oldest).Seconds())
	}
	var n int64
	cur := now.Unix()
	for i, sec := range t.bucketSec {
		if sec > cur-rateWindow && sec <= cur {
			n += t.buckets[i]
		}
	}
	span := min(float64(rateWindow), now.Sub(s.Started).Seconds())
	if span > 0 {
		s.Rate = float64(n) / max(span, 1)
	}
	return s
}

// WriteStatus writes s as RUN/status.json, atomically: under a
// temporary name, then renamed (rundir.WriteStaged), so a reader sees
// the last status or the one before it, whole. It is not synced: the
// watch rewrites it every second and at every commit, and a sync of the
// file and its folder was two journal commits each time, one of them on
// the commit's path; after a crash of the operating system it may be
// empty until the watch writes it again.
func WriteStatus(run string, s Status) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("watch: status: %w", err)
	}
	return rundir.WriteStaged(filepath.Join(run, StatusFile), append(b, '\n'))
}

// ReadStatus reads RUN/status.json.
func ReadStatus(run string) (Status, error) {
	var s Status
	b, err := os.ReadFile(filepath.Join(run, StatusFile))
	if err != nil {
		return s, fmt.Errorf("watch: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil {
		return s, fmt.Errorf("watch: %s: %w", filepath.Join(run, StatusFile), err)
	}
	return s, nil
}

// Line is the one-line rendering of s.
func (s Status) Line() string {
	last := "none"
	if s.LastCommit != nil {
		last = fmt.Sprintf("%.1f s ago", s.Updated.Sub(*s.LastCommit).Seconds())
	}
	return fmt.Sprintf("watch (%s): %d images in, %d timesteps committed, %d late, lag %.1f s, %.1f images/s, last commit %s",
		s.Mode, s.ImagesIn, s.Committed, s.Late, s.LagS, s.Rate, last)
}

// stampLayout is the timestamp of log lines (pipeline.Stamp's layout:
// RFC 3339, UTC, milliseconds).
const stampLayout = "2006-01-02T15:04:05.000Z07:00"

// A Printer writes status lines: on a terminal one line rewritten in
// place ("\r"), otherwise a timestamped log line each time.
type Printer struct {
	W        io.Writer
	Terminal bool
}

// Print writes s's line.
func (p Printer) Print(s Status) error {
	var err error
	if p.Terminal {
		// Padded so that a shorter line covers a longer one before it.
		_, err = fmt.Fprintf(p.W, "\r%-78s", s.Line())
	} else {
		_, err = fmt.Fprintf(p.W, "%s %s\n", s.Updated.UTC().Format(stampLayout), s.Line())
	}
	return err
}
