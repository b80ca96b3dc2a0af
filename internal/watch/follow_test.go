package watch

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"
)

// modes runs a test with inotify and with polling.
var modes = []struct {
	name string
	poll bool
}{{"inotify", false}, {"poll", true}}

// start follows dir and fails the test when the mode asked for is not
// the one obtained (inotify refused on this machine).
func start(t *testing.T, dir string, poll bool, settle time.Duration) *Follower {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f, err := Follow(ctx, Options{Dirs: []string{dir}, Poll: poll, Interval: 50 * time.Millisecond, Settle: settle, Logf: t.Logf})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); <-f.Done() })
	if f.Polling() != poll {
		t.Fatalf("Polling() = %v, want %v", f.Polling(), poll)
	}
	return f
}

// next waits up to d for a file.
func next(t *testing.T, f *Follower, d time.Duration) (File, bool) {
	t.Helper()
	select {
	case file := <-f.Files():
		return file, true
	case <-time.After(d):
		return File{}, false
	}
}

// writeRenamed writes data under a temporary name in dir and renames it
// to name, as imagers do.
func writeRenamed(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.Rename(tmp, p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFollowRenamedIn(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			// With inotify a renamed file is taken at once: a settle time
			// of a minute shows it was not taken by the settle rule. Polling
			// cannot see renames and waits 200 ms.
			settle := time.Minute
			if m.poll {
				settle = 200 * time.Millisecond
			}
			f := start(t, dir, m.poll, settle)
			data := bytes.Repeat([]byte{1}, 2880*3)
			t1 := time.Now()
			p := writeRenamed(t, dir, "a.fits", data)
			file, ok := next(t, f, 10*time.Second)
			if !ok {
				t.Fatal("renamed file not taken within 10 s")
			}
			if file.Path != p || file.Size != int64(len(data)) || file.Renamed == m.poll {
				t.Errorf("got %+v: want %s, %d bytes, renamed %v", file, p, len(data), !m.poll)
			}
			if m.poll && file.Landed.Sub(t1) < settle {
				t.Errorf("polling took it %v after it landed, before the settle time %v", file.Landed.Sub(t1), settle)
			}
			// Replaced under the same name: not taken again.
			writeRenamed(t, dir, "a.fits", data[:2880])
			if file, ok := next(t, f, 600*time.Millisecond); ok {
				t.Errorf("a replaced file was taken again: %+v", file)
			}
		})
	}
}

func TestFollowSlowWriter(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			// A settle time of 1 s leaves 850 ms of margin over the pauses
			// of 150 ms on a loaded machine.
			const settle = time.Second
			f := start(t, dir, m.poll, settle)
			p := filepath.Join(dir, "slow.fits")
			w, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			// Five chunks 150 ms apart: each pause is shorter than the
			// settle time, so the file must not be taken before the last.
			chunk := bytes.Repeat([]byte{2}, 2880)
			var lastWrite time.Time // when the last write began
			for range 5 {
				lastWrite = time.Now()
				if _, err := w.Write(chunk); err != nil {
					t.Fatal(err)
				}
				if file, ok := next(t, f, 150*time.Millisecond); ok {
					t.Fatalf("partial file taken: %+v", file)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			file, ok := next(t, f, 10*time.Second)
			if !ok {
				t.Fatal("complete file not taken within 10 s")
			}
			if file.Size != 5*2880 || file.Renamed {
				t.Errorf("got %+v: want all 5 chunks (%d bytes) by the settle rule", file, 5*2880)
			}
			// A change seen by its mtime alone (a file first listed after
			// its last write) counts from the mtime, which the kernel
			// stamps from its coarse clock: up to one tick (10 ms at
			// HZ=100, the coarsest) before the write began.
			const tick = 10 * time.Millisecond
			if d := file.Landed.Sub(lastWrite); d < settle-tick {
				t.Errorf("taken %v after the last write began, before the settle time %v", d, settle)
			}
		})
	}
}

func TestFollowIgnoresAndExisting(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			data := []byte("SIMPLE")
			// Present before following starts: taken once, in mtime order.
			old := []string{"b_old.fits", "a_old.FIT"}
			for i, n := range old {
				p := filepath.Join(dir, n)
				if err := os.WriteFile(p, data, 0o644); err != nil {
					t.Fatal(err)
				}
				mt := time.Now().Add(time.Duration(i-10) * time.Second)
				if err := os.Chtimes(p, mt, mt); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Mkdir(filepath.Join(dir, "sub.fits"), 0o755); err != nil {
				t.Fatal(err)
			}
			// Settle 1 s with inotify: the existing files (9-10 s old) are
			// complete at once however slow this test runs.
			settle := 100 * time.Millisecond
			if !m.poll {
				settle = time.Second
			}
			f := start(t, dir, m.poll, settle)
			for _, n := range []string{".hidden.fits", "x.fits.tmp", "x.fits.part", "x.fits.PARTIAL", "notes.txt", "y.tmp"} {
				writeRenamed(t, dir, n, data)
				if err := os.WriteFile(filepath.Join(dir, strings.Replace(n, "x", "z", 1)+"~"), data, 0o644); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(dir, "."+n), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			writeRenamed(t, dir, "new.fts", data)
			var got []string
			for {
				file, ok := next(t, f, 2*time.Second)
				if !ok {
					break
				}
				got = append(got, filepath.Base(file.Path))
			}
			// The existing files, unchanged for longer than the settle
			// time, are complete: taken first, in mtime order, before any
			// file that arrives after the start (a restart must not make
			// them late behind newer files renamed in).
			want := "b_old.fits a_old.FIT new.fts"
			if strings.Join(got, " ") != want {
				t.Errorf("taken %v, want %s (nothing else)", got, want)
			}
		})
	}
}

func TestFollowFallsBackToPolling(t *testing.T) {
	refuse := errors.New("too many open files")
	newWatcher = func() (*fsnotify.Watcher, error) { return nil, refuse }
	t.Cleanup(func() { newWatcher = fsnotify.NewWatcher })
	dir := t.TempDir()
	var mu sync.Mutex
	var logs []string
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := Follow(ctx, Options{Dirs: []string{dir}, Interval: 50 * time.Millisecond, Settle: 100 * time.Millisecond,
		Logf: func(format string, a ...any) {
			mu.Lock()
			defer mu.Unlock()
			logs = append(logs, format)
		}})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Polling() {
		t.Fatal("inotify refused, but the follower does not poll")
	}
	mu.Lock()
	if len(logs) != 1 || !strings.Contains(logs[0], "polling") {
		t.Errorf("log %q: want one line saying it polls", logs)
	}
	mu.Unlock()
	writeRenamed(t, dir, "a.fits", []byte("SIMPLE"))
	if _, ok := next(t, f, 10*time.Second); !ok {
		t.Error("polling follower took nothing")
	}
	cancel()
	<-f.Done()
	if _, open := <-f.Files(); open {
		t.Error("Files() not closed after the context ended")
	}
}

func TestFollowErrors(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f.fits")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		dirs []string
		want string
	}{
		{"none", nil, "no directory"},
		{"missing", []string{filepath.Join(dir, "nope")}, "nope"},
		{"file", []string{file}, "not a directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Follow(context.Background(), Options{Dirs: c.dirs})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Follow(%v) error %v, want one naming %q", c.dirs, err, c.want)
			}
		})
	}
}

// TestFollowRemovedThenNew: a name removed after it was taken is
// forgotten (the follower's memory follows the directory), so a new file
// under that name is taken again.
func TestFollowRemovedThenNew(t *testing.T) {
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			dir := t.TempDir()
			f := start(t, dir, m.poll, 100*time.Millisecond)
			p := writeRenamed(t, dir, "a.fits", []byte("first"))
			if _, ok := next(t, f, 10*time.Second); !ok {
				t.Fatal("first file not taken")
			}
			if err := os.Remove(p); err != nil {
				t.Fatal(err)
			}
			// Let a poll see the directory without it.
			time.Sleep(300 * time.Millisecond)
			writeRenamed(t, dir, "a.fits", []byte("second file"))
			file, ok := next(t, f, 10*time.Second)
			if !ok || file.Size != int64(len("second file")) {
				t.Fatalf("new file under a removed name: %+v, %v", file, ok)
			}
		})
	}
}

// BenchmarkFollowRenamed measures the follower's latency with inotify:
// each op renames a file into the followed directory and waits for it to
// come out of Files().
func BenchmarkFollowRenamed(b *testing.B) {
	dir := b.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := Follow(ctx, Options{Dirs: []string{dir}, Settle: time.Minute})
	if err != nil {
		b.Fatal(err)
	}
	if f.Polling() {
		b.Skip("inotify unavailable")
	}
	data := bytes.Repeat([]byte{1}, 2880)
	tmp := filepath.Join(dir, ".x.tmp")
	b.ReportAllocs()
	for i := range b.N {
		if err := os.WriteFile(tmp, data, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(dir, "img"+strconv.Itoa(i)+".fits")); err != nil {
			b.Fatal(err)
		}
		<-f.Files()
	}
}
