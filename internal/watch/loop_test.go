package watch

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// startFromName reads the start time from names "tNNNN_bB.fits" (NNNN
// seconds after t0), so the loop is tested without FITS headers.
func startFromName(path string) (time.Time, error) {
	b := filepath.Base(path)
	if !strings.HasPrefix(b, "t") || len(b) < 5 {
		return time.Time{}, fmt.Errorf("%s: no start time", b)
	}
	n, err := strconv.Atoi(b[1:5])
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: no start time", b)
	}
	return t0.Add(time.Duration(n) * time.Second), nil
}

// TestLoop feeds a followed directory with three timesteps of two images
// (renamed in), an image of the run already (skipped), an unreadable one
// (bad), and a late one; the loop commits the timesteps in order (the
// third by the learned count), reports the late and bad images, counts
// them in the status, and on cancel finishes the timestep in progress.
func TestLoop(t *testing.T) {
	dir := t.TempDir()
	var (
		mu        sync.Mutex
		got       []string
		lates     []string
		bads      []string
		arrived   int
		statuses  int
		inCommit  = make(chan struct{})
		releaseTS = make(chan struct{})
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := NewTracker("inotify", nil)
	cfg := LoopConfig{
		Follow:  Options{Dirs: []string{dir}, Settle: time.Minute, Interval: 50 * time.Millisecond},
		Closer:  &Closer{Tolerance: 100 * time.Millisecond},
		Tracker: tr,
		Start:   startFromName,
		Skip:    func(p string) bool { return strings.Contains(p, "held") },
		Arrived: func(context.Context, Image) { mu.Lock(); arrived++; mu.Unlock() },
		Timestep: func(ctx context.Context, ts Timestep) error {
			var names []string
			for _, im := range ts.Images {
				names = append(names, filepath.Base(im.Path))
			}
			mu.Lock()
			got = append(got, fmt.Sprintf("%d:%s:%s", ts.Seq, ts.Reason, strings.Join(names, ",")))
			n := len(got)
			mu.Unlock()
			if n == 4 {
				// The fourth timestep is in progress when the loop is
				// stopped: it must finish, with a live context.
				close(inCommit)
				<-releaseTS
				if ctx.Err() != nil {
					return ctx.Err()
				}
			}
			return nil
		},
		Late:   func(l Late) { mu.Lock(); lates = append(lates, filepath.Base(l.Path)); mu.Unlock() },
		Bad:    func(p string, err error) { mu.Lock(); bads = append(bads, filepath.Base(p)); mu.Unlock() },
		Status: func(Status) { mu.Lock(); statuses++; mu.Unlock() },
	}
	done := make(chan error, 1)
	go func() { done <- Loop(ctx, cfg) }()
	put := func(name string) {
		t.Helper()
		writeRenamed(t, dir, name, []byte("SIMPLE"))
		time.Sleep(30 * time.Millisecond) // arrival order = write order
	}
	time.Sleep(100 * time.Millisecond) // the follower's first listing
	put("t0000_b0.fits")
	put("t0000_b1.fits")
	put("held_t0000.fits") // already in the run: skipped
	put("t0001_b0.fits")   // closes timestep 0 (later)
	put("t0001_b1.fits")
	put("t0000_b2.fits") // late: timestep 0 is closed
	put("junk.fits")     // bad: no start time
	put("t0002_b0.fits") // closes 1 (later); 2 images learned from 0 and 1
	put("t0002_b1.fits") // closes 2 (count)
	put("t0003_b0.fits")
	put("t0003_b1.fits") // closes 3 (count): in progress when stopped
	select {
	case <-inCommit:
	case <-time.After(10 * time.Second):
		t.Fatal("the fourth timestep was not committed")
	}
	cancel()
	put("t0004_b0.fits") // after the stop: never committed
	close(releaseTS)
	if err := <-done; err != nil {
		t.Fatalf("Loop: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := []string{
		"0:later:t0000_b0.fits,t0000_b1.fits",
		"1:later:t0001_b0.fits,t0001_b1.fits",
		"2:count:t0002_b0.fits,t0002_b1.fits",
		"3:count:t0003_b0.fits,t0003_b1.fits",
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("committed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if strings.Join(lates, ",") != "t0000_b2.fits" || strings.Join(bads, ",") != "junk.fits" {
		t.Errorf("late %v, bad %v: want t0000_b2.fits and junk.fits", lates, bads)
	}
	if arrived != 8 || statuses < 4 {
		t.Errorf("%d images arrived (want the 8 committed), %d status updates (want one per commit at least)", arrived, statuses)
	}
	s := tr.Status()
	if s.ImagesIn != 10 || s.Late != 1 || s.Bad != 1 || s.Committed != 4 || s.Pending != 0 {
		t.Errorf("status %+v: want 10 in, 1 late, 1 bad, 4 committed, none pending", s)
	}
	if _, err := os.Stat(filepath.Join(dir, "t0004_b0.fits")); err != nil {
		t.Fatal(err)
	}
}
