package pipeline

import (
	"bytes"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"image"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"

	_ "github.com/duckdb/duckdb-go/v2" // the "duckdb" database/sql driver

	"gotrap/catalog"
	"gotrap/internal/faults"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
)

// The fault-injection suite (docs/faults.md): each table row is a fault
// and the outcome it must have. "Nothing lost" is checked against a
// fault-free run of the same good images (faultRef): every good image
// keeps exactly its measurements.

var (
	refOnce sync.Once
	refRun  string
	refErr  error
)

// faultRef returns a fault-free run of the tiny preset (testConfig, 2
// workers), made once per test binary under the tiny data directory
// (which TestMain removes).
func faultRef(t *testing.T) string {
	t.Helper()
	data := tiny(t)
	refOnce.Do(func() {
		refRun = filepath.Join(data, "fault-ref-run")
		var inputs []string
		if inputs, refErr = ExpandInputs([]string{filepath.Join(data, "images")}); refErr != nil {
			return
		}
		_, refErr = Run(context.Background(), Options{Run: refRun, Inputs: inputs, Config: testConfig(), Workers: 2})
	})
	if refErr != nil {
		t.Fatal(refErr)
	}
	return refRun
}

// measuredBy returns, per image file, its measurements as sorted strings
// of the fields that do not depend on image or runcat ids (type,
// position, fluxes, shape), so runs whose image ids differ compare.
func measuredBy(c *pipetest.Catalogue) map[string][]string {
	url := map[int64]string{}
	for _, im := range c.Images {
		url[im.ID] = im.URL
	}
	out := map[string][]string{}
	for _, m := range c.Measurements {
		u := url[m.Image]
		out[u] = append(out[u], fmt.Sprintf("type %d ra %.9f dec %.9f peak %.9g int %.9g smaj %.6g",
			m.ExtractType, m.RA, m.Decl, m.FPeak, m.FInt, m.SemiMajor))
	}
	for _, v := range out {
		slices.Sort(v)
	}
	return out
}

// nothingLost checks that every image of the reference run is in run with
// the same QC outcome and exactly the same measurements, and that the
// running catalogues have the same size.
func nothingLost(t *testing.T, ref, run string) {
	t.Helper()
	cr, cf := pipetest.ReadCatalogue(t, ref), pipetest.ReadCatalogue(t, run)
	rows := map[string]catalog.Image{}
	for _, im := range cf.Images {
		rows[im.URL] = im
	}
	mr, mf := measuredBy(cr), measuredBy(cf)
	lost := 0
	for _, im := range cr.Images {
		got, ok := rows[im.URL]
		if !ok {
			t.Errorf("nothing lost: good image %s is missing from images.parquet", im.URL)
			lost++
			continue
		}
		if got.Rejected != im.Rejected || got.RejectReason != im.RejectReason {
			t.Errorf("nothing lost: %s rejected %v (%v), fault-free run %v (%v)", im.URL, got.Rejected, got.RejectReason, im.Rejected, im.RejectReason)
		}
		if !slices.Equal(mr[im.URL], mf[im.URL]) {
			t.Errorf("nothing lost: %s has %d measurements, fault-free run %d (or they differ)", im.URL, len(mf[im.URL]), len(mr[im.URL]))
			lost++
		}
	}
	if len(cf.Runcats) != len(cr.Runcats) || len(cf.NewSources) != len(cr.NewSources) {
		t.Errorf("nothing lost: %d runcats and %d new sources, fault-free run %d and %d",
			len(cf.Runcats), len(cf.NewSources), len(cr.Runcats), len(cr.NewSources))
	}
	n := 0
	for _, v := range mr {
		n += len(v)
	}
	t.Logf("nothing lost: %d images, %d measurements of the fault-free run checked; %d images lost", len(cr.Images), n, lost)
}

// inputFault is a row of the input-fault table: a bad file and the
// rejection it must get.
type inputFault struct {
	name string
	// make writes the faulty input at path from good, the bytes of a
	// good tiny image, and returns the path to give Run (path itself,
	// unless the fault is a directory or pipe made there).
	make func(t *testing.T, good []byte, path string)
	// reason and comment are the rejection expected in images.parquet.
	reason  int64
	comment string
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// card writes good with key set to value (or deleted when value is "").
func card(key, value string) func(*testing.T, []byte, string) {
	return func(t *testing.T, good []byte, path string) {
		b, err := faults.SetCard(good, key, value)
		if value == "" {
			b, err = faults.DeleteCard(good, key)
		}
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, b)
	}
}

// pixels writes good with the pixels of r set to v (a 256-px wide image).
func pixels(r image.Rectangle, v float32) func(*testing.T, []byte, string) {
	return func(t *testing.T, good []byte, path string) {
		b, err := faults.FillFloat32(good, 256, r, v)
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, path, b)
	}
}

// inputFaults is the input half of the table in docs/faults.md.
var inputFaults = []inputFault{
	{"not FITS", func(t *testing.T, _ []byte, p string) { writeFile(t, p, []byte("this is a text file\n")) },
		catalog.RejectReadError, "not a FITS file"},
	{"zero length", func(t *testing.T, _ []byte, p string) { writeFile(t, p, nil) },
		catalog.RejectReadError, "the file is empty"},
	{"truncated header", func(t *testing.T, g []byte, p string) { writeFile(t, p, g[:1000]) },
		catalog.RejectReadError, "truncated"},
	{"truncated data", func(t *testing.T, g []byte, p string) { writeFile(t, p, g[:len(g)/2]) },
		catalog.RejectReadError, "truncated"},
	{"named pipe (FIFO)", func(t *testing.T, _ []byte, p string) {
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skipf("mkfifo: %v", err)
		}
	}, catalog.RejectReadError, "not a regular file"},
	{"directory in place of a file", func(t *testing.T, _ []byte, p string) {
		if err := os.Mkdir(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}, catalog.RejectReadError, "not a regular file"},
	{"CASA image with truncated tiles", func(t *testing.T, _ []byte, p string) {
		src := filepath.Join(testutil.ProjectRoot(t), "testdata", "casa", "cube.image")
		if err := os.CopyFS(p, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(p, "table.f0_TSM0"), 1000); err != nil {
			t.Fatal(err)
		}
	}, catalog.RejectReadError, "table.f0_TSM0"},
	{"CASA image with a corrupt table.dat", func(t *testing.T, _ []byte, p string) {
		src := filepath.Join(testutil.ProjectRoot(t), "testdata", "casa", "nomask.image")
		if err := os.CopyFS(p, os.DirFS(src)); err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(filepath.Join(p, "table.dat"), 3000); err != nil {
			t.Fatal(err)
		}
	}, catalog.RejectReadError, "table.dat"},
	{"truncated gzip", func(t *testing.T, g []byte, p string) {
		var z bytes.Buffer
		w := gzip.NewWriter(&z)
		w.Write(g)
		w.Close()
		writeFile(t, p, z.Bytes()[:z.Len()/2])
	}, catalog.RejectReadError, "truncated"},
	{"tile-compressed image cut short", func(t *testing.T, _ []byte, p string) {
		b, err := os.ReadFile(filepath.Join(testutil.ProjectRoot(t), "testdata", "fz", "f32-rice-q4.fits.fz"))
		if err != nil {
			t.Fatal(err)
		}
		writeFile(t, p, b[:len(b)-2880])
	}, catalog.RejectReadError, "truncated"},
	{"missing frequency keywords", func(t *testing.T, g []byte, p string) {
		b := g
		for _, k := range []string{"CTYPE3", "CRVAL3"} {
			var err error
			if b, err = faults.DeleteCard(b, k); err != nil {
				t.Fatal(err)
			}
		}
		writeFile(t, p, b)
	}, catalog.RejectReadError, "no frequency"},
	{"missing beam (BMAJ)", card("BMAJ", ""), catalog.RejectReadError, "no restoring beam"},
	{"inconsistent WCS (CTYPE2 galactic)", card("CTYPE2", "'GLAT-SIN'"), catalog.RejectReadError, "WCS"},
	{"non-square pixels", card("CDELT2", "0.011111111111111112"), catalog.RejectReadError, "not square"},
	{"absurd NAXIS1 = 1e9", card("NAXIS1", "1000000000"), catalog.RejectReadError, "exceeds the limit"},
	{"invalid BITPIX", card("BITPIX", "17"), catalog.RejectReadError, "BITPIX"},
	{"unreadable DATE-OBS", card("DATE-OBS", "'yesterday'"), catalog.RejectReadError, "time"},
	{"zero integration time", card("TAU_TIME", "0.0"), catalog.RejectTauTime, "tau_time"},
	{"missing integration time", card("TAU_TIME", ""), catalog.RejectTauTime, "tau_time"},
	{"absurd beam (BMAJ 10 deg)", card("BMAJ", "10.0"), catalog.RejectBeam, "beam"},
	{"flat image (all 0)", pixels(image.Rect(0, 0, 256, 256), 0), catalog.RejectFlat, "flat"},
	{"all NaN", pixels(image.Rect(0, 0, 256, 256), float32(math.NaN())), catalog.RejectNaN, "nan"},
	{"NaN over 60% of the image", pixels(image.Rect(0, 0, 256, 154), float32(math.NaN())), catalog.RejectNaN, "nan"},
	{"+Inf pixels (a 16x16 block)", pixels(image.Rect(120, 120, 136, 136), float32(math.Inf(1))), catalog.RejectNaN, "infinite"},
}

// TestFaultsInput puts every bad input of the table among the tiny
// preset's images in one run: the run succeeds, each bad file is a row of
// images.parquet with its reason and a clear comment, and every good image
// keeps its measurements.
func TestFaultsInput(t *testing.T) {
	data := tiny(t)
	ref := faultRef(t)
	good, err := os.ReadFile(filepath.Join(data, "images", "t0003_beam0_band0.fits"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]inputFault{}
	for i, f := range inputFaults {
		p := filepath.Join(dir, fmt.Sprintf("fault%02d.fits", i))
		f.make(t, good, p)
		want[p] = f
		inputs = append(inputs, p)
	}
	run := filepath.Join(t.TempDir(), "run")
	sum, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2})
	if err != nil {
		t.Fatalf("a run with bad inputs failed: %v", err)
	}
	c := pipetest.ReadCatalogue(t, run)
	seen := 0
	for _, im := range c.Images {
		f, ok := want[im.URL]
		if !ok {
			continue
		}
		seen++
		if !im.Rejected || im.RejectReason.Int64 != f.reason || !strings.Contains(strings.ToLower(im.RejectComment), strings.ToLower(f.comment)) {
			t.Errorf("%s: rejected %v reason %v %q; want reason %d with %q", f.name, im.Rejected, im.RejectReason, im.RejectComment, f.reason, f.comment)
		} else {
			t.Logf("%-36s -> reason %d (%s): %s", f.name, f.reason, reasonText(f.reason), im.RejectComment)
		}
		if !strings.Contains(im.RejectComment, "fitsimg") && f.reason == catalog.RejectReadError && !strings.Contains(im.RejectComment, im.URL) {
			t.Errorf("%s: comment %q does not name the file", f.name, im.RejectComment)
		}
	}
	if seen != len(inputFaults) {
		t.Errorf("%d of the %d bad inputs are in images.parquet", seen, len(inputFaults))
	}
	if sum.Rejected != 3+len(inputFaults) {
		t.Errorf("summary: %d rejected, want the 3 bad tiny images + %d faults", sum.Rejected, len(inputFaults))
	}
	// The summary names every unreadable file with its reason.
	var text strings.Builder
	sum.Format(&text)
	nRead := 0
	for _, f := range inputFaults {
		if f.reason == catalog.RejectReadError {
			nRead++
		}
	}
	if w := fmt.Sprintf("unreadable    %d files", nRead); !strings.Contains(text.String(), w) {
		t.Errorf("summary lacks %q:\n%s", w, text.String())
	}
	for p, f := range want {
		if f.reason == catalog.RejectReadError && !strings.Contains(strings.ToLower(text.String()), strings.ToLower("  "+p+": ")) {
			t.Errorf("summary does not name %s (%s):\n%s", p, f.name, text.String())
		}
	}
	for _, u := range sum.Unreadable {
		if f, ok := want[u.Path]; !ok || !strings.Contains(strings.ToLower(u.Reason), strings.ToLower(f.comment)) {
			t.Errorf("unreadable %s: reason %q; want one of the faults with %q", u.Path, u.Reason, f.comment)
		}
	}
	nothingLost(t, ref, run)
}

// TestFaultsMissingInput: a missing input named on the command line fails
// fast, listing every missing file, before anything is written.
func TestFaultsMissingInput(t *testing.T) {
	data := tiny(t)
	d := t.TempDir()
	_, err := ExpandInputs([]string{filepath.Join(data, "images"), filepath.Join(d, "gone1.fits"), "@" + writeList(t, d, "gone2.fits\n")})
	if !errors.Is(err, ErrMissingInput) {
		t.Fatalf("error %v, want ErrMissingInput", err)
	}
	for _, s := range []string{"gone1.fits", "gone2.fits", "(2)"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not list %s", err, s)
		}
	}
	// A file that vanishes between listing and planning is a recorded
	// rejection, as is any entry a listing finds that cannot be read:
	// the run goes on (only inputs named on the command line, checked by
	// ExpandInputs, may stop it).
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	vanished := filepath.Join(d, "vanished.fits")
	inputs = append(inputs, vanished)
	run := filepath.Join(d, "run")
	if _, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2}); err != nil {
		t.Fatalf("vanished input: %v", err)
	}
	for _, im := range pipetest.ReadCatalogue(t, run).Images {
		if im.URL == vanished && (!im.Rejected || im.RejectReason.Int64 != catalog.RejectReadError || !strings.Contains(im.RejectComment, "vanished.fits")) {
			t.Errorf("vanished input: rejected %v reason %v %q", im.Rejected, im.RejectReason, im.RejectComment)
		}
	}
}

func writeList(t *testing.T, dir, content string) string {
	t.Helper()
	p := filepath.Join(dir, "list.txt")
	writeFile(t, p, []byte(content))
	return p
}

// readParquet reads every column of every row of the Parquet file at p
// with DuckDB, as any Parquet reader (DuckDB, pandas) would.
func readParquet(p string) error {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.Query("SELECT * FROM read_parquet('" + strings.ReplaceAll(p, "'", "''") + "')")
	if err != nil {
		return err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return err
	}
	vals := make([]any, len(cols))
	ptrs := make([]any, len(cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
	}
	return rows.Err()
}

// checkNoPartial checks that every file under run that looks complete (a
// *.parquet or *.json name, not a temporary ".NAME.tmp") reads whole.
func checkNoPartial(t *testing.T, run string) (complete, temps int) {
	t.Helper()
	filepath.WalkDir(run, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		base := d.Name()
		switch {
		case strings.HasPrefix(base, ".") && strings.HasSuffix(base, ".tmp"):
			temps++
		case strings.HasSuffix(base, ".parquet"):
			if err := readParquet(p); err != nil {
				t.Errorf("%s looks complete but does not read: %v", p, err)
			}
			complete++
		case p == rundir.ManifestPath(run):
			if _, err := rundir.ReadManifest(run); err != nil {
				t.Errorf("manifest: %v", err)
			}
			complete++
		}
		return nil
	})
	return complete, temps
}

// TestFaultsOutput runs into a real tmpfs that fills up (ENOSPC) or turns
// read-only (EROFS) under the run: the run stops with an error naming a
// file and the cause, no file that looks complete is partial, and once
// space or write access is back, --resume gives the fault-free catalogue.
func TestFaultsOutput(t *testing.T) {
	if testing.Short() {
		t.Skip("mounts file systems")
	}
	if !faults.Root() {
		t.Skip("the output faults mount a tmpfs: run as root (CI does)")
	}
	data := tiny(t)
	ref := faultRef(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, size string
		// ro: stop after extraction, remount read-only and resume (a
		// tmpfs with files open for writing cannot be remounted
		// read-only: "mount point is busy").
		ro    bool
		errno syscall.Errno
	}{
		// The tiny run directory takes about 750 KiB: 256 KiB fills up
		// during extraction, 600 KiB while the catalogue is written.
		{name: "disk full during extraction", size: "256k", errno: syscall.ENOSPC},
		{name: "disk full during the catalogue", size: "600k", errno: syscall.ENOSPC},
		{name: "read-only run directory on resume", size: "200m", ro: true, errno: syscall.EROFS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mnt := t.TempDir()
			faults.MountTmpfs(t, mnt, tc.size)
			run := filepath.Join(mnt, "run")
			opt := Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2}
			if tc.ro {
				opt.AfterStage = func(stage string) error {
					if stage == StageTimesteps {
						return errStop
					}
					return nil
				}
				if _, err := Run(context.Background(), opt); !errors.Is(err, errStop) {
					t.Fatalf("first part: %v", err)
				}
				faults.Remount(t, mnt, "ro")
				opt.Resume, opt.AfterStage = true, nil
			}
			_, err := Run(context.Background(), opt)
			if err == nil {
				t.Fatal("the run succeeded on a full or read-only file system")
			}
			t.Logf("error: %v", err)
			if !errors.Is(err, tc.errno) || !strings.Contains(err.Error(), run) {
				t.Errorf("error %q: want %v and a file under %s named", err, tc.errno, run)
			}
			if tc.ro {
				faults.Remount(t, mnt, "rw")
			} else {
				faults.Remount(t, mnt, "size=200m")
			}
			complete, temps := checkNoPartial(t, run)
			t.Logf("after the fault: %d complete files (all read), %d temporary files", complete, temps)
			opt.Resume, opt.AfterStage = true, nil
			s, err := Run(context.Background(), opt)
			if err != nil {
				t.Fatalf("resume once the fault is gone: %v", err)
			}
			t.Logf("resume: %d images extracted, %d reused", s.ExtractedNow, s.Reused)
			equalCatalogues(t, ref, run)
			if _, temps := checkNoPartial(t, run); temps != 0 {
				t.Errorf("%d temporary files left after a successful resume", temps)
			}
		})
	}
}

var errStop = errors.New("stopped by the test")

// TestFaultsProcess stops a run at each stage boundary (the state a
// SIGKILL right after a stage leaves) and inside the extraction and
// forced-fit stages with an image that panics (a rank's unexpected
// failure): the error names the image, and --resume equals the fault-free
// run. Random SIGKILLs are TestResumeAfterKill's.
func TestFaultsProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the pipeline 10 times")
	}
	data := tiny(t)
	ref := faultRef(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	type row struct {
		name      string
		stopAfter string // AfterStage stops the run here
		panicIn   string // the stage whose image panicStage panics
		panicID   int64
	}
	rows := []row{
		{name: "killed after plan", stopAfter: StagePlan},
		{name: "killed after timesteps", stopAfter: StageTimesteps},
		{name: "killed after tables", stopAfter: StageTables},
		{name: "image panics in extract", panicIn: StepExtract, panicID: 5},
		{name: "image panics in forced fits", panicIn: StepForced, panicID: 7},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			run := filepath.Join(t.TempDir(), "run")
			opt := Options{Run: run, Inputs: inputs, Config: testConfig(), Workers: 2}
			if r.stopAfter != "" {
				opt.AfterStage = func(s string) error {
					if s == r.stopAfter {
						return errStop
					}
					return nil
				}
			}
			if r.panicIn != "" {
				testHookImage = func(stage string, img *Image) {
					if stage == r.panicIn && img.ID == r.panicID {
						panic("injected fault")
					}
				}
				defer func() { testHookImage = nil }()
			}
			_, err := Run(context.Background(), opt)
			testHookImage = nil
			switch {
			case r.stopAfter != "" && !errors.Is(err, errStop):
				t.Fatalf("error %v, want the test's stop", err)
			case r.panicIn != "":
				var ie *ImageError
				if !errors.As(err, &ie) || !errors.Is(err, ErrImageFailed) || ie.ID != r.panicID || ie.Stage != r.panicIn {
					t.Fatalf("error %v: want an ImageError for image %d in %s", err, r.panicID, r.panicIn)
				}
				name := filepath.Base(inputs[0])
				for _, im := range []string{fmt.Sprintf("image %d", r.panicID), "injected fault", r.panicIn} {
					if !strings.Contains(err.Error(), im) {
						t.Errorf("error %q lacks %q", err, im)
					}
				}
				if !strings.Contains(err.Error(), ".fits") {
					t.Errorf("error %q does not name the file (like %s)", err, name)
				}
				t.Logf("error: %v", err)
			}
			m, err := rundir.ReadManifest(run)
			if err != nil {
				t.Fatal(err)
			}
			var done []string
			for _, s := range m.Stages {
				if s.Done {
					done = append(done, s.Name)
				}
			}
			t.Logf("stages recorded done: %v", done)
			opt.Resume, opt.AfterStage = true, nil
			s, err := Run(context.Background(), opt)
			if err != nil {
				t.Fatalf("resume: %v", err)
			}
			if r.stopAfter == StageTimesteps {
				if s.ExtractedNow != 0 || s.Reused != 16 {
					t.Errorf("resume after %s: %d extracted, %d reused; want 0, 16", r.stopAfter, s.ExtractedNow, s.Reused)
				}
			}
			equalCatalogues(t, ref, run)
		})
	}
}
