package wcs_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gotrap/internal/testutil"
	"gotrap/internal/wcs"
	"gotrap/kernels/sphere"
)

// Tolerances of the comparison with wcslib, the required agreement: 1e-9 degrees on
// sky, 1e-8 pixels. Both codes work in float64; their differences come from
// rounding (order of operations, wcslib's degree-based trigonometry) and
// are measured at about 1e-13 degrees and 1e-10 pixels (see the t.Log
// lines), so the tolerances leave room without hiding real errors: a
// wrong LONPOLE or a swapped matrix element moves points by whole pixels.
const (
	skyTol = 1e-9 // degrees of great-circle distance
	pixTol = 1e-8 // pixels, per axis
)

// goldenCase is one file of testdata/wcsgolden (see its README.md).
type goldenCase struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Source      string         `json:"source"`
	Header      map[string]any `json:"header"`
	Projection  string         `json:"projection"`
	PixelScale  [2]float64     `json:"pixel_scale"`
	Pix2Sky     struct {
		X, Y, RA, Dec []float64
	} `json:"pix2sky"`
	Sky2Pix struct {
		RA, Dec, X, Y []float64
	} `json:"sky2pix"`
	OutsidePix struct{ X, Y []float64 }    `json:"outside_pix"`
	OutsideSky struct{ RA, Dec []float64 } `json:"outside_sky"`
}

// header converts the JSON header into FITS-typed values: numbers written
// without a fraction or exponent are int64 (FITS integers), the others
// float64, as a FITS reader hands them over.
func (c *goldenCase) header(t testing.TB) wcs.MapHeader {
	t.Helper()
	h := wcs.MapHeader{}
	for k, v := range c.Header {
		switch v := v.(type) {
		case json.Number:
			if !strings.ContainsAny(string(v), ".eE") {
				i, err := v.Int64()
				if err != nil {
					t.Fatalf("%s: %s: %v", c.Name, k, err)
				}
				h[k] = i
				continue
			}
			f, err := v.Float64()
			if err != nil {
				t.Fatalf("%s: %s: %v", c.Name, k, err)
			}
			h[k] = f
		default:
			h[k] = v
		}
	}
	return h
}

func loadGolden(t testing.TB) []goldenCase {
	t.Helper()
	dir := filepath.Join(testutil.ProjectRoot(t), "testdata", "wcsgolden")
	paths, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	// 4 real images and 26 synthetic headers: fewer means a lost file.
	if len(paths) < 30 {
		t.Fatalf("found %d golden files in %s, want 30; regenerate with `make golden`", len(paths), dir)
	}
	sort.Strings(paths)
	cases := make([]goldenCase, 0, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		// Headers keep their FITS types through json.Number; the
		// arrays are plain float64.
		var raw struct {
			Header map[string]any `json:"header"`
		}
		d := json.NewDecoder(bytes.NewReader(b))
		d.UseNumber()
		if err := d.Decode(&raw); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		var c goldenCase
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		c.Header = raw.Header
		if len(c.Pix2Sky.X) == 0 || len(c.Pix2Sky.X) != len(c.Pix2Sky.RA) || len(c.Sky2Pix.RA) != len(c.Sky2Pix.X) {
			t.Fatalf("%s: malformed golden file", p)
		}
		cases = append(cases, c)
	}
	return cases
}

func fromGolden(t testing.TB, c *goldenCase) *wcs.WCS {
	t.Helper()
	w, err := wcs.FromHeader(c.header(t))
	if err != nil {
		t.Fatalf("%s: FromHeader: %v", c.Name, err)
	}
	return w
}

func TestGoldenPixToSky(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			w := fromGolden(t, &c)
			g := &c.Pix2Sky
			worst, worstDec := 0.0, 0.0
			for i := range g.X {
				ra, dec, err := w.PixToSky(g.X[i], g.Y[i])
				if err != nil {
					t.Fatalf("PixToSky(%v, %v): %v", g.X[i], g.Y[i], err)
				}
				if !(ra >= 0 && ra < 360) {
					t.Errorf("PixToSky(%v, %v): ra = %v outside [0, 360)", g.X[i], g.Y[i], ra)
				}
				s := sphere.Sep(ra, dec, g.RA[i], g.Dec[i])
				dd := math.Abs(dec - g.Dec[i])
				if s > skyTol || dd > skyTol || math.IsNaN(s) {
					t.Errorf("PixToSky(%v, %v) = (%.12f, %.12f), wcslib (%.12f, %.12f): %.3g deg apart",
						g.X[i], g.Y[i], ra, dec, g.RA[i], g.Dec[i], s)
				}
				worst = math.Max(worst, s)
				worstDec = math.Max(worstDec, dd)
			}
			t.Logf("%d pixels: max distance to wcslib %.2g deg, max |ddec| %.2g deg", len(g.X), worst, worstDec)
		})
	}
}

func TestGoldenSkyToPix(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			w := fromGolden(t, &c)
			g := &c.Sky2Pix
			worst := 0.0
			for i := range g.RA {
				x, y, err := w.SkyToPix(g.RA[i], g.Dec[i])
				if err != nil {
					t.Fatalf("SkyToPix(%v, %v): %v", g.RA[i], g.Dec[i], err)
				}
				d := math.Max(math.Abs(x-g.X[i]), math.Abs(y-g.Y[i]))
				if !(d <= pixTol) {
					t.Errorf("SkyToPix(%v, %v) = (%.10f, %.10f), wcslib (%.10f, %.10f)",
						g.RA[i], g.Dec[i], x, y, g.X[i], g.Y[i])
				}
				worst = math.Max(worst, d)
			}
			t.Logf("%d positions: max pixel difference to wcslib %.2g", len(g.RA), worst)
		})
	}
}

// TestGoldenOutside checks the points wcslib finds to have no valid image.
func TestGoldenOutside(t *testing.T) {
	for _, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			w := fromGolden(t, &c)
			for i := range c.OutsidePix.X {
				x, y := c.OutsidePix.X[i], c.OutsidePix.Y[i]
				ra, dec, err := w.PixToSky(x, y)
				if !errors.Is(err, wcs.ErrOutsideSky) || !math.IsNaN(ra) || !math.IsNaN(dec) {
					t.Errorf("PixToSky(%v, %v) = %v, %v, %v; want NaN, NaN, ErrOutsideSky", x, y, ra, dec, err)
				}
			}
			for i := range c.OutsideSky.RA {
				ra, dec := c.OutsideSky.RA[i], c.OutsideSky.Dec[i]
				x, y, err := w.SkyToPix(ra, dec)
				if !errors.Is(err, wcs.ErrOutsideSky) || !math.IsNaN(x) || !math.IsNaN(y) {
					t.Errorf("SkyToPix(%v, %v) = %v, %v, %v; want NaN, NaN, ErrOutsideSky", ra, dec, x, y, err)
				}
			}
		})
	}
}

func TestGoldenScaleAndProjection(t *testing.T) {
	for _, c := range loadGolden(t) {
		w := fromGolden(t, &c)
		if got := w.Projection(); got != c.Projection {
			t.Errorf("%s: Projection() = %q, want %q", c.Name, got, c.Projection)
		}
		dx, dy := w.PixelScale()
		// Column norms computed in a different order than numpy's:
		// a few ulps.
		if !testutil.Close(dx, c.PixelScale[0], 0, 1e-14) || !testutil.Close(dy, c.PixelScale[1], 0, 1e-14) {
			t.Errorf("%s: PixelScale() = %v, %v, wcslib %v", c.Name, dx, dy, c.PixelScale)
		}
	}
}

// TestRoundTrip converts seeded random pixels of every golden image to sky
// and back.
func TestRoundTrip(t *testing.T) {
	const seed = 20240613
	t.Logf("seed %d", seed)
	for k, c := range loadGolden(t) {
		t.Run(c.Name, func(t *testing.T) {
			w := fromGolden(t, &c)
			nx := float64(asInt(t, c.Header["NAXIS1"]))
			ny := float64(asInt(t, c.Header["NAXIS2"]))
			rng := rand.New(rand.NewPCG(seed, uint64(k)))
			worst := 0.0
			for range 500 {
				// The image rectangle lies inside the valid region (the
				// golden grid checks its corners; the regions are
				// convex in the pixel plane).
				x := rng.Float64() * (nx - 1)
				y := rng.Float64() * (ny - 1)
				ra, dec, err := w.PixToSky(x, y)
				if err != nil {
					t.Fatalf("PixToSky(%v, %v): %v", x, y, err)
				}
				x2, y2, err := w.SkyToPix(ra, dec)
				if err != nil {
					t.Fatalf("SkyToPix(PixToSky(%v, %v)): %v", x, y, err)
				}
				d := math.Max(math.Abs(x2-x), math.Abs(y2-y))
				if !(d <= pixTol) {
					t.Errorf("(%v, %v) -> (%v, %v) -> (%v, %v)", x, y, ra, dec, x2, y2)
				}
				worst = math.Max(worst, d)
			}
			t.Logf("max round-trip error %.2g px", worst)
		})
	}
}

func asInt(t testing.TB, v any) int64 {
	t.Helper()
	n, ok := v.(json.Number)
	if !ok {
		t.Fatalf("NAXIS is %T, want a number", v)
	}
	i, err := n.Int64()
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// TestGoldenHeadersMatchRealFiles checks that the header cards stored for
// the real images are those of the files in ../shared/data, so that the
// golden cases cannot drift from the data they stand for.
func TestGoldenHeadersMatchRealFiles(t *testing.T) {
	n := 0
	for _, c := range loadGolden(t) {
		if c.Source == "synthetic" {
			continue
		}
		n++
		cards := readCards(t, testutil.SharedFile(t, c.Source))
		for k, v := range c.header(t) {
			got, ok := cards[k]
			if !ok {
				t.Errorf("%s: %s not in %s", c.Name, k, c.Source)
				continue
			}
			want := fmt.Sprint(v)
			if f, isF := v.(float64); isF {
				want = fmt.Sprint(f)
			}
			if got != want {
				t.Errorf("%s: %s = %s in the file, %s in the golden header", c.Name, k, got, want)
			}
		}
	}
	if n != 4 {
		t.Errorf("%d golden cases from real images, want 4", n)
	}
}

// readCards reads the primary header of a FITS file into keyword -> value
// printed by fmt.Sprint of its Go value (int64, float64 or string), enough
// to compare with the golden headers without a FITS package.
func readCards(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for off := 0; off+80 <= len(b); off += 80 {
		card := string(b[off : off+80])
		key := strings.TrimSpace(card[:8])
		if key == "END" {
			return out
		}
		if card[8:10] != "= " {
			continue
		}
		val := strings.TrimSpace(card[10:])
		if strings.HasPrefix(val, "'") {
			end := strings.Index(val[1:], "'")
			if end < 0 {
				t.Fatalf("%s: bad string card %q", path, card)
			}
			out[key] = strings.TrimRight(val[1:1+end], " ")
			continue
		}
		if i := strings.Index(val, "/"); i >= 0 {
			val = strings.TrimSpace(val[:i])
		}
		var i int64
		if _, err := fmt.Sscan(val, &i); err == nil && !strings.ContainsAny(val, ".EeDd") {
			out[key] = fmt.Sprint(i)
			continue
		}
		var f float64
		if _, err := fmt.Sscan(strings.Replace(val, "D", "E", 1), &f); err == nil {
			out[key] = fmt.Sprint(f)
		}
	}
	t.Fatalf("%s: no END card", path)
	return nil
}
