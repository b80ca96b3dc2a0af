package pipeline

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cespare/xxhash/v2"

	"gotrap/catalog"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
)

// linkImages makes a folder of symbolic links to the tiny preset's
// images, for tests that add entries to it.
func linkImages(t *testing.T, data string) string {
	t.Helper()
	src := filepath.Join(data, "images")
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if err := os.Symlink(filepath.Join(src, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestListedBadEntries is the red team's case 5: a dangling symbolic link
// in an input folder stopped the whole run. Every entry a listing finds
// that is not a readable regular file (a dangling link, a named pipe, a
// socket, a folder that cannot be listed, an unreadable file) is a
// recorded rejection and the run goes on; the same dangling link named on
// the command line stops it before anything is written.
func TestListedBadEntries(t *testing.T) {
	data := tiny(t)
	dir := linkImages(t, data)
	bad := map[string]string{
		"dangling.fits": "no such file",
		"pipe.fits":     "not a regular file",
		"sock.fits":     "not a regular file",
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere.fits"), filepath.Join(dir, "dangling.fits")); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mkfifo(filepath.Join(dir, "pipe.fits"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A socket path must be short (108 bytes): listen in the folder.
	wd, _ := os.Getwd()
	os.Chdir(dir)
	l, err := net.Listen("unix", "sock.fits")
	os.Chdir(wd)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if os.Geteuid() != 0 {
		// Root reads every file: unreadable entries exist for others only.
		os.WriteFile(filepath.Join(dir, "secret.fits"), []byte("x"), 0o000)
		os.Mkdir(filepath.Join(dir, "locked"), 0o000)
		defer os.Chmod(filepath.Join(dir, "locked"), 0o755)
		bad["secret.fits"] = "permission denied"
		bad["locked"] = "permission denied"
	} else {
		t.Log("running as root: the unreadable file and folder cases need another user")
	}
	inputs, err := ExpandInputs([]string{dir})
	if err != nil {
		t.Fatalf("listing: %v", err)
	}
	run := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2}); err != nil {
		t.Fatalf("the run stopped: %v", err)
	}
	seen := 0
	for _, im := range pipetest.ReadCatalogue(t, run).Images {
		want, ok := bad[filepath.Base(im.URL)]
		if !ok {
			continue
		}
		seen++
		if !im.Rejected || im.RejectReason.Int64 != catalog.RejectReadError || !strings.Contains(strings.ToLower(im.RejectComment), want) {
			t.Errorf("%s: rejected %v reason %v %q, want a read error with %q", im.URL, im.Rejected, im.RejectReason, im.RejectComment, want)
		}
	}
	if seen != len(bad) {
		t.Errorf("%d of %d bad entries are rows of images.parquet", seen, len(bad))
	}
	_, err = ExpandInputs([]string{filepath.Join(dir, "t0000_beam0_band0.fits"), filepath.Join(dir, "dangling.fits")})
	if !errors.Is(err, ErrMissingInput) {
		t.Errorf("a dangling link named on the command line: %v, want ErrMissingInput", err)
	}
}

// TestSameFileTwice is the red team's case 7: one file under two
// spellings became two images of one timestep. Relative and absolute
// paths, a symbolic and a hard link to it are one input, with a warning
// for each spelling dropped.
func TestSameFileTwice(t *testing.T) {
	data := tiny(t)
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(data, "images"))); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(dir, "t0002_beam0_band1.fits")
	other := t.TempDir()
	if err := os.Symlink(one, filepath.Join(other, "alias.fits")); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(one, filepath.Join(other, "hard.fits")); err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	rel, err := filepath.Rel(wd, one)
	if err != nil {
		t.Fatal(err)
	}
	var warnings []string
	got, err := ExpandInputsWarn([]string{dir, rel, filepath.Join(other, "alias.fits"), filepath.Join(other, "hard.fits")},
		func(m string) { warnings = append(warnings, m) })
	if err != nil {
		t.Fatal(err)
	}
	want, _ := ExpandInputs([]string{dir})
	if len(got) != len(want) {
		t.Errorf("%d inputs, want %d: %v", len(got), len(want), got)
	}
	if len(warnings) != 3 {
		t.Errorf("%d warnings, want 3: %q", len(warnings), warnings)
	}
	for _, w := range warnings {
		if !strings.Contains(w, "same file") {
			t.Errorf("warning %q", w)
		}
	}
}

// tinyCopy copies the tiny images into a folder of the test's, which it
// may rewrite, and returns them as inputs.
func tinyCopy(t *testing.T) []string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "images")
	if err := os.CopyFS(dir, os.DirFS(filepath.Join(tiny(t), "images"))); err != nil {
		t.Fatal(err)
	}
	inputs, err := ExpandInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	return inputs
}

// TestResumeNoticesRewrite is the red team's case 10: the manifest hashed
// only the first 64 KiB of each input, so an image rewritten after that
// with the same size went unnoticed on resume. The whole file is hashed
// now: one byte changed at the end refuses the resume, naming the file.
func TestResumeNoticesRewrite(t *testing.T) {
	inputs := tinyCopy(t)
	run := filepath.Join(t.TempDir(), "run")
	stop := errors.New("stop after the timesteps")
	_, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2,
		AfterStage: func(s string) error {
			if s == StageTimesteps {
				return stop
			}
			return nil
		}})
	if !errors.Is(err, stop) {
		t.Fatalf("first run: %v", err)
	}
	m, err := rundir.ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range m.Inputs {
		if len(in.XXH64) != 16 || in.Size == 0 {
			t.Fatalf("manifest entry %+v: no whole-file hash", in)
		}
	}
	victim := inputs[3]
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= 64<<10 {
		t.Fatalf("%s has %d bytes: the test needs a file over 64 KiB", victim, len(b))
	}
	b[len(b)-1] ^= 1 // the last pixel byte: far past the header
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2, Resume: true})
	if err == nil || !strings.Contains(err.Error(), "changed") || !strings.Contains(err.Error(), filepath.Base(victim)) {
		t.Fatalf("resume after a rewrite: %v", err)
	}
}

// TestResumeRewrittenBeforeHash: an input written again after its image
// was staged but before the run recorded its hash (the run failed mid-way
// through the timesteps) is extracted anew on resume, not taken from its
// stale staged results: the catalogue equals a fresh run over the files
// as they are now.
func TestResumeRewrittenBeforeHash(t *testing.T) {
	inputs := tinyCopy(t)
	run := filepath.Join(t.TempDir(), "run")
	testHookImage = func(stage string, img *Image) {
		if stage == StepExtract && img.ID == 12 {
			panic("injected fault")
		}
	}
	_, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 1})
	testHookImage = nil
	if !errors.Is(err, ErrImageFailed) {
		t.Fatalf("first run: %v, want the injected failure", err)
	}
	m, err := rundir.ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	// The plan's first image: staged, its hash not yet in the manifest.
	victim := inputs[0]
	for _, in := range m.Inputs {
		if in.Path == victim && in.XXH64 != "" {
			t.Fatalf("%s hashed in the manifest already", victim)
		}
	}
	if _, err := os.Stat(filepath.Join(rundir.StepDir(run, StepExtract), "00000001.image.parquet")); err != nil {
		t.Fatalf("image 1 not staged: %v", err)
	}
	// Scale the victim's pixels: same size, other content, other mtime.
	b, err := os.ReadFile(victim)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(victim, b, 0o644); err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(victim, later, later); err != nil {
		t.Fatal(err)
	}
	sum, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2, Resume: true})
	if err != nil {
		t.Fatalf("resume: %v", err)
	}
	if sum.ExtractedNow < 1 {
		t.Errorf("resume extracted %d images", sum.ExtractedNow)
	}
	fresh := filepath.Join(t.TempDir(), "fresh")
	if _, err := Run(context.Background(), Options{Run: fresh, Inputs: inputs, Config: testConfig(), Workers: 2}); err != nil {
		t.Fatal(err)
	}
	equalCatalogues(t, fresh, run)
	m, err = rundir.ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("%016x", xxhash.Sum64(b))
	for _, in := range m.Inputs {
		if in.Path == victim && in.XXH64 != want {
			t.Errorf("manifest hash of %s: %s, want the new content's %s", victim, in.XXH64, want)
		}
	}
}
