package rundir

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestLockSecondWriterFails(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	l, err := Acquire(dir, "gotrap run")
	if err != nil {
		t.Fatal(err)
	}
	// flock locks belong to an open file description: a second open in
	// this process conflicts like one in another process.
	_, err = Acquire(dir, "gotrap report")
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second Acquire: %v, want ErrLocked", err)
	}
	host, _ := os.Hostname()
	for _, want := range []string{"pid " + strconv.Itoa(os.Getpid()), "host " + host, "gotrap run"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	}
	if err := l.Unlock(); err != nil {
		t.Fatal(err)
	}
	l2, err := Acquire(dir, "gotrap report")
	if err != nil {
		t.Fatalf("after Unlock: %v", err)
	}
	if l2.Stale != nil {
		t.Errorf("a released lock reads as stale: %v", l2.Stale)
	}
	l2.Unlock()
}

func TestLockStale(t *testing.T) {
	dir := t.TempDir()
	// What a killed holder leaves: its record, and no flock.
	rec := "pid 4242\nhost node17\nwhat gotrap run\nstarted 2026-01-01T00:00:00Z\n"
	if err := os.WriteFile(filepath.Join(dir, LockFile), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(dir, "gotrap run")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Unlock()
	if l.Stale == nil || l.Stale.PID != 4242 || l.Stale.Host != "node17" {
		t.Fatalf("Stale = %+v, want pid 4242 on node17", l.Stale)
	}
}

func TestCreateUniqueAndAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "runcat.parquet")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	a, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if a.Name() == b.Name() {
		t.Fatalf("two writers share the temporary file %s", a.Name())
	}
	for _, f := range []*File{a, b} {
		if !IsTemp(filepath.Base(f.Name())) {
			t.Errorf("IsTemp(%s) = false", f.Name())
		}
	}
	a.WriteString("from a")
	b.WriteString("from b, longer")
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Fatalf("before Commit the file holds %q", got)
	}
	if err := a.Commit(); err != nil {
		t.Fatal(err)
	}
	b.Abort()
	if got, _ := os.ReadFile(path); string(got) != "from a" {
		t.Fatalf("after Commit: %q", got)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("left %d files, want 1: %v", len(ents), ents)
	}
}

func TestIsTempAndRemoveTemps(t *testing.T) {
	for _, c := range []struct {
		name string
		want bool
	}{
		{".runcat.parquet.123456.tmp", true},
		{".manifest.json.9.tmp", true},
		{"runcat.parquet.123.tmp", false}, // not hidden
		{".runcat.parquet.tmp", false},    // the old fixed name: no random part
		{".notes.abc.tmp", false},
		{"mydata.csv", false},
		{"..1.tmp", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := IsTemp(c.name); got != c.want {
				t.Errorf("IsTemp(%q) = %v, want %v", c.name, got, c.want)
			}
		})
	}
	dir := t.TempDir()
	keep := []string{"mydata.csv", "sub/.notes.abc.tmp", "sub/x.parquet"}
	drop := []string{".a.parquet.1.tmp", "sub/deeper/.b.parquet.22.tmp"}
	for _, p := range append(keep, drop...) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte("x"), 0o644)
	}
	n, err := RemoveTemps(dir)
	if err != nil || n != len(drop) {
		t.Fatalf("RemoveTemps = %d, %v; want %d", n, err, len(drop))
	}
	for _, p := range keep {
		if _, err := os.Stat(filepath.Join(dir, p)); err != nil {
			t.Errorf("%s was removed: %v", p, err)
		}
	}
}

func TestCheckReplaceable(t *testing.T) {
	root := t.TempDir()
	mk := func(name string, files ...string) string {
		d := filepath.Join(root, name)
		os.MkdirAll(d, 0o755)
		for _, f := range files {
			os.MkdirAll(filepath.Dir(filepath.Join(d, f)), 0o755)
			os.WriteFile(filepath.Join(d, f), []byte("x"), 0o644)
		}
		return d
	}
	ours := mk("ours", "index.html", "plots/a.svg")
	if err := Mark(ours); err != nil {
		t.Fatal(err)
	}
	tampered := mk("tampered", "index.html")
	Mark(tampered)
	os.WriteFile(filepath.Join(tampered, "thesis.tex"), []byte("mine"), 0o644)
	for _, c := range []struct {
		name, dir string
		ok        bool
	}{
		{"absent", filepath.Join(root, "none"), true},
		{"empty", mk("empty"), true},
		{"marked", ours, true},
		{"user folder", mk("user", "thesis.tex"), false},
		{"marked plus a user file", tampered, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := CheckReplaceable(c.dir)
			if (err == nil) != c.ok {
				t.Fatalf("CheckReplaceable(%s) = %v, want ok=%v", c.name, err, c.ok)
			}
			if err != nil && !errors.Is(err, ErrNotOurs) {
				t.Errorf("error %v does not wrap ErrNotOurs", err)
			}
		})
	}
}

func TestEscapeName(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"obs/t0.fits", "obs/t0.fits"},
		{"données/é.fits", "données/é.fits"},
		{`a\b.fits`, `a\b.fits`}, // valid: as given
		{"bad\xff\xfe.fits", `bad\xff\xfe.fits`},
		{"bad\xff\\x41.fits", `bad\xff\\x41.fits`},
		{"trunc\xc3", `trunc\xc3`},
	} {
		t.Run(c.in, func(t *testing.T) {
			got := EscapeName(c.in)
			if got != c.want {
				t.Errorf("EscapeName(%q) = %q, want %q", c.in, got, c.want)
			}
			if !utf8.ValidString(got) {
				t.Errorf("%q is not valid UTF-8", got)
			}
			if got != c.in && UnescapeName(got) != c.in {
				t.Errorf("UnescapeName(%q) = %q, want %q", got, UnescapeName(got), c.in)
			}
		})
	}
}

func FuzzEscapeName(f *testing.F) {
	f.Add([]byte("a\xffb\\x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		s := string(b)
		e := EscapeName(s)
		if !utf8.ValidString(e) {
			t.Fatalf("EscapeName(%q) = %q: not UTF-8", s, e)
		}
		if e != s && UnescapeName(e) != s {
			t.Fatalf("round trip of %q: %q -> %q", s, e, UnescapeName(e))
		}
	})
}

// TestBatch checks rundir.Batch: nothing under a final name before
// Commit, every file whole after it, no temporary file left; a failed
// write leaves its path untouched; Abort and a failed Commit remove the
// temporary files and leave the final names as they were.
func TestBatch(t *testing.T) {
	write := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	t.Run("commit", func(t *testing.T) {
		dir := t.TempDir()
		a, c := filepath.Join(dir, "a.csv"), filepath.Join(dir, "sub", "c.reg")
		if err := os.WriteFile(a, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		var b Batch
		if err := b.WriteFunc(a, write("new a")); err != nil {
			t.Fatal(err)
		}
		boom := errors.New("boom")
		bad := filepath.Join(dir, "b.parquet")
		if err := b.WriteFunc(bad, func(io.Writer) error { return boom }); !errors.Is(err, boom) || !strings.Contains(err.Error(), bad) {
			t.Fatalf("failed write: %v, want boom naming %s", err, bad)
		}
		if err := b.WriteFunc(c, write("new c")); err != nil {
			t.Fatal(err)
		}
		if got, _ := os.ReadFile(a); string(got) != "old" {
			t.Fatalf("before Commit %s holds %q", a, got)
		}
		if _, err := os.Stat(c); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("before Commit %s exists (%v)", c, err)
		}
		if err := b.Commit(); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]string{a: "new a", c: "new c"} {
			got, err := os.ReadFile(p)
			if err != nil || string(got) != want {
				t.Errorf("%s: %q, %v; want %q", p, got, err, want)
			}
			if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o644 {
				t.Errorf("%s: mode %v, %v; want 0644", p, st.Mode(), err)
			}
		}
		if _, err := os.Stat(bad); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the failed write left %s (%v)", bad, err)
		}
		if n, _ := RemoveTemps(dir); n != 0 {
			t.Errorf("%d temporary files left", n)
		}
	})
	t.Run("abort", func(t *testing.T) {
		dir := t.TempDir()
		var b Batch
		if err := b.WriteFunc(filepath.Join(dir, "x"), write("x")); err != nil {
			t.Fatal(err)
		}
		b.Abort()
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("Abort left %v", ents)
		}
	})
	t.Run("commit fails", func(t *testing.T) {
		dir := t.TempDir()
		x, y := filepath.Join(dir, "x"), filepath.Join(dir, "y")
		var b Batch
		for _, p := range []string{x, y} {
			if err := b.WriteFunc(p, write(p)); err != nil {
				t.Fatal(err)
			}
		}
		// A folder in y's way: its rename fails after x's.
		if err := os.Mkdir(y, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(y, "keep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		err := b.Commit()
		if err == nil || !strings.Contains(err.Error(), y) {
			t.Fatalf("Commit = %v, want an error naming %s", err, y)
		}
		if got, _ := os.ReadFile(x); string(got) != x {
			t.Errorf("x, renamed before the failure, holds %q", got)
		}
		if n, _ := RemoveTemps(dir); n != 0 {
			t.Errorf("%d temporary files left", n)
		}
	})
}
