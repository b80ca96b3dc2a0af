package kernels

import (
	"fmt"
	"image"
	"slices"
	"sync"
	"testing"
	"unsafe"
)

// fakePlanes is an in-process Planes for unit tests (internal/hugemem is
// the real one, tested with the extraction in internal/extract): Go heap
// memory, recorded so that the test can see what the Detector took and
// gave back. Like the contract says, it may be called from several
// goroutines (the background's clippers).
type fakePlanes struct {
	mu    sync.Mutex
	live  map[*byte]int // start -> bytes
	total int           // bytes handed out
}

func (p *fakePlanes) Alloc(n int) []byte {
	w := make([]uint64, (n+7)/8) // 8-byte aligned, like the contract
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), n)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.live[&b[0]] = n
	p.total += n
	return b
}

func (p *fakePlanes) Free(b []byte) {
	if cap(b) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, ok := p.live[&b[0]]; ok && p.live[&b[0]] == cap(b) {
		delete(p.live, &b[0])
	}
}

// TestDetectorPlanes checks that a Detector with Planes gives the results
// of one without, bit for bit, over two image sizes (the planes grow once
// and are reused), that its mask, rms map, labels and clippers' values
// come from the Planes, and that Release gives every one back.
func TestDetectorPlanes(t *testing.T) {
	const seed = 21
	t.Logf("seed %d", seed)
	beam := Beam{A: 2, B: 2}
	small, _ := detSky(200, 150, 10, 6, 50, beam, seed)
	big, _ := detSky(333, 257, 30, 6, 50, beam, seed+1)
	cfg := DefaultDetectConfig()
	eq := func(p, q []float32) bool {
		return slices.EqualFunc(p, q, func(u, v float32) bool { return u == v || (u != u && v != v) })
	}
	for _, threads := range []int{1, 2} {
		plain, _ := NewDetector(cfg, threads)
		withP, _ := NewDetector(cfg, threads)
		p := &fakePlanes{live: map[*byte]int{}}
		withP.SetPlanes(p)
		for _, img := range []*Image{small, big, small} {
			a, _ := plain.Detect(img, nil)
			b, _ := withP.Detect(img, nil)
			if !eq(a.D.Pix, b.D.Pix) || !eq(a.RMS.Pix, b.RMS.Pix) || !slices.Equal(a.Labels, b.Labels) || !slices.Equal(a.Islands, b.Islands) {
				t.Fatalf("threads %d, %v: results with Planes differ", threads, img.Rect)
			}
			if len(b.Islands) == 0 {
				t.Fatalf("threads %d, %v: no islands in the test image", threads, img.Rect)
			}
		}
		// Not in place, D is a plane of its own too.
		a, _ := plain.DetectWith(big, DetectOptions{})
		b, _ := withP.DetectWith(big, DetectOptions{})
		if !eq(a.D.Pix, b.D.Pix) {
			t.Fatalf("threads %d: D not in place differs with Planes", threads)
		}
		n := big.Rect.Dx() * big.Rect.Dy()
		// The mask (1 byte a pixel), rms map and labels (4) and D (4) of
		// the small image, then of the big one, and the clippers' values.
		if want := 9*(n+small.Rect.Dx()*small.Rect.Dy()) + 4*clipMain; p.total < want {
			t.Errorf("threads %d: %d bytes from Planes, want at least the planes of both sizes", threads, p.total)
		}
		owned := map[*byte]bool{}
		for k := range p.live {
			owned[k] = true
		}
		planes := map[string]unsafe.Pointer{"mask": unsafe.Pointer(unsafe.SliceData(withP.mask)),
			"rms": unsafe.Pointer(unsafe.SliceData(withP.rimg.Pix)), "labels": unsafe.Pointer(unsafe.SliceData(withP.labels)),
			"D": unsafe.Pointer(unsafe.SliceData(withP.ownD))}
		// Which worker clipped cells depends on the scheduling (a loaded
		// machine may run every row on one): each clipper that holds
		// values holds them from Planes, and one at least does.
		for k, cc := range withP.grids.clippers {
			if cc.vals != nil {
				planes[fmt.Sprintf("clipper %d", k)] = unsafe.Pointer(unsafe.SliceData(cc.vals))
			}
		}
		if len(planes) == 4 {
			t.Errorf("threads %d: no clipper holds values", threads)
		}
		for name, b := range planes {
			if !owned[(*byte)(b)] {
				t.Errorf("threads %d: the %s plane is not from Planes", threads, name)
			}
		}
		withP.Release()
		if len(p.live) != 0 {
			t.Errorf("threads %d: %d planes not given back by Release", threads, len(p.live))
		}
		// Usable after Release: the planes come again.
		b, _ = withP.Detect(big, nil)
		a, _ = plain.Detect(big, nil)
		if !eq(a.RMS.Pix, b.RMS.Pix) || len(p.live) == 0 {
			t.Errorf("threads %d: Detect after Release differs or took no planes", threads)
		}
	}
}

// TestNewImageFrom checks NewImageFrom and FreeImage with and without
// Planes.
func TestNewImageFrom(t *testing.T) {
	p := &fakePlanes{live: map[*byte]int{}}
	r := detSkyRect()
	img, err := NewImageFrom(p, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(img.Pix) != r.Dx()*r.Dy() || img.Stride != r.Dx() || img.Rect != r || len(p.live) != 1 || p.total != 4*len(img.Pix) {
		t.Fatalf("NewImageFrom: %d pixels, stride %d, %v; %d planes of %d bytes", len(img.Pix), img.Stride, img.Rect, len(p.live), p.total)
	}
	for i, v := range img.Pix {
		if v != 0 {
			t.Fatalf("pixel %d is %v, not zero", i, v)
		}
	}
	FreeImage(p, img)
	if len(p.live) != 0 {
		t.Fatal("FreeImage did not give the plane back")
	}
	if _, err := NewImageFrom(p, image.Rectangle{Min: image.Pt(5, 5), Max: image.Pt(2, 9)}); err == nil {
		t.Error("NewImageFrom accepted a malformed rectangle")
	}
	plain, err := NewImageFrom(nil, r)
	if err != nil || len(plain.Pix) != r.Dx()*r.Dy() {
		t.Fatalf("NewImageFrom(nil): %v", err)
	}
	FreeImage(nil, plain) // nothing to do
	FreeImage(p, nil)
}

func detSkyRect() image.Rectangle { return image.Rect(3, 5, 40, 27) }
