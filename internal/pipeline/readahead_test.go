package pipeline

import (
	"context"
	"errors"
	"path/filepath"
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

// TestReadAheadAnnounced: on 2 ranks, every image is announced to the
// kernel once, as a whole file, before its extraction reads it; a resume
// that reuses every image's staged results announces none (it reads no
// image, and announcing would read the whole stack for nothing).
func TestReadAheadAnnounced(t *testing.T) {
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
