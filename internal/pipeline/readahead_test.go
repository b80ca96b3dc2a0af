package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"runtime/debug"
	"sync"
	"testing"

	"gotrap/internal/fitsimg"
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
