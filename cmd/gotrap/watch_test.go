package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotrap/internal/respond"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
	"gotrap/internal/watch"
)

// catalogueDump is every table of a run as CSV, in a fixed order.
func catalogueDump(t *testing.T, run string) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{
		"SELECT * EXCLUDE (url) FROM images ORDER BY id",
		"SELECT * FROM measurements ORDER BY id",
		"SELECT * FROM associations ORDER BY runcat, xtrsrc",
		"SELECT * FROM runcat ORDER BY id",
		"SELECT * FROM runcat_flux ORDER BY runcat, band",
		"SELECT * FROM newsources ORDER BY runcat",
		"SELECT * FROM varmetric ORDER BY runcat, band",
		"SELECT * FROM limits ORDER BY ALL",
		"SELECT * FROM events ORDER BY id",
	} {
		code, out, stderr := runCmd(t, "query", run, "--format", "csv", "--sql", q)
		if code != 0 || strings.Count(out, "\n") < 2 {
			t.Fatalf("%s: %s: exit %d, %q %s", run, q, code, out, stderr)
		}
		b.WriteString(out)
	}
	return b.String()
}

// TestWatch: "gotrap watch" fed tiny's images timestep by timestep, some
// renamed into place and some written slowly in place, killed (SIGKILL)
// at random moments and started again, then stopped by SIGTERM, exits 0
// with the catalogue of "gotrap run" over the same images, every table;
// an image of a closed timestep is late: logged, counted and listed, not
// added.
func TestWatch(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	d := t.TempDir()
	data := filepath.Join(d, "sim")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--set", "timesteps=6", "--seed", "2", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	files, err := filepath.Glob(filepath.Join(data, "images", "*.fits"))
	if err != nil || len(files) != 12 {
		t.Fatalf("%d images (%v)", len(files), err)
	}
	sort.Strings(files) // tTTTT_...: timestep order
	// Settle 0.3 s: a slow writer below pauses 0.1 s between chunks.
	job := filepath.Join(d, "job.toml")
	if err := os.WriteFile(job, []byte("[watch]\nsettle = 0.3\npoll_interval = 0.2\ntimeout = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, other := filepath.Join(d, "in"), filepath.Join(d, "other")
	for _, dir := range []string{in, other} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run := filepath.Join(d, "run")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{"watch", "--out", run, "-c", job, "--progress-every", "1s", in, other})
	var logs strings.Builder
	start := func() (*exec.Cmd, chan error) {
		cmd := exec.Command(exe, "-test.run=^TestRunFaultsChild$")
		cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args))
		cmd.Stderr = &syncWriter{w: &logs}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		return cmd, done
	}
	const seed = 7
	rng := rand.New(rand.NewPCG(seed, 1))
	cmd, done := start()
	waitStatus(t, run, done, &logs)
	// A reader queries the run while it grows: every snapshot is one
	// commit's, in which every measurement is associated and every
	// association names a measurement (a half-published commit, parts
	// newer than the tables or the reverse, breaks one or the other).
	stopReader, readerDone := make(chan struct{}), make(chan struct{})
	snapshots := 0
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stopReader:
				return
			default:
			}
			code, out, _ := runCmd(t, "query", run, "--format", "csv", "--sql",
				`SELECT (SELECT count(*) FROM measurements m ANTI JOIN associations a ON a.xtrsrc = m.id) || ' ' ||
				        (SELECT count(*) FROM associations a ANTI JOIN measurements m ON m.id = a.xtrsrc) AS orphans`)
			if code != 0 {
				continue // no catalogue yet
			}
			if strings.TrimSpace(strings.TrimPrefix(out, "orphans\n")) != "0 0" {
				t.Errorf("a reader saw a half-published commit: orphan measurements, associations %q", out)
			}
			snapshots++
		}
	}()
	killed := 0
	for k := 0; k < len(files); k += 2 {
		// The first image of the timestep is renamed into place; the
		// second written in place in three chunks.
		renameInto(t, files[k], filepath.Join(in, filepath.Base(files[k])))
		writeSlowly(t, files[k+1], filepath.Join(in, filepath.Base(files[k+1])), 3, 100*time.Millisecond)
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		if k == 2 || k == 6 {
			// SIGKILL at a random moment of the next second, then the same
			// command again.
			time.Sleep(time.Duration(rng.IntN(1000)) * time.Millisecond)
			cmd.Process.Kill()
			<-done
			killed++
			cmd, done = start()
		}
	}
	waitCommits(t, run, 6, done, &logs)
	close(stopReader)
	<-readerDone
	if snapshots < 5 {
		t.Errorf("the reader saw %d snapshots of the growing run, want at least 5", snapshots)
	}
	// An image of the first timestep under a new name: late.
	renameInto(t, files[0], filepath.Join(other, "again.fits"))
	deadline := time.Now().Add(20 * time.Second)
	for {
		s, err := watch.ReadStatus(run)
		if err == nil && s.Late >= 1 {
			// The process's memory as the dashboard reads it: the
			// kernel's RSS holds the Go runtime's part, and DuckDB's
			// (the events stream has run) is counted.
			if m := s.Memory; m == nil || m.RSS <= 0 || m.GoResident <= 0 || m.GoResident > m.RSS || m.DuckDB <= 0 {
				t.Errorf("status.json memory %+v: want RSS > Go resident > 0 and DuckDB's bytes", m)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the late image was not counted (status %+v, %v)\n%s", s, err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The events written commit by commit (respond.Stream: the state of
	// each light curve, rebuilt after each kill), before the watch's end
	// computes them over the whole run as a batch run does.
	live, err := respond.ReadEvents(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("watch after SIGTERM: %v (want exit 0)\n%s", err, logs.String())
	}
	if killed != 2 {
		t.Fatalf("%d kills", killed)
	}
	if late, err := os.ReadFile(rundir.LatePath(run)); err != nil || !strings.Contains(string(late), "again.fits") {
		t.Errorf("late.txt: %q (%v), want again.fits listed", late, err)
	}
	if !strings.Contains(logs.String(), "late image "+filepath.Join(other, "again.fits")) {
		t.Errorf("no log line names the late image:\n%s", logs.String())
	}
	sameAsBatch(t, filepath.Join(d, "batch"), job, in, run, live, fmt.Sprintf("killed twice, seed %d", seed))
	cs, err := watch.ReadCommitsFile(run)
	if err != nil || len(cs) == 0 {
		t.Fatalf("commits log: %d lines, %v", len(cs), err)
	}
	for _, c := range cs {
		// No [[response]] rule: nothing is sent, VOEvents is 0.
		if c.Committed <= 0 || c.VOEvents != 0 || c.Images != 2 {
			t.Errorf("commits log line %+v: want 2 images, a commit time, no responses", c)
		}
	}
}

// waitStatus waits until the watch on run follows its directories (its
// status file exists): files written before are taken by the settle
// rule, after those renamed in later.
func waitStatus(t *testing.T, run string, done chan error, logs *strings.Builder) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := watch.ReadStatus(run); err == nil {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("watch ended (%v) before following\n%s", err, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("watch not following after 60 s\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitCommits waits until run has committed n timesteps.
func waitCommits(t *testing.T, run string, n int, done chan error, logs *strings.Builder) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, err := rundir.ReadCommit(run)
		if err == nil && c.Timesteps >= n {
			return
		}
		select {
		case err := <-done:
			t.Fatalf("watch ended (%v) before %d timesteps were committed\n%s", err, n, logs.String())
		default:
		}
		if time.Now().After(deadline) {
			rl, _ := os.ReadFile(rundir.RankLogPath(run, 0))
			t.Fatalf("%d timesteps committed after 60 s, want %d\n%s\nrank log:\n%s", c.Timesteps, n, logs.String(), rl)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// renameInto copies src to a temporary name beside dst and renames it.
func renameInto(t *testing.T, src, dst string) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dst); err != nil {
		t.Fatal(err)
	}
}

// writeSlowly writes src to dst in place in n chunks, pause apart.
func writeSlowly(t *testing.T, src, dst string, n int, pause time.Duration) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(dst)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for k := range n {
		lo, hi := k*len(b)/n, (k+1)*len(b)/n
		if _, err := f.Write(b[lo:hi]); err != nil {
			t.Fatal(err)
		}
		f.Sync()
		if k < n-1 {
			time.Sleep(pause)
		}
	}
}

// syncWriter serialises the writes of several processes' output copiers.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

// TestWatchListen: an alert that "gotrap listen --send" receives while a
// gotrap watch holds the run is queued for it; the watch follows it up
// between two timesteps (the light curve at its position back in time,
// its event) and fits the position as a monitor in every image from its
// next timestep on, and in none before.
func TestWatchListen(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	packet := filepath.Join(testutil.SharedFile(t, "voevents"), "swift-bat-grb-pos_655721-214.xml")
	d := t.TempDir()
	data := filepath.Join(d, "sw")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "3", "--quiet", "--set", "timesteps=6",
		"--set", "centre_ra=319.7309", "--set", "centre_dec=-34.8537", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	files, err := filepath.Glob(filepath.Join(data, "images", "*.fits"))
	if err != nil || len(files) != 12 {
		t.Fatalf("%d images (%v)", len(files), err)
	}
	sort.Strings(files)
	job := filepath.Join(d, "job.toml")
	if err := os.WriteFile(job, []byte("[watch]\nsettle = 0.3\ntimeout = 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	in, run := filepath.Join(d, "in"), filepath.Join(d, "run")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{"watch", "--out", run, "-c", job, in})
	var logs strings.Builder
	cmd := exec.Command(exe, "-test.run=^TestRunFaultsChild$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args))
	cmd.Stderr = &syncWriter{w: &logs}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	feed := func(from, to int) {
		for k := from; k < to; k += 2 {
			renameInto(t, files[k], filepath.Join(in, filepath.Base(files[k])))
			renameInto(t, files[k+1], filepath.Join(in, filepath.Base(files[k+1])))
			time.Sleep(300 * time.Millisecond)
		}
	}
	waitStatus(t, run, done, &logs)
	feed(0, 6)
	waitCommits(t, run, 2, done, &logs)
	code, stdout, stderr := runCmd(t, "listen", "--run", run, "--send", packet)
	if code != 0 || !strings.Contains(stdout, "queued") {
		t.Fatalf("listen on a live run: exit %d, %s %s", code, stdout, stderr)
	}
	c0, err := rundir.ReadCommit(run)
	if err != nil {
		t.Fatal(err)
	}
	// The follow-up happens before the watch's next timestep.
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m, _ := filepath.Glob(rundir.AlertInboxGlob(run)); len(m) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the queued alert was not followed up in 30 s\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	feed(6, 12)
	waitCommits(t, run, 6, done, &logs)
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("watch after SIGTERM: %v\n%s", err, logs.String())
	}
	// The monitor's first timestep: one not committed when the alert came.
	man, err := rundir.ReadManifest(run)
	if err != nil || len(man.LiveMonitors) != 1 || man.LiveMonitors[0].From < c0.Timesteps {
		t.Fatalf("live monitors %+v (%v): want one from timestep %d or later", man.LiveMonitors, err, c0.Timesteps)
	}
	from := man.LiveMonitors[0].From
	if m, _ := filepath.Glob(filepath.Join(rundir.AlertsDir(run), "*.parquet")); len(m) != 1 {
		t.Errorf("alert light curves: %v, want one", m)
	}
	_, out, _ := runCmd(t, "query", run, "--format", "csv", "--sql", "SELECT count(*) AS n FROM events WHERE type = 'alert'")
	if strings.TrimSpace(strings.TrimPrefix(out, "n\n")) != "1" {
		t.Errorf("alert events: %q, want 1", out)
	}
	_, out, _ = runCmd(t, "query", run, "--format", "csv", "--sql",
		`SELECT i.timestep, count(m.id) AS fits FROM images i LEFT JOIN measurements m ON m.image = i.id AND m.extract_type = 2
		 WHERE NOT i.rejected GROUP BY i.timestep ORDER BY i.timestep`)
	rows := strings.Split(strings.TrimSpace(out), "\n")[1:]
	if len(rows) == 0 {
		t.Fatalf("no images: %q", out)
	}
	for _, r := range rows {
		var ts, n int
		fmt.Sscanf(strings.ReplaceAll(r, ",", " "), "%d %d", &ts, &n)
		if (ts >= from) != (n > 0) {
			t.Errorf("timestep %d: %d monitor fits; the alert came before timestep %d", ts, n, from)
		}
	}
}

// TestWatchBatch: a watch that finds several timesteps closed at once
// (here every image is there before it starts, as after a pause) commits
// them together, and the run is still the batch run's, every table and
// the events; the commits log still has one line per timestep.
func TestWatchBatch(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	d := t.TempDir()
	data := filepath.Join(d, "sim")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--set", "timesteps=6", "--seed", "3", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	in := filepath.Join(data, "images")
	// The files a watch finds when it starts are taken in the order of
	// their modification times (an imager writes them in time order;
	// the simulator does not).
	files, err := filepath.Glob(filepath.Join(in, "*.fits"))
	if err != nil || len(files) != 12 {
		t.Fatalf("%d images (%v)", len(files), err)
	}
	sort.Strings(files) // tTTTT_...: timestep order
	t0 := time.Now().Add(-time.Hour)
	for i, f := range files {
		at := t0.Add(time.Duration(i) * time.Second)
		if err := os.Chtimes(f, at, at); err != nil {
			t.Fatal(err)
		}
	}
	job := filepath.Join(d, "job.toml")
	if err := os.WriteFile(job, []byte("[watch]\nsettle = 0.2\npoll_interval = 0.2\ntimeout = 0\nimages_per_timestep = 2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(d, "run")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{"watch", "--out", run, "-c", job, "--progress-every", "1s", in})
	var logs strings.Builder
	cmd := exec.Command(exe, "-test.run=^TestRunFaultsChild$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args))
	cmd.Stderr = &syncWriter{w: &logs}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The commits log is written after a commit's events.
	deadline := time.Now().Add(60 * time.Second)
	for {
		if cs, err := watch.ReadCommitsFile(run); err == nil && len(cs) >= 6 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("6 timesteps not in the commits log after 60 s\n%s", logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	live, err := respond.ReadEvents(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("watch after SIGTERM: %v (want exit 0)\n%s", err, logs.String())
	}
	cs, err := watch.ReadCommitsFile(run)
	if err != nil || len(cs) != 6 {
		t.Fatalf("commits log: %d lines (%v), want one per timestep (6)", len(cs), err)
	}
	commits := map[int64]bool{}
	for i, c := range cs {
		if c.Timestep != i || c.Images != 2 {
			t.Errorf("commits log line %d: %+v, want timestep %d of 2 images", i, c, i)
		}
		commits[c.Committed] = true
	}
	if len(commits) == len(cs) {
		t.Errorf("%d commits for %d timesteps found closed together: want fewer\n%s", len(commits), len(cs), logs.String())
	}
	sameAsBatch(t, filepath.Join(d, "batch"), job, in, run, live, "timesteps committed together")
}

// sameAsBatch runs "gotrap run" over in with job into batch and compares
// its catalogue (every table) with the watched run's, and its events
// with live, those the watch wrote commit by commit.
func sameAsBatch(t *testing.T, batch, job, in, run string, live []respond.Event, what string) {
	t.Helper()
	if code, _, stderr := runCmd(t, "run", "--out", batch, "-c", job, "--quiet", in); code != 0 {
		t.Fatalf("batch run: %s", stderr)
	}
	if a, b := catalogueDump(t, batch), catalogueDump(t, run); a != b {
		t.Errorf("watched run (%s) differs from the batch run:\nbatch\n%s\nwatched\n%s", what, a, b)
	}
	want, err := respond.ReadEvents(batch)
	if err != nil || len(want) == 0 {
		t.Fatalf("batch run: %d events (%v): nothing to compare", len(want), err)
	}
	if !reflect.DeepEqual(live, want) {
		t.Errorf("events written commit by commit (%d, %s) differ from the batch run's (%d)", len(live), what, len(want))
		for i := range min(len(live), len(want)) {
			if !reflect.DeepEqual(live[i], want[i]) {
				t.Errorf("first difference, row %d:\nlive  %+v\nbatch %+v", i, live[i], want[i])
				break
			}
		}
	}
}
