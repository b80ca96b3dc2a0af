package rundir

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestLayout pins every path of RUN/ to DESIGN.md "Run directory" and
// docs/catalog.md: other packages, scripts and users' notebooks rely on
// these names.
func TestLayout(t *testing.T) {
	run := "/data/RUN"
	for _, c := range []struct{ name, got, want string }{
		{"config", ConfigPath(run), "/data/RUN/gotrap.toml"},
		{"manifest", ManifestPath(run), "/data/RUN/manifest.json"},
		{"status", StatusPath(run), "/data/RUN/status.json"},
		{"sbatch", SbatchPath(run), "/data/RUN/gotrap.sbatch"},
		{"logs", LogsDir(run), "/data/RUN/logs"},
		{"rank log", RankLogPath(run, 3), "/data/RUN/logs/rank-0003.log"},
		{"slurm log", SlurmLogPath(run, "%j"), "/data/RUN/logs/slurm-%j.out"},
		{"summary", SummaryPath(run), "/data/RUN/logs/summary.txt"},
		{"work", WorkDir(run), "/data/RUN/work"},
		{"step", StepDir(run, "extract"), "/data/RUN/work/extract"},
		{"staged", StagedPath(run, "extract", 12, "blind.parquet"), "/data/RUN/work/extract/00000012.blind.parquet"},
		{"commit", CommitPath(run), "/data/RUN/work/commit.json"},
		{"links", LinksDir(run), "/data/RUN/work/links"},
		{"table", TablePath(run, "runcat"), "/data/RUN/runcat.parquet"},
		{"table dir", TableDir(run, "measurements"), "/data/RUN/measurements"},
		{"part", PartPath(run, "measurements", 3, "blind", 0), "/data/RUN/measurements/rank=0003/blind-00000.parquet"},
		{"part no stage", PartPath(run, "measurements", 12, "", 7), "/data/RUN/measurements/rank=0012/part-00007.parquet"},
		{"table part", TablePartPath(run, "associations", "backward"), "/data/RUN/associations/backward-00000.parquet"},
		{"events", EventsPath(run), "/data/RUN/events.parquet"},
		{"responses", ResponsesDir(run), "/data/RUN/responses"},
		{"responses log", ResponsesLogPath(run), "/data/RUN/responses/deliveries.jsonl"},
		{"alerts", AlertsDir(run), "/data/RUN/alerts"},
		{"report", ReportDir(run), "/data/RUN/report"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %s, want %s", c.got, c.want)
			}
		})
	}
}

// TestGlobs: the glob patterns match the paths their functions make, and
// only those.
func TestGlobs(t *testing.T) {
	run := t.TempDir()
	want := []string{
		PartPath(run, "measurements", 0, "blind", 0),
		PartPath(run, "measurements", 1, "blind", 3),
		PartPath(run, "measurements", 1, "blind", 123456), // past five digits
	}
	other := []string{
		PartPath(run, "measurements", 1, "forced", 0),
		filepath.Join(TableDir(run, "measurements"), "rank=0001", "notes.parquet"),
		filepath.Join(TableDir(run, "measurements"), "rank=x", "blind-00000.parquet"),
	}
	for _, p := range append(append([]string{}, want...), other...) {
		if err := WriteFile(p, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		name, pattern string
		want          []string
	}{
		{"blind", PartGlob(run, "measurements", "blind"), want},
		{"every stage", PartGlob(run, "measurements", ""), []string{want[0], want[1], want[2], other[0]}},
		{"rank dirs", RankDirGlob(run, "measurements"), []string{filepath.Dir(want[0]), filepath.Dir(want[1])}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := filepath.Glob(c.pattern)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("Glob(%s) = %v, want %v", c.pattern, got, c.want)
			}
		})
	}
}

func TestPreManifest(t *testing.T) {
	for name, want := range map[string]bool{
		"logs": true, "gotrap.toml": true, "gotrap.sbatch": true, LockFile: true, ".manifest.json.123.tmp": true,
		"manifest.json": false, "runcat.parquet": false, "work": false, "notes.txt": false,
	} {
		if got := PreManifest(name); got != want {
			t.Errorf("PreManifest(%q) = %v, want %v", name, got, want)
		}
	}
}

// TestManifestRoundTrip: what WriteManifest writes ReadManifest reads
// back; MarkStage records a stage; a missing manifest wraps
// fs.ErrNotExist and a corrupt one names the file.
func TestManifestRoundTrip(t *testing.T) {
	run := t.TempDir()
	if _, err := ReadManifest(run); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("ReadManifest of an empty folder: %v, want fs.ErrNotExist", err)
	}
	m := &Manifest{Version: "v1", ConfigHash: "sha256:ab", Ranks: 2,
		Inputs: []InputFile{{Path: `a\xff.fits`, PathRaw: []byte("a\xff.fits"), Size: 10, XXH64: "00ff",
			Catalogue: &InputFile{Path: "a.csv", Size: 1}}}}
	m.Entry("plan").Done = true
	m.Entry("timesteps")
	m.Reset("plan")
	if err := WriteManifest(run, m); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("read back %+v, want %+v", got, m)
	}
	if got.Done("plan") || len(got.Stages) != 2 {
		t.Fatalf("stages %+v: want plan and timesteps, not done", got.Stages)
	}
	if err := MarkStage(run, "varmetric", time.Now(), 7); err != nil {
		t.Fatal(err)
	}
	got, err = ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	if !got.Done("varmetric") || got.Entry("varmetric").Items != 7 {
		t.Errorf("after MarkStage: %+v", got.Stages)
	}
	if err := os.WriteFile(ManifestPath(run), []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadManifest(run); err == nil || !bytes.Contains([]byte(err.Error()), []byte(ManifestPath(run))) {
		t.Errorf("corrupt manifest: %v, want an error naming %s", err, ManifestPath(run))
	}
}

func TestCommitRoundTrip(t *testing.T) {
	run := t.TempDir()
	c, err := ReadCommit(run)
	if err != nil || c != (Commit{}) {
		t.Fatalf("ReadCommit of a new run = %+v, %v; want zero", c, err)
	}
	want := Commit{Timesteps: 3, Images: 12, LastStart: time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)}
	if err := WriteCommit(run, want); err != nil {
		t.Fatal(err)
	}
	if c, err = ReadCommit(run); err != nil || !c.LastStart.Equal(want.LastStart) || c.Timesteps != 3 || c.Images != 12 {
		t.Fatalf("ReadCommit = %+v, %v; want %+v", c, err, want)
	}
}

// TestWriteFuncFailure: a failing writer leaves the old content and no
// temporary file.
func TestWriteFuncFailure(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "sub", "f.txt")
	if err := WriteFile(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	err := WriteFunc(p, func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WriteFunc: %v, want boom", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "old" {
		t.Errorf("content %q after a failed write, want old", b)
	}
	if ents, _ := os.ReadDir(filepath.Dir(p)); len(ents) != 1 {
		t.Errorf("folder holds %d entries, want 1 (no temporary file)", len(ents))
	}
}

// TestCommitDir: a folder replaces one gotrap made, never one with a
// foreign file.
func TestCommitDir(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "report")
	write := func(name string) {
		t.Helper()
		tmp, err := CreateDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, name), []byte(name), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := CommitDir(tmp, dir); err != nil {
			t.Fatal(err)
		}
	}
	write("a.html")
	write("b.html")
	if _, err := os.Stat(filepath.Join(dir, "a.html")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the replaced folder's a.html survives: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.html")); err != nil {
		t.Error(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "mine.txt"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tmp, err := CreateDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := CommitDir(tmp, dir); !errors.Is(err, ErrNotOurs) {
		t.Fatalf("CommitDir over a foreign file: %v, want ErrNotOurs", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "mine.txt")); err != nil {
		t.Errorf("the user's file: %v", err)
	}
	if ents, _ := os.ReadDir(parent); len(ents) != 1 {
		t.Errorf("parent holds %d entries, want 1 (the temporary folder removed)", len(ents))
	}
}

// TestPartSeq: the number of a part path, at five digits and past them;
// names that are not STAGE-DIGITS.parquet have none.
func TestPartSeq(t *testing.T) {
	for _, c := range []struct {
		path string
		n    int
		ok   bool
	}{
		{PartPath("/r", "measurements", 0, "blind", 0), 0, true},
		{PartPath("/r", "measurements", 2, "forced", 42), 42, true},
		{PartPath("/r", "measurements", 2, "monitor", 1234567), 1234567, true},
		{"/r/measurements/rank=0000/blind-.parquet", 0, false},
		{"/r/measurements/rank=0000/blind-12x.parquet", 0, false},
		{"/r/measurements/rank=0000/blind-00001.json", 0, false},
		{"/r/measurements/rank=0000/notes.parquet", 0, false},
		{PackPath("/r", 3, 123456), 123456, true},
		{"/r/measurements/rank=0000/blind-99999999999999999999999.parquet", 0, false},
	} {
		n, ok := PartSeq(c.path)
		if n != c.n || ok != c.ok {
			t.Errorf("PartSeq(%s) = %d, %v; want %d, %v", c.path, n, ok, c.n, c.ok)
		}
	}
}
