package kernels

import (
	"image"
	"maps"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"gotrap/internal/testutil"
)

func TestSelectNthMatchesSort(t *testing.T) {
	const seed = 1
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	sizes := []int{1, 2, 3, 4, 5, 15, 16, 17, 18, 33, 100, 1001, 2500}
	for _, n := range sizes {
		for kind := range 5 {
			v := make([]float64, n)
			for i := range v {
				switch kind {
				case 0: // continuous
					v[i] = rng.NormFloat64()
				case 1: // many ties
					v[i] = float64(rng.IntN(3))
				case 2: // sorted
					v[i] = float64(i)
				case 3: // reversed
					v[i] = float64(n - i)
				case 4: // all equal
					v[i] = 7
				}
			}
			sorted := slices.Clone(v)
			slices.Sort(sorted)
			for _, k := range []int{0, n / 2, n - 1, rng.IntN(n)} {
				c := slices.Clone(v)
				selectNth(c, k)
				if c[k] != sorted[k] {
					t.Fatalf("n=%d kind=%d k=%d: v[k]=%v, want %v", n, kind, k, c[k], sorted[k])
				}
				for i := range c {
					if (i < k && c[i] > c[k]) || (i > k && c[i] < c[k]) {
						t.Fatalf("n=%d kind=%d k=%d: not partitioned at %d", n, kind, k, i)
					}
				}
			}
			if got, want := medianSelect(slices.Clone(v)), medianSortRef(v); got != want {
				t.Fatalf("n=%d kind=%d: median %v, want %v", n, kind, got, want)
			}
		}
	}
	if !math.IsNaN(medianSelect(nil)) {
		t.Error("median of nothing is not NaN")
	}
}

// truncatedStd is the forward model of TruncatedSigma: the std of a
// zero-mean Gaussian of std sigma truncated to (-l, l) (SPEC 4.3).
func truncatedStd(sigma, l float64) float64 {
	h := l / (sigma * math.Sqrt2)
	return sigma * math.Sqrt(1-(2*l/(sigma*math.Sqrt(2*math.Pi)))*math.Exp(-h*h)/math.Erf(h))
}

func TestTruncatedSigmaInvertsClip(t *testing.T) {
	for _, sigma := range []float64{1, 1.3, 2.5e-4, 7e5} {
		for _, k := range []float64{1.9, 2, 2.27, 3, 5} {
			l := k * sigma
			s := truncatedStd(sigma, l)
			got := TruncatedSigma(s, l)
			// The solve stops at a relative step of 1e-14; the
			// forward model's own rounding is a few 1e-16.
			if !testutil.Close(got, sigma, 0, 1e-12) {
				t.Errorf("sigma %g limit %g: s=%g -> %.15g, want %.15g", sigma, l, s, got, sigma)
			}
		}
	}
	// s above the largest clipped std (uniform on the interval, l/sqrt 3)
	// has no root: PySE clamps to the limit.
	if got := TruncatedSigma(0.7, 1); got != 1 {
		t.Errorf("no-root case: %v, want the limit 1", got)
	}
	if got := TruncatedSigma(0, 1); got != 0 {
		t.Errorf("s=0: %v", got)
	}
}

// TestTruncStart checks truncStart against the root solved from 1 over
// lam from the no-root limit (1/truncRatio1) to 8, at points between the
// table's nodes: within 2e-8 relative in the table (cubic Hermite
// interpolation with step 1/256; the largest error, 1.3e-8, is at the
// low end, where the root steepens), the solve from it within two evaluations
// everywhere (from 1 above the table), and TruncatedSigma within 2e-14
// relative of the solve from 1 (each stops at a relative step of 1e-14).
func TestTruncStart(t *testing.T) {
	var worst float64
	var evals, n int
	for lam := 1/truncRatio1 + 1e-6; lam < 8; lam += 1.0 / 997 {
		if lam*truncRatio1-1 <= 0 {
			continue
		}
		want, _ := truncSolve(lam, 1)
		u0 := truncStart(lam)
		if lam >= truncLam0 && lam < truncLam0+(truncNodes-1)*truncStep {
			d := math.Abs(u0-want) / want
			worst = max(worst, d)
			if d > 2e-8 {
				t.Errorf("lam %v: start %v, root %v (%.2g relative)", lam, u0, want, d)
			}
		}
		_, e := truncSolve(lam, u0)
		evals += e
		n++
		if e > 2 && lam >= truncLam0 {
			t.Errorf("lam %v: %d evaluations from the start", lam, e)
		}
		for _, s := range []float64{1, 3.7e-5, 2.2e4} {
			got := TruncatedSigma(s, lam*s)
			if !testutil.Close(got, want*s, 0, 2e-14) {
				t.Errorf("lam %v s %v: %v, solve from 1 gives %v", lam, s, got, want*s)
			}
		}
	}
	t.Logf("start within %.2g of the root; %.2f evaluations a solve", worst, float64(evals)/float64(n))
}

func TestClipCellGaussian(t *testing.T) {
	const seed = 2
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	const n = 2500 // one 50x50 cell
	const mu, sigma = 0.5, 2.0
	for trial := range 20 {
		v := make([]float64, n)
		for i := range v {
			v[i] = mu + sigma*rng.NormFloat64()
		}
		// A few bright outliers (a source) must not bias the estimate.
		for i := range 10 {
			v[i] += 50 * sigma
		}
		ref := slices.Clone(v)
		m, s := ClipCell(v)
		// The std of a std estimate from n Gaussian values is about
		// sigma/sqrt(2n) = 1.4%; clipping at 2 sigma roughly doubles it.
		// 4 of those: 12%. The mean's error is about sigma/sqrt(n)
		// (0.04) times ~2 for the mode estimate: 4 of those is 0.32.
		if math.Abs(s/sigma-1) > 0.12 {
			t.Errorf("trial %d: rms %v, want %v", trial, s, sigma)
		}
		if math.Abs(m-mu) > 0.32 {
			t.Errorf("trial %d: mean %v, want %v", trial, m, mu)
		}
		mr, sr := clipCellRef(ref)
		// Same algorithm, summation in another order: 1e-12.
		if !testutil.Close(m, mr, 1e-12, 1e-12) || !testutil.Close(s, sr, 0, 1e-12) {
			t.Errorf("trial %d: ClipCell (%v, %v), reference (%v, %v)", trial, m, s, mr, sr)
		}
	}
}

func TestClipCellFlat(t *testing.T) {
	v := make([]float64, 100)
	for i := range v {
		v[i] = 3
	}
	if m, s := ClipCell(v); m != 3 || s != 0 {
		t.Errorf("flat cell: (%v, %v), want (3, 0)", m, s)
	}
	if m, s := ClipCell(nil); !math.IsNaN(m) || s != 0 {
		t.Errorf("empty cell: (%v, %v), want (NaN, 0)", m, s)
	}
}

// TestClipCellMatchesRef covers the band-median fast path and its
// fallback: skewed, bimodal, heavy-tailed, tied and tiny cells.
func TestClipCellMatchesRef(t *testing.T) {
	const seed = 18
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	gens := map[string]func() float64{
		"gauss":   rng.NormFloat64,
		"bimodal": func() float64 { return rng.NormFloat64() + 6*float64(rng.IntN(2)) },
		"cauchy":  func() float64 { return math.Tan(math.Pi * (rng.Float64() - 0.5)) },
		"ints":    func() float64 { return float64(rng.IntN(5)) },
		"expo":    rng.ExpFloat64,
		"source": func() float64 {
			if rng.IntN(20) == 0 {
				return rng.NormFloat64() + 200
			}
			return rng.NormFloat64()
		},
	}
	for _, name := range slices.Sorted(maps.Keys(gens)) {
		gen := gens[name]
		for _, n := range []int{1, 2, 3, 4, 5, 10, 101, 2500} {
			v := make([]float64, n)
			for i := range v {
				v[i] = gen()
			}
			ref := slices.Clone(v)
			m, s := ClipCell(v)
			mr, sr := clipCellRef(ref)
			// Same algorithm, sums in another order and shifted: 1e-12
			// relative to the spread.
			if !testutil.Close(m, mr, 1e-12*math.Max(sr, 1), 1e-12) || !testutil.Close(s, sr, 1e-12, 1e-12) {
				t.Errorf("%s n=%d: ClipCell (%v, %v), reference (%v, %v)", name, n, m, s, mr, sr)
			}
		}
	}
}

// TestCellClipperBuckets checks the bucketed set queries (size and k-th
// value of an open interval of the values) against a sorted copy, on
// float32-valued data with signs, zeros of both signs, subnormals,
// infinities, ties, heavy tails, constant and tiny inputs.
func TestCellClipperBuckets(t *testing.T) {
	const seed = 31
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	special := []float32{0, float32(math.Copysign(0, -1)), 1e-45, -1e-45, float32(math.Inf(1)), float32(math.Inf(-1)), math.MaxFloat32, -math.MaxFloat32}
	gens := map[string]func() float32{
		"gauss":    func() float32 { return float32(rng.NormFloat64()) },
		"positive": func() float32 { return float32(rng.ExpFloat64()) },
		"ints":     func() float32 { return float32(rng.IntN(4) - 2) },
		"special":  func() float32 { return special[rng.IntN(len(special))] },
		"const":    func() float32 { return 3.25 },
		"wide":     func() float32 { return float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(60)-30))) },
		"cauchy":   func() float32 { return float32(math.Tan(math.Pi * (rng.Float64() - 0.5))) },
		"mostly-const": func() float32 {
			if rng.IntN(10) == 0 {
				return float32(rng.NormFloat64())
			}
			return 1
		},
		"noise+inf": func() float32 {
			if rng.IntN(100) == 0 {
				return float32(math.Inf(1 - 2*rng.IntN(2)))
			}
			return float32(rng.NormFloat64())
		},
	}
	// Iterate in a fixed order: map order would make the seeded stream
	// (and so the inputs) differ from run to run.
	names := slices.Sorted(maps.Keys(gens))
	var cc cellClipper[float32]
	for _, name := range names {
		gen := gens[name]
		for _, n := range []int{1, 2, 3, 31, 255, 256, 257, 2500, 4096} {
			vals := make([]float32, n)
			for i := range vals {
				vals[i] = gen()
			}
			sorted := make([]float64, n)
			for i, x := range vals {
				sorted[i] = float64(x)
			}
			slices.Sort(sorted)
			cc.load(vals, n, nil, 0, n, 1)
			for trial := range 20 {
				// Interval ends: data values, values between, infinities.
				pick := func() float64 {
					switch rng.IntN(4) {
					case 0:
						return math.Inf(2*rng.IntN(2) - 1)
					case 1:
						return sorted[rng.IntN(n)] + rng.NormFloat64()*1e-3
					}
					return sorted[rng.IntN(n)]
				}
				a, b := pick(), pick()
				if trial == 0 {
					a, b = math.Inf(-1), math.Inf(1)
				}
				s := clipSet{a: a, b: b, ba: cc.bucketOf(a), bb: cc.bucketOf(b)}
				var want []float64
				for _, x := range sorted {
					if a < x && x < b {
						want = append(want, x)
					}
				}
				if !(a < b) || len(want) == 0 {
					continue
				}
				nl, _, _ := cc.scan(&s, s.ba)
				got, _, _, _ := cc.stats(&s)
				if got != len(want) {
					t.Fatalf("%s n=%d (%v, %v): size %d, want %d", name, n, a, b, got, len(want))
				}
				for _, k := range []int{0, len(want) / 2, len(want) - 1, rng.IntN(len(want))} {
					if x := cc.kth(&s, k, nl); x != want[k] {
						t.Fatalf("%s n=%d (%v, %v): [%d] = %v, want %v", name, n, a, b, k, x, want[k])
					}
				}
			}
		}
	}
}

// TestCellClipperMatchesRef runs the background's cell path (in-place
// load, bucketed clip) against clipCellRef on seeded cells of
// several shapes and distributions, including ties, constant cells,
// outliers, and tiny cells, and checks that ClipCell gives the same bits
// as the cell path.
func TestCellClipperMatchesRef(t *testing.T) {
	const seed = 32
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	gens := map[string]func() float64{
		"gauss":   rng.NormFloat64,
		"bimodal": func() float64 { return rng.NormFloat64() + 6*float64(rng.IntN(2)) },
		"cauchy":  func() float64 { return math.Tan(math.Pi * (rng.Float64() - 0.5)) },
		"ints":    func() float64 { return float64(rng.IntN(5)) },
		"const":   func() float64 { return -1.5 },
		"gradient+source": func() float64 {
			if rng.IntN(50) == 0 {
				return 1e4 * rng.Float64()
			}
			return 1e-3*rng.NormFloat64() + 7
		},
		"tiny-scale": func() float64 { return 1e-30 * rng.NormFloat64() },
	}
	// Iterate in a fixed order: map order would make the seeded stream
	// (and so the inputs) differ from run to run.
	names := slices.Sorted(maps.Keys(gens))
	var cc cellClipper[float32]
	for _, name := range names {
		gen := gens[name]
		for _, sh := range [][2]int{{1, 1}, {1, 2}, {3, 1}, {2, 2}, {5, 7}, {31, 33}, {50, 50}, {64, 64}} {
			cw, ch := sh[0], sh[1]
			// The cell sits at (1, 2) of a padded image with a stride.
			img, _ := NewImage(image.Rect(0, 0, cw+3, ch+4))
			for i := range img.Pix {
				img.Pix[i] = float32(gen())
			}
			w := img.Rect.Dx()
			mask := make([]bool, w*img.Rect.Dy())
			// Outside the cell: the pixel below it, right of its last
			// pixel, left of its first.
			mask[(2+ch)*w+cw] = true
			mask[(2+ch-1)*w+cw+1] = true
			mask[2*w] = true
			m, s, masked := clipImageCell(&cc, img, mask, w, 1, 2, cw, ch)
			if masked {
				t.Fatalf("%s %dx%d: unmasked cell reported masked", name, cw, ch)
			}
			v := make([]float64, 0, cw*ch)
			for y := 2; y < 2+ch; y++ {
				for x := 1; x < 1+cw; x++ {
					v = append(v, float64(img.Pix[y*img.Stride+x]))
				}
			}
			mr, sr := clipCellRef(slices.Clone(v))
			// Same algorithm, sums in another order and shifted: 1e-12
			// relative to the spread.
			if !testutil.Close(m, mr, 1e-12*math.Max(sr, math.Abs(mr)), 1e-12) || !testutil.Close(s, sr, 1e-300, 1e-12) {
				t.Errorf("%s %dx%d: cell path (%v, %v), reference (%v, %v)", name, cw, ch, m, s, mr, sr)
			}
			if mc, sc := ClipCell(v); mc != m || sc != s {
				t.Errorf("%s %dx%d: ClipCell (%v, %v), cell path (%v, %v)", name, cw, ch, mc, sc, m, s)
			}
			// One masked pixel inside the cell (first, middle, last), by
			// the one-pass load and by the two-pass one; a NaN under it.
			for _, p := range [][2]int{{0, 0}, {cw / 2, ch / 2}, {cw - 1, ch - 1}} {
				i := (2+p[1])*w + 1 + p[0]
				mask[i] = true
				old := img.Pix[(2+p[1])*img.Stride+1+p[0]]
				img.Pix[(2+p[1])*img.Stride+1+p[0]] = float32(math.NaN())
				for _, two := range []bool{false, true} {
					cc.twoPass = two
					if _, _, masked := clipImageCell(&cc, img, mask, w, 1, 2, cw, ch); !masked {
						t.Errorf("%s %dx%d: pixel %v masked, cell reported unmasked (two-pass %v)", name, cw, ch, p, two)
					}
				}
				cc.twoPass = false
				mask[i] = false
				img.Pix[(2+p[1])*img.Stride+1+p[0]] = old
			}
		}
	}
}

// TestClipCellInfiniteSpread is the regression test of a fuzz-like find:
// with infinities among the values the bucketing's robust spread was
// infinite, its inverse 0, and an infinite value fell into a NaN bucket
// (index out of range). Such a cell must bucket as flat and clip like the
// reference.
func TestClipCellInfiniteSpread(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 0))
	for _, frac := range []float64{0.3, 0.5, 0.9} {
		v := make([]float32, 2500)
		for i := range v {
			switch u := rng.Float64(); {
			case u < frac/2:
				v[i] = float32(math.Inf(1))
			case u < frac:
				v[i] = float32(math.Inf(-1))
			default:
				v[i] = float32(rng.NormFloat64())
			}
		}
		var cc cellClipper[float32]
		cc.load(v, len(v), nil, 0, len(v), 1)
		for _, x := range []float64{math.Inf(-1), -1, 0, 1, math.Inf(1)} {
			if b := cc.bucketOf(x); b < 0 || b >= clipBuckets {
				t.Fatalf("frac %v: bucketOf(%v) = %d, outside [0, %d)", frac, x, b, clipBuckets)
			}
		}
		w := make([]float64, len(v))
		for i, x := range v {
			w[i] = float64(x)
		}
		m, s := ClipCell(slices.Clone(w))
		mr, sr := clipCellRef(w)
		same := func(a, b float64) bool {
			return a == b || math.IsNaN(a) && math.IsNaN(b) || testutil.Close(a, b, 1e-12, 1e-12)
		}
		if !same(m, mr) || !same(s, sr) {
			t.Errorf("frac %v: ClipCell (%v, %v), reference (%v, %v)", frac, m, s, mr, sr)
		}
	}
}

// TestAnyTrueMatchesRef checks anyTrue against its reference loop at
// every length up to 40 and every position of a single true value.
func TestAnyTrueMatchesRef(t *testing.T) {
	for n := range 41 {
		m := make([]bool, n+2) // a true guard on each side, outside m
		m[0], m[n+1] = true, true
		v := m[1 : n+1]
		if anyTrue(v) || anyTrueRef(v) {
			t.Fatalf("n=%d: all false reported true", n)
		}
		for i := range v {
			v[i] = true
			if !anyTrue(v) || !anyTrueRef(v) {
				t.Fatalf("n=%d: true at %d not found", n, i)
			}
			v[i] = false
		}
	}
}

// TestCellClipperLayouts loads the same cells by the one-pass layout and
// by the two-pass counting sort (forced) and requires the same bits from
// both: they hold each bucket's values in the same order and sum them in
// the same order. The cells include ones that overflow an inner bucket
// (ties, a narrow peak, a sample that overestimates the spread), where
// the one-pass load falls back to the two-pass one.
func TestCellClipperLayouts(t *testing.T) {
	const seed = 33
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	gens := map[string]func(i int) float32{
		"gauss":  func(int) float32 { return float32(rng.NormFloat64()) },
		"ints":   func(int) float32 { return float32(rng.IntN(7)) },
		"spiky":  func(int) float32 { return float32(rng.NormFloat64() * float64(1+99*rng.IntN(2))) },
		"peak":   func(int) float32 { return float32(rng.NormFloat64() * (1 + 1e-4*float64(rng.IntN(3)))) },
		"narrow": func(i int) float32 { return float32(1e-3*rng.NormFloat64()) + float32(100*(i%2)) },
		"source": func(i int) float32 {
			if i%37 == 0 {
				return float32(50 + rng.NormFloat64())
			}
			return float32(rng.NormFloat64())
		},
		"tails": func(int) float32 { return float32(math.Tan(math.Pi * (rng.Float64() - 0.5))) },
	}
	var one, two cellClipper[float32]
	two.twoPass = true
	var layouts [2]int // cells loaded in one pass, cells that fell back
	for _, name := range slices.Sorted(maps.Keys(gens)) {
		for _, n := range []int{128, 500, 2500, 10000} {
			v := make([]float32, n)
			for i := range v {
				v[i] = gens[name](i)
			}
			one.load(v, n, nil, 0, n, 1)
			two.load(v, n, nil, 0, n, 1)
			if one.off == one.layout {
				layouts[0]++
			} else {
				layouts[1]++
			}
			if one.start != two.start || one.p1 != two.p1 || one.p2 != two.p2 {
				t.Fatalf("%s n=%d: counts or sums differ between the layouts", name, n)
			}
			for k := range clipBuckets {
				if !slices.Equal(one.members(k), two.members(k)) {
					t.Fatalf("%s n=%d: bucket %d differs between the layouts", name, n, k)
				}
			}
			m1, s1 := one.clip()
			m2, s2 := two.clip()
			if m1 != m2 || s1 != s2 {
				t.Errorf("%s n=%d: one pass (%v, %v), two passes (%v, %v)", name, n, m1, s1, m2, s2)
			}
			w := make([]float64, n)
			for i, x := range v {
				w[i] = float64(x)
			}
			mr, sr := clipCellRef(w)
			if !testutil.Close(m1, mr, 1e-12*math.Max(sr, math.Abs(mr)), 1e-12) || !testutil.Close(s1, sr, 1e-300, 1e-12) {
				t.Errorf("%s n=%d: (%v, %v), reference (%v, %v)", name, n, m1, s1, mr, sr)
			}
		}
	}
	if layouts[0] == 0 || layouts[1] == 0 {
		t.Errorf("%d cells loaded in one pass, %d fell back: both paths must be exercised", layouts[0], layouts[1])
	}
	t.Logf("%d cells loaded in one pass, %d fell back", layouts[0], layouts[1])
}
