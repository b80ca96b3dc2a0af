package pipeline

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/cespare/xxhash/v2"
	"golang.org/x/sys/unix"

	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
)

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
// extraction, none announced, with at most readAheadDepth's buffers;
// the catalogue and the manifest's hashes are those of a run
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
		if _, _, n := readAheadDepth(workers); p.made > n || p.made < 1 || p.size%fitsimg.DirectAlign != 0 {
			t.Errorf("a rank made %d buffers of %d bytes, want 1 to %d of whole 4 KiB blocks", p.made, p.size, n)
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
			pool := newRawPool(&Plan{images: []Image{*img}}, order, 1)
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
