package kernels

import (
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// detSource is an injected elliptical Gaussian (SPEC 0.2).
type detSource struct {
	x, y, peak float64
	beam       Beam
}

// detPaint adds the sources to img (image coordinates), each out to 5
// semi-major axes, where it has fallen below 1e-7 of its peak.
func detPaint(img *Image, srcs []detSource) {
	for _, s := range srcs {
		r := int(math.Ceil(5 * s.beam.A))
		box := image.Rect(int(s.x)-r, int(s.y)-r, int(s.x)+r+1, int(s.y)+r+1).Intersect(img.Rect)
		st, ct := math.Sincos(s.beam.Theta)
		for y := box.Min.Y; y < box.Max.Y; y++ {
			for x := box.Min.X; x < box.Max.X; x++ {
				dx, dy := float64(x)-s.x, float64(y)-s.y
				u := ct*dx + st*dy
				v := ct*dy - st*dx
				g := s.peak * math.Exp(-math.Ln2*(u*u/(s.beam.B*s.beam.B)+v*v/(s.beam.A*s.beam.A)))
				img.Pix[img.PixOffset(x, y)] += float32(g)
			}
		}
	}
}

// detSky returns a w x h image of unit Gaussian noise with n point
// sources of peaks between lo and hi (log-uniform) on a jittered grid, so
// that they are at least `sep` pixels apart and `border` pixels from the
// edges.
func detSky(w, h, n int, lo, hi float64, beam Beam, seed uint64) (*Image, []detSource) {
	img := detNoise(w, h, 1, seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	const border = 20
	cols := int(math.Ceil(math.Sqrt(float64(n) * float64(w-2*border) / float64(h-2*border))))
	rows := (n + cols - 1) / cols
	dx, dy := float64(w-2*border)/float64(cols), float64(h-2*border)/float64(rows)
	var srcs []detSource
	for i := range n {
		cx := border + (float64(i%cols)+0.5)*dx + (rng.Float64()-0.5)*0.3*dx
		cy := border + (float64(i/cols)+0.5)*dy + (rng.Float64()-0.5)*0.3*dy
		p := lo * math.Pow(hi/lo, rng.Float64())
		srcs = append(srcs, detSource{cx, cy, p, beam})
	}
	detPaint(img, srcs)
	return img, srcs
}

// detectIslandsRef is the reference twin of Detect's thresholding,
// labelling and acceptance (SPEC 4.5), from its own maps: per-pixel
// flags, flood-fill labels in x-major order, then the edge and peak tests.
func detectIslandsRef(det *Detections, mask []bool, cfg DetectConfig, rmsFloor float64) []Island {
	w, h := det.D.Rect.Dx(), det.D.Rect.Dy()
	flags := make([]uint8, w*h)
	for i := range flags {
		d, r := float64(det.D.Pix[i]), float64(det.RMS.Pix[i])
		switch {
		case mask[i]:
			if cfg.RemoveEdgeSources {
				flags[i] = flagMasked
			}
		case d > cfg.AnalysisThr*r && r >= rmsFloor:
			flags[i] = flagCand
		}
	}
	lab := make([]int32, w*h)
	n := labelRef(lab, flags, w, h)
	isl := make([]Island, n)
	drop := make([]bool, n)
	for i := range isl {
		isl[i].Box = image.Rectangle{Min: image.Pt(math.MaxInt, math.MaxInt), Max: image.Pt(math.MinInt, math.MinInt)}
		isl[i].PeakValue = float32(math.Inf(-1))
	}
	// x-major scan, so the first maximum met is PySE's.
	for x := range w {
		for y := range h {
			p := y*w + x
			l := lab[p]
			if l == 0 {
				continue
			}
			is := &isl[l-1]
			if flags[p] == flagMasked || x == 0 || y == 0 || x == w-1 || y == h-1 {
				drop[l-1] = cfg.RemoveEdgeSources
			}
			is.NPix++
			is.Box.Min.X, is.Box.Min.Y = min(is.Box.Min.X, x), min(is.Box.Min.Y, y)
			is.Box.Max.X, is.Box.Max.Y = max(is.Box.Max.X, x+1), max(is.Box.Max.Y, y+1)
			if v := det.D.Pix[p]; v > is.PeakValue {
				is.PeakValue, is.Peak = v, image.Pt(x, y)
			}
		}
	}
	var out []Island
	for i, is := range isl {
		r := det.RMS.Pix[is.Peak.Y*w+is.Peak.X]
		if drop[i] || !(float64(is.PeakValue) > cfg.DetectionThr*float64(r)) {
			continue
		}
		is.Box = is.Box.Add(det.D.Rect.Min)
		is.Peak = is.Peak.Add(det.D.Rect.Min)
		is.Noise = r
		out = append(out, is)
	}
	return out
}

// detCheckIslands checks the islands against the reference and the
// contract of Island (labels inside the box, NPix, peak, threshold).
func detCheckIslands(t *testing.T, det *Detections, rep *DetectReport, mask []bool, cfg DetectConfig) {
	t.Helper()
	want := detectIslandsRef(det, mask, cfg, cfg.RMSFilter*rep.RMSGridMedian)
	if len(det.Islands) != len(want) {
		t.Fatalf("%d islands, reference %d", len(det.Islands), len(want))
	}
	w := det.D.Rect.Dx()
	count := map[int32]int{}
	for i, l := range det.Labels {
		if l != 0 {
			count[l]++
			p := image.Pt(i%w, i/w).Add(det.D.Rect.Min)
			if int(l) > len(det.Islands) || !p.In(det.Islands[l-1].Box) {
				t.Fatalf("label %d at %v outside its island", l, p)
			}
		}
	}
	for i, is := range det.Islands {
		ws := want[i]
		if is.Label != int32(i+1) || is.Box != ws.Box || is.Peak != ws.Peak || is.NPix != ws.NPix || is.PeakValue != ws.PeakValue || is.Noise != ws.Noise {
			t.Fatalf("island %d = %+v, reference %+v", i, is, ws)
		}
		if count[is.Label] != is.NPix {
			t.Fatalf("island %d: %d labelled pixels, NPix %d", i, count[is.Label], is.NPix)
		}
		if is.Threshold != float32(cfg.AnalysisThr*float64(is.Noise)) {
			t.Fatalf("island %d: threshold %v, want %v", i, is.Threshold, cfg.AnalysisThr*float64(is.Noise))
		}
	}
}

func TestDetectSynthetic(t *testing.T) {
	const seed = 9
	t.Logf("seed %d", seed)
	beam := Beam{A: 2.5, B: 1.8, Theta: 0.4}
	img, srcs := detSky(400, 300, 12, 15, 40, beam, seed)
	cfg := DefaultDetectConfig()
	det, rep, err := Detect(img, nil, cfg, 2)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Outcome != OutcomeOK || len(det.Islands) != len(srcs) {
		t.Fatalf("outcome %v, %d islands, want %d", rep.Outcome, len(det.Islands), len(srcs))
	}
	mask, _ := MaskTo(nil, img, cfg.Margin, cfg.Radius, nil)
	detCheckIslands(t, det, rep, mask, cfg)
	for _, s := range srcs {
		found := false
		for _, is := range det.Islands {
			// The peak pixel of a 15-sigma source is within a pixel of
			// its centre: noise moves it less than a pixel.
			if math.Abs(float64(is.Peak.X)-s.x) <= 1.5 && math.Abs(float64(is.Peak.Y)-s.y) <= 1.5 {
				found = true
			}
		}
		if !found {
			t.Errorf("source at (%.1f, %.1f) peak %.1f not found", s.x, s.y, s.peak)
		}
	}
	// Unit noise: the rms map is near 1 everywhere (clip error ~3%).
	if !(rep.RMSMin > 0.85 && rep.RMSMax < 1.15) {
		t.Errorf("rms map range [%v, %v], want about 1", rep.RMSMin, rep.RMSMax)
	}
}

// TestDetectMatchesRef runs the labelling cross-check on images with NaN
// holes, a radius, sources cut by the margin and the border, both edge
// settings and a strided, offset view.
func TestDetectMatchesRef(t *testing.T) {
	const seed = 10
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	beam := Beam{A: 3, B: 2, Theta: 1}
	for trial := range 6 {
		w, h := 150+rng.IntN(200), 120+rng.IntN(200)
		img, _ := detSky(w, h, 15, 4, 30, beam, seed+uint64(trial))
		// Sources on the border and on the margin.
		detPaint(img, []detSource{{0, float64(h / 2), 20, beam}, {12, 40, 20, beam}, {float64(w - 3), float64(h - 9), 25, beam}})
		for range 20 {
			img.Pix[rng.IntN(len(img.Pix))] = float32(math.NaN())
		}
		for _, remove := range []bool{true, false} {
			cfg := DefaultDetectConfig()
			cfg.DetectionThr = 5
			cfg.BackSizeX, cfg.BackSizeY = 32, 40
			cfg.RemoveEdgeSources = remove
			cfg.Margin = []int{0, 10}[trial%2]
			cfg.Radius = []float64{0, 0, 90}[trial%3]
			cfg.Edge = []EdgeMode{EdgeHold, EdgePySE}[trial/3]
			det, rep, err := Detect(img, nil, cfg, 3)
			if err != nil {
				t.Fatal(err)
			}
			mask, _ := MaskTo(nil, img, cfg.Margin, cfg.Radius, nil)
			detCheckIslands(t, det, rep, mask, cfg)
			t.Logf("trial %d remove %v: %dx%d, %d islands, %s", trial, remove, w, h, len(det.Islands), rep.Outcome)

			// The same pixels as a padded view at another origin.
			big := detGuardedImage(w+7, h+3, 5, -50, 30, func(int, int) float32 { return 0 })
			view := big.SubImage(image.Rect(-47, 32, -47+w, 32+h))
			for y := range h {
				copy(view.Pix[y*view.Stride:y*view.Stride+w], img.Pix[y*w:y*w+w])
			}
			dv, _, _ := Detect(view, nil, cfg, 1)
			if len(dv.Islands) != len(det.Islands) {
				t.Fatalf("view: %d islands, want %d", len(dv.Islands), len(det.Islands))
			}
			off := view.Rect.Min.Sub(img.Rect.Min)
			for i, is := range dv.Islands {
				ws := det.Islands[i]
				if is.Box != ws.Box.Add(off) || is.Peak != ws.Peak.Add(off) || is.NPix != ws.NPix || is.PeakValue != ws.PeakValue {
					t.Fatalf("view island %d = %+v, want %+v shifted by %v", i, is, ws, off)
				}
			}
		}
	}
}

func TestDetectThreadsAndReuse(t *testing.T) {
	const seed = 11
	t.Logf("seed %d", seed)
	beam := Beam{A: 2, B: 2}
	a, _ := detSky(333, 257, 30, 6, 50, beam, seed)
	b, _ := detSky(180, 410, 10, 6, 50, beam, seed+1)
	cfg := DefaultDetectConfig()
	cfg.DetectionThr = 5
	type snap struct {
		d, r   []float32
		labels []int32
		isl    []Island
	}
	take := func(det *Detections) snap {
		return snap{slices.Clone(det.D.Pix), slices.Clone(det.RMS.Pix), slices.Clone(det.Labels), slices.Clone(det.Islands)}
	}
	same := func(x, y snap) bool {
		eq := func(p, q []float32) bool {
			return slices.EqualFunc(p, q, func(u, v float32) bool { return u == v || (u != u && v != v) })
		}
		return eq(x.d, y.d) && eq(x.r, y.r) && slices.Equal(x.labels, y.labels) && slices.Equal(x.isl, y.isl)
	}
	d1, _ := NewDetector(cfg, 1)
	det, _ := d1.Detect(a, nil)
	ref := take(det)
	if len(ref.isl) == 0 {
		t.Fatal("no islands in the test image")
	}
	for _, threads := range []int{2, 3, 0} {
		d, _ := NewDetector(cfg, threads)
		det, _ := d.Detect(a, nil)
		if !same(take(det), ref) {
			t.Errorf("threads %d: results differ from 1 thread", threads)
		}
		d.Detect(b, nil) // another size in between
		det, _ = d.Detect(a, nil)
		if !same(take(det), ref) {
			t.Errorf("threads %d: reused Detector differs", threads)
		}
	}
}

// TestDetectAllocs checks that a reused Detector allocates a small,
// fixed number of times per image (goroutine start-up), not per pixel
// or per island.
func TestDetectAllocs(t *testing.T) {
	beam := Beam{A: 2, B: 2}
	few, _ := detSky(300, 300, 5, 10, 50, beam, 12)
	many, _ := detSky(300, 300, 200, 10, 50, beam, 13)
	cfg := DefaultDetectConfig()
	for _, threads := range []int{1, 2} {
		d, _ := NewDetector(cfg, threads)
		d.Detect(many, nil) // grow the buffers
		nFew := testing.AllocsPerRun(5, func() { d.Detect(few, nil) })
		nMany := testing.AllocsPerRun(5, func() { d.Detect(many, nil) })
		det, _ := d.Detect(many, nil)
		t.Logf("threads %d: %v allocs (5 sources), %v allocs (%d islands)", threads, nFew, nMany, len(det.Islands))
		// One closure per parallel loop plus each goroutine: at most a
		// few per thread, the same for 5 sources as for 200 islands. A
		// goroutine started while the last call's are still exiting
		// takes a new descriptor (under load, make test saw 13 and 14
		// with 2 threads): up to threads-1 more either way.
		if math.Abs(nFew-nMany) > float64(threads-1) || nMany > float64(8*threads+8) {
			t.Errorf("threads %d: %v and %v allocations per image", threads, nFew, nMany)
		}
	}
}

func TestDetectDegenerate(t *testing.T) {
	const seed = 14
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	mk := func(w, h int, f func() float32) *Image {
		img, _ := NewImage(image.Rect(0, 0, w, h))
		for i := range img.Pix {
			img.Pix[i] = f()
		}
		return img
	}
	nan := float32(math.NaN())
	for _, c := range []struct {
		name string
		img  *Image
		want []Outcome
	}{
		{"empty", mk(0, 0, nil), []Outcome{OutcomeEmptyImage}},
		{"zero width", mk(0, 40, nil), []Outcome{OutcomeEmptyImage}},
		{"all NaN", mk(200, 150, func() float32 { return nan }), []Outcome{OutcomeAllMasked}},
		{"constant", mk(200, 150, func() float32 { return 4 }), []Outcome{OutcomeNoBackground}},
		{"zeros", mk(300, 300, func() float32 { return 0 }), []Outcome{OutcomeNoBackground}},
		{"smaller than a cell", mk(60, 60, func() float32 { return float32(rng.NormFloat64()) }), []Outcome{OutcomeTooSmall}},
		{"one pixel", mk(1, 1, func() float32 { return 1 }), []Outcome{OutcomeAllMasked}},
		{"negative only", mk(300, 300, func() float32 { return -float32(math.Abs(rng.NormFloat64())) }), []Outcome{OutcomeNoCandidates, OutcomeNoIslands}},
		{"infinite", mk(300, 300, func() float32 { return float32(math.Inf(1)) }), []Outcome{OutcomeNoBackground}},
	} {
		det, rep, err := Detect(c.img, nil, DefaultDetectConfig(), 2)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if len(det.Islands) != 0 || !slices.Contains(c.want, rep.Outcome) {
			t.Errorf("%s: %d islands, outcome %q, want %v", c.name, len(det.Islands), rep.Outcome, c.want)
		}
		if rep.Outcome.String() == "" || rep.Outcome.String() == "ok" {
			t.Errorf("%s: no reason given", c.name)
		}
		for _, l := range det.Labels {
			if l != 0 {
				t.Fatalf("%s: labels set", c.name)
			}
		}
	}
}

func TestDetectConfigErrors(t *testing.T) {
	for _, f := range []func(*DetectConfig){
		func(c *DetectConfig) { c.BackSizeX = 0 },
		func(c *DetectConfig) { c.DetectionThr = math.NaN() },
		func(c *DetectConfig) { c.Margin = -1 },
		func(c *DetectConfig) { c.Radius = math.Inf(1) },
		func(c *DetectConfig) { c.Edge = 7 },
		func(c *DetectConfig) { c.FDR = true }, // no beam
		func(c *DetectConfig) { c.FDR, c.Beam, c.FDRAlpha = true, Beam{A: 1, B: 1}, 0 },
	} {
		cfg := DefaultDetectConfig()
		f(&cfg)
		if _, err := NewDetector(cfg, 1); !errors.Is(err, ErrDetectConfig) {
			t.Errorf("config %+v: error %v, want ErrDetectConfig", cfg, err)
		}
	}
	if err := func() error { c := DefaultDetectConfig(); return c.Validate() }(); err != nil {
		t.Errorf("default config invalid: %v", err)
	}
}
