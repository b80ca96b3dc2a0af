package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sys/unix"

	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
)

// announced records the calls of willNeed while a test runs.
type announced struct {
	mu    sync.Mutex
	calls map[string][][2]int64 // by path: (off, n) of each call
}

// recordWillNeed replaces willNeed by a recorder until the test ends.
func recordWillNeed(t *testing.T) *announced {
	a := &announced{calls: map[string][][2]int64{}}
	willNeed = func(path string, off, n int64) {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.calls[path] = append(a.calls[path], [2]int64{off, n})
	}
	t.Cleanup(func() { willNeed = fitsimg.WillNeed })
	return a
}

func (a *announced) count(path string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.calls[path])
}

// TestReadAheadAnnounced: where the read-ahead reads nothing directly,
// because the stack is small (below directMin: read through the page
// cache) or the direct reads are refused (a file system without
// O_DIRECT), on 2 ranks, every image is announced to the kernel once, as
// a whole file, before its extraction reads it; a resume that reuses
// every image's staged results announces none (it reads no image, and
// announcing would read the whole stack for nothing).
func TestReadAheadAnnounced(t *testing.T) {
	t.Run("small", func(t *testing.T) {
		direct := recordDirect(t)
		pools := 0
		testHookReadAhead = func(*rawPool) { pools++ }
		defer func() { testHookReadAhead = nil }()
		readAheadAnnounced(t)
		if len(direct.count) != 0 || pools != 0 {
			t.Errorf("%d files read directly, %d pools made, want none below directMin", len(direct.count), pools)
		}
	})
	t.Run("refused", func(t *testing.T) {
		old := directMin
		directMin = func() int64 { return 0 }
		defer func() { directMin = old }()
		refuseDirect(t)
		readAheadAnnounced(t)
	})
}

func readAheadAnnounced(t *testing.T) {
	data := tiny(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	rec := recordWillNeed(t)
	var mu sync.Mutex
	var late []string
	testHookImage = func(stage string, img *Image) {
		if stage == StepExtract && rec.count(img.Path) == 0 {
			mu.Lock()
			late = append(late, img.Path)
			mu.Unlock()
		}
	}
	defer func() { testHookImage = nil }()
	run := filepath.Join(t.TempDir(), "run")
	stop := errors.New("stop")
	opt := Options{Run: run, Inputs: inputs, Config: testConfig(), CPUs: 2,
		AfterStage: func(s string) error {
			if s == StageTimesteps {
				return stop
			}
			return nil
		}}
	if _, err := RunRanks(context.Background(), opt, 2); !errors.Is(err, stop) {
		t.Fatalf("error %v, want %v", err, stop)
	}
	if len(late) > 0 {
		t.Errorf("%d images extracted before they were announced, e.g. %s", len(late), late[0])
	}
	if len(rec.calls) != len(inputs) {
		t.Errorf("%d files announced, want the %d inputs", len(rec.calls), len(inputs))
	}
	for _, in := range inputs {
		c := rec.calls[in]
		if len(c) != 1 || c[0] != [2]int64{0, 0} {
			t.Errorf("%s announced as %v, want once as the whole file [[0 0]]", in, c)
		}
	}

	rec = recordWillNeed(t)
	opt.Resume, opt.AfterStage = true, nil
	sum, err := RunRanks(context.Background(), opt, 2)
	if err != nil {
		t.Fatal(err)
	}
	if sum.ExtractedNow != 0 {
		t.Fatalf("the resume extracted %d images, want 0 (the test needs every image reused)", sum.ExtractedNow)
	}
	if len(rec.calls) != 0 {
		t.Errorf("the resume announced %d files, want none", len(rec.calls))
	}
}

// TestReadAheadPlane: an image that is one plane of a cube is announced
// as its plane's bytes (and 1 MiB for the header), not the whole file;
// an image without a header is not announced.
func TestReadAheadPlane(t *testing.T) {
	rec := recordWillNeed(t)
	s := &stream{ex: &extractStage{stage: &staging{}}}
	cube := &Image{Path: "cube.fits", Plane: 2, Timestep: 0,
		Meta: &fitsimg.Meta{Naxis1: 100, Naxis2: 50, Bitpix: -32, Planes: 4}}
	s.readAhead(cube)
	s.readAhead(&Image{Path: "broken.fits", Timestep: -1})
	const plane = 100 * 50 * 4
	if got := rec.calls["cube.fits"]; len(got) != 1 || got[0] != [2]int64{2 * plane, plane + 1<<20} {
		t.Errorf("plane 2 of 4 announced as %v, want [[%d %d]]", got, 2*plane, plane+1<<20)
	}
	if got := rec.calls["broken.fits"]; len(got) != 0 {
		t.Errorf("an image without a header announced as %v", got)
	}
}

// refuseDirect makes directRead refuse every file, as a file system
// without O_DIRECT does, until the test ends.
func refuseDirect(t *testing.T) {
	directRead = func(buf []byte, path string) ([]byte, error) {
		return nil, &fitsimg.Error{Path: path, Err: fmt.Errorf("%w: refused by the test", fitsimg.ErrNoDirect)}
	}
	t.Cleanup(func() { directRead = fitsimg.ReadDirect })
}

// directReads records the files that directRead read, until the test
// ends.
type directReads struct {
	mu    sync.Mutex
	count map[string]int
}

func recordDirect(t *testing.T) *directReads {
	d := &directReads{count: map[string]int{}}
	directRead = func(buf []byte, path string) ([]byte, error) {
		data, err := fitsimg.ReadDirect(buf, path)
		if err == nil {
			d.mu.Lock()
			d.count[path]++
			d.mu.Unlock()
		}
		return data, err
	}
	t.Cleanup(func() { directRead = fitsimg.ReadDirect })
	return d
}

func (d *directReads) of(path string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.count[path]
}

// dropCache syncs the files and drops them from the page cache; it skips
// the test where a file stays in memory (tmpfs).
func dropCache(t *testing.T, paths []string) {
	t.Helper()
	if err := dropPages(paths); err != nil {
		t.Fatal(err)
	}
	for _, p := range paths {
		if r, err := fitsimg.Resident(p); err != nil || r > 0 {
			t.Skipf("the file system of %s keeps files in memory (tmpfs?): %.0f%% of the file still cached (%v), no cold read to test", p, 100*r, err)
		}
	}
}

// dropPages syncs the files and drops them from the page cache.
func dropPages(paths []string) error {
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR, 0)
		if err != nil {
			return err
		}
		if err = f.Sync(); err == nil {
			err = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED)
		}
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
	}
	return nil
}

// TestReadAheadDirect: on 2 ranks, images not in the page cache (dropped
// after the plan stage, whose header reads bring a small file's first
// 128 KiB into it, the kernel's read-ahead) are each read once with O_DIRECT into the ranks' buffers before their
// extraction, none announced, with at most readAheadPerWorker buffers
// per worker; the catalogue and the manifest's hashes are those of a run
// that reads every image by path (direct reads refused). A third run,
// the images now in the page cache, reads none directly and announces
// none, with the same catalogue.
func TestReadAheadDirect(t *testing.T) {
	inputs := tinyCopy(t)
	// The tiny stack is far below half of any machine's memory.
	old := directMin
	directMin = func() int64 { return 0 }
	defer func() { directMin = old }()
	dropCache(t, inputs)
	rec := recordDirect(t)
	ann := recordWillNeed(t)
	var mu sync.Mutex
	var late []string
	var pools []rawPool
	testHookImage = func(stage string, img *Image) {
		if stage == StepExtract && rec.of(img.Path) == 0 {
			mu.Lock()
			late = append(late, img.Path)
			mu.Unlock()
		}
	}
	testHookReadAhead = func(r *rawPool) {
		mu.Lock()
		pools = append(pools, *r)
		mu.Unlock()
	}
	defer func() { testHookImage, testHookReadAhead = nil, nil }()
	const workers = 2 // per rank: CPUs 4 on 2 ranks
	drop := true
	run := func() string {
		t.Helper()
		dir := filepath.Join(t.TempDir(), "run")
		// Each rank plans on its own: the cache is dropped once both
		// have read the headers.
		var planned sync.WaitGroup
		planned.Add(2)
		opt := Options{Run: dir, Inputs: inputs, Config: testConfig(), CPUs: 2 * workers,
			AfterStage: func(s string) error {
				if s == StagePlan && drop {
					planned.Done()
					planned.Wait()
					return dropPages(inputs)
				}
				return nil
			}}
		if _, err := RunRanks(context.Background(), opt, 2); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	direct := run()
	if len(late) > 0 {
		t.Errorf("%d images extracted before they were read directly, e.g. %s", len(late), late[0])
	}
	for _, in := range inputs {
		if n := rec.of(in); n != 1 {
			t.Errorf("%s read directly %d times, want once", in, n)
		}
		if n := ann.count(in); n != 0 {
			t.Errorf("%s announced %d times, want none (read directly)", in, n)
		}
	}
	if len(pools) != 2 {
		t.Fatalf("%d pools, want one per rank", len(pools))
	}
	for _, p := range pools {
		if p.made > readAheadPerWorker*workers || p.made < 1 || p.size%fitsimg.DirectAlign != 0 {
			t.Errorf("a rank made %d buffers of %d bytes, want 1 to %d of whole 4 KiB blocks", p.made, p.size, readAheadPerWorker*workers)
		}
	}
	if n := pools[0].direct + pools[1].direct; n != len(inputs) {
		t.Errorf("the pools count %d direct reads, want %d", n, len(inputs))
	}

	testHookImage = nil
	refuseDirect(t)
	byPath := run()
	equalCatalogues(t, direct, byPath)
	md, err := rundir.ReadManifest(direct)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := rundir.ReadManifest(byPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Inputs) != len(inputs) || len(mp.Inputs) != len(inputs) {
		t.Fatalf("%d and %d manifest inputs, want %d", len(md.Inputs), len(mp.Inputs), len(inputs))
	}
	for k := range md.Inputs {
		b, err := os.ReadFile(md.Inputs[k].Path)
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("%016x", xxhash.Sum64(b))
		if md.Inputs[k].XXH64 != want || mp.Inputs[k].XXH64 != want {
			t.Errorf("%s: hash %s read directly, %s by path, want %s", md.Inputs[k].Path, md.Inputs[k].XXH64, mp.Inputs[k].XXH64, want)
		}
	}

	// Read by path through the cache: every image is in it now.
	drop = false
	rec = recordDirect(t)
	ann = recordWillNeed(t)
	pools = nil
	warm := run()
	equalCatalogues(t, direct, warm)
	for _, in := range inputs {
		if rec.of(in) != 0 || ann.count(in) != 0 {
			t.Errorf("%s in the page cache: read directly %d times, announced %d, want neither", in, rec.of(in), ann.count(in))
		}
	}
	if n := pools[0].cached + pools[1].cached; n != len(inputs) {
		t.Errorf("the pools count %d images in the page cache, want %d", n, len(inputs))
	}
}

// TestReadAheadFormats: what the read-ahead does with each kind of input
// (not in the page cache) and what its worker then reads: a FITS file and
// a gzip-compressed one of one plane are read directly and decoded from
// the buffer; a plane of a cube is announced (its plane's bytes) and read
// by path; a CASA image (a directory) is refused by ReadDirect, announced
// (WillNeed ignores a directory) and read by path. Each gives ReadInto's
// pixels and, read directly, the file's hash; every buffer is given back.
func TestReadAheadFormats(t *testing.T) {
	fz := filepath.Join(testutil.ProjectRoot(t), "testdata", "fz")
	dir := t.TempDir()
	var files []string
	for _, name := range []string{"noise.fits", "noise.fits.gz", "noisecube.fits"} {
		b, err := os.ReadFile(filepath.Join(fz, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	dropCache(t, files)
	casa := filepath.Join(testutil.SharedData(t), "casa", "kat7.image")
	ann := recordWillNeed(t)
	direct := recordDirect(t)
	s := &stream{ex: &extractStage{stage: &staging{}}}
	for _, c := range []struct {
		path   string
		plane  int
		direct bool
	}{
		{files[0], 0, true}, {files[1], 0, true}, {files[2], 1, false}, {casa, 0, false},
	} {
		t.Run(filepath.Base(c.path), func(t *testing.T) {
			m, err := fitsimg.ReadMeta(c.path, fitsimg.Options{Plane: c.plane})
			if err != nil {
				t.Fatal(err)
			}
			if c.path != casa {
				// The header's read brought the small file in.
				if err := dropPages([]string{c.path}); err != nil {
					t.Fatal(err)
				}
			}
			img := &Image{Path: c.path, Plane: c.plane, Meta: m}
			order := []int{0}
			pool := newRawPool(&Plan{Images: []Image{*img}}, order, 1)
			defer pool.close()
			f := s.readAheadImage(context.Background(), img, pool)
			if (f != nil) != c.direct || (direct.of(c.path) == 1) != c.direct || (ann.count(c.path) == 1) == c.direct {
				t.Fatalf("read directly %v (%d), announced %d times; want direct %v, else announced once", f != nil, direct.of(c.path), ann.count(c.path), c.direct)
			}
			w := &worker{}
			got, _, hashed, err := s.ex.read1(w, img, f)
			if err != nil {
				t.Fatal(err)
			}
			want, _, err := fitsimg.ReadInto(nil, c.path, fitsimg.Options{Plane: c.plane})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Pix) != len(want.Pix) {
				t.Fatalf("%d pixels, want %d", len(got.Pix), len(want.Pix))
			}
			for i := range got.Pix {
				if g, w := got.Pix[i], want.Pix[i]; g != w && !(g != g && w != w) {
					t.Fatalf("pixel %d: %v, want %v", i, g, w)
				}
			}
			if c.direct {
				b, err := os.ReadFile(c.path)
				if err != nil {
					t.Fatal(err)
				}
				if !hashed || w.xxh.Sum64() != xxhash.Sum64(b) {
					t.Errorf("hash %016x (hashed %v), want the file's %016x", w.xxh.Sum64(), hashed, xxhash.Sum64(b))
				}
				if len(pool.free) != 1 {
					t.Errorf("%d buffers given back, want 1", len(pool.free))
				}
			}
		})
	}
}

// TestCacheMemory: the memory for the page cache is the machine's,
// or the memory allowance (four thirds of the Go runtime's limit) when
// smaller.
func TestCacheMemory(t *testing.T) {
	phys := physicalMemory()
	if fitsimg.DirectReads && phys <= 0 {
		t.Fatalf("the machine's memory unknown (%d)", phys)
	}
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	debug.SetMemoryLimit(math.MaxInt64)
	if got := cacheMemory(); phys > 0 && got != phys {
		t.Errorf("no limit: %d bytes, want the machine's %d", got, phys)
	}
	debug.SetMemoryLimit(3 << 20) // an allowance of 4 MiB
	want := int64(4 << 20)
	if phys > 0 {
		want = min(phys, want)
	}
	if got := cacheMemory(); got != want {
		t.Errorf("a 4 MiB allowance: %d bytes, want %d", got, want)
	}
}
