package fitsimg

import (
	"bytes"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/astrogo/fitsio"

	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// fixture returns the path of a committed fixture in testdata/fits.
func fixture(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testutil.ProjectRoot(t), "testdata", "fits", name)
}

// fitsioPixels decodes the primary array of path with fitsio's own
// element-wise reader and applies the scaling by hand: an oracle that
// shares no code with DecodeTo.
func fitsioPixels(t *testing.T, path string, bscale, bzero float64, blank *int64) []float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ff, err := fitsio.Open(f)
	if err != nil {
		t.Fatalf("fitsio.Open(%s): %v", path, err)
	}
	img := ff.HDU(0).(fitsio.Image)
	n := 1
	for _, a := range img.Header().Axes() {
		n *= a
	}
	out := make([]float32, n)
	phys := func(i int, v int64) {
		if blank != nil && v == *blank {
			out[i] = float32(math.NaN())
			return
		}
		out[i] = float32(float64(v)*bscale + bzero)
	}
	switch img.Header().Bitpix() {
	case 8:
		v := make([]byte, n)
		must(t, img.Read(&v))
		for i, x := range v {
			phys(i, int64(x))
		}
	case 16:
		v := make([]int16, n)
		must(t, img.Read(&v))
		for i, x := range v {
			phys(i, int64(x))
		}
	case 32:
		v := make([]int32, n)
		must(t, img.Read(&v))
		for i, x := range v {
			phys(i, int64(x))
		}
	case 64:
		v := make([]int64, n)
		must(t, img.Read(&v))
		for i, x := range v {
			phys(i, x)
		}
	case -32:
		v := make([]float32, n)
		must(t, img.Read(&v))
		for i, x := range v {
			out[i] = x
			if bscale != 1 || bzero != 0 {
				out[i] = float32(float64(x)*bscale + bzero)
			}
		}
	case -64:
		v := make([]float64, n)
		must(t, img.Read(&v))
		for i, x := range v {
			out[i] = float32(x*bscale + bzero)
		}
	}
	return out
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// equalPixels compares bit for bit, any NaN matching any NaN.
func equalPixels(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d pixels, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := got[i], want[i]
		if math.IsNaN(float64(g)) && math.IsNaN(float64(w)) {
			continue
		}
		if math.Float32bits(g) != math.Float32bits(w) {
			t.Fatalf("%s: pixel %d = %v, want %v", what, i, g, w)
		}
	}
}

// TestReadFixtures reads each BITPIX fixture and compares the pixels with
// fitsio's element-wise decoding scaled by hand, and the special values
// the generator put first with values computed here.
func TestReadFixtures(t *testing.T) {
	i64 := func(v int64) *int64 { return &v }
	for _, tc := range []struct {
		file          string
		bscale, bzero float64
		blank         *int64
		first         []float64 // expected first pixels (NaN = blank)
	}{
		{"bitpix8.fits", 0.5, -10, i64(255), []float64{math.NaN(), -10, 254*0.5 - 10, -10}},
		{"bitpix16.fits", 1, 32768, i64(32767), []float64{math.NaN(), 0, 32766 + 32768, 32768}},
		{"bitpix32.fits", 0.001, 5, i64(math.MinInt32), []float64{math.NaN(), (math.MinInt32+1)*0.001 + 5, math.MaxInt32*0.001 + 5, 5}},
		{"bitpix64.fits", 2.5, -1, i64(math.MinInt64), []float64{math.NaN(), (math.MinInt64+1)*2.5 - 1, math.MaxInt64*2.5 - 1, -1}},
		{"bitpix-32.fits", 1, 0, nil, []float64{math.NaN(), math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.SmallestNonzeroFloat32, math.MaxFloat32}},
		{"bitpix-64.fits", 2, 1, nil, []float64{math.NaN(), 1, math.Inf(1), math.Inf(-1), 1, math.Inf(1)}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := fixture(t, tc.file)
			img, m, err := Read(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if m.Naxis1 != 7 || m.Naxis2 != 5 || img.Rect.Dx() != 7 || img.Rect.Dy() != 5 || img.Stride != 7 {
				t.Fatalf("size %v stride %d, meta %dx%d", img.Rect, img.Stride, m.Naxis1, m.Naxis2)
			}
			equalPixels(t, "vs fitsio", img.Pix, fitsioPixels(t, path, tc.bscale, tc.bzero, tc.blank))
			for i, w := range tc.first {
				g := float64(img.Pix[i])
				if math.IsNaN(w) != math.IsNaN(g) || !math.IsNaN(w) && float32(w) != img.Pix[i] ||
					w == 0 && math.Signbit(w) != math.Signbit(g) {
					t.Errorf("pixel %d = %v, want %v", i, g, w)
				}
			}
		})
	}
}

// TestReadRealMatchesFitsio reads a real image and compares every pixel
// with fitsio's element-wise decoding.
func TestReadRealMatchesFitsio(t *testing.T) {
	path := testutil.SharedFile(t, "GRB120422A-120429.fits")
	img, _, err := ReadImage(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	equalPixels(t, "GRB120422A vs fitsio", img.Pix, fitsioPixels(t, path, 1, 0, nil))
	// The centre pixel of the published image, as a float32 sanity check
	// that rows are not transposed: (x, y) = (256, 256) is row 256.
	if img.At(256, 256) != img.Pix[256*512+256] {
		t.Error("At does not index row-major")
	}
}

func TestReadCubePlanes(t *testing.T) {
	path := fixture(t, "cube.fits")
	for plane := 0; plane < 2; plane++ {
		img, m, err := Read(path, Options{Plane: plane})
		if err != nil {
			t.Fatal(err)
		}
		if m.Planes != 2 || m.Plane != plane {
			t.Errorf("plane %d: Meta.Plane %d of %d", plane, m.Plane, m.Planes)
		}
		for i, v := range img.Pix {
			if want := float32(100*plane + i); v != want {
				t.Fatalf("plane %d pixel %d = %v, want %v", plane, i, v, want)
			}
		}
		// Channel frequency: CRVAL3 + plane * CDELT3.
		if want := 1.4e8 + float64(plane)*2e5; m.FreqEff != want || m.FreqBW != 2e5 {
			t.Errorf("plane %d: freq %v bw %v, want %v, 2e5", plane, m.FreqEff, m.FreqBW, want)
		}
	}
	for _, p := range []int{-1, 2} {
		if _, _, err := Read(path, Options{Plane: p}); !errors.Is(err, ErrNoPlane) {
			t.Errorf("plane %d: %v, want ErrNoPlane", p, err)
		}
		if _, err := ReadMeta(path, Options{Plane: p}); !errors.Is(err, ErrNoPlane) {
			t.Errorf("ReadMeta plane %d: %v, want ErrNoPlane", p, err)
		}
	}
}

// setCard replaces the value of key in the first header block of b.
func setCard(t *testing.T, b []byte, key, value string) []byte {
	t.Helper()
	out := bytes.Clone(b)
	for off := 0; off+CardLen <= BlockLen; off += CardLen {
		if string(out[off:off+8]) == key+strings.Repeat(" ", 8-len(key)) {
			copy(out[off:off+CardLen], pad(key+strings.Repeat(" ", 8-len(key))+"= "+value))
			return out
		}
	}
	t.Fatalf("no %s card", key)
	return nil
}

// TestDecodeBroken feeds broken files to Decode, DecodeHeader and, from
// disk, Read, ReadMeta and ReadHeader: each must fail with the right
// sentinel, name the file, and not panic.
func TestDecodeBroken(t *testing.T) {
	good, err := os.ReadFile(fixture(t, "bitpix16.fits"))
	if err != nil {
		t.Fatal(err)
	}
	ascii := func(s string) []byte { return []byte(s) }
	noEnd := bytes.ReplaceAll(bytes.Clone(good[:BlockLen]), ascii("END     "), ascii("XND     "))
	for _, tc := range []struct {
		name string
		b    []byte
		want error
	}{
		{"zero-length", nil, ErrNotFITS},
		{"not-fits", ascii("P6\n7 5\n255\n"), ErrNotFITS},
		{"simple-false", setCard(t, good, "SIMPLE", "F"), ErrNotFITS},
		{"truncated-header", good[:1000], ErrTruncated},
		{"no-end", noEnd, ErrTruncated},
		{"truncated-data", good[:BlockLen+10], ErrTruncated},
		{"naxis1-1e8", setCard(t, good, "NAXIS1", "100000000"), ErrTruncated},
		{"naxis1-1e9", setCard(t, good, "NAXIS1", "1000000000"), ErrBadHeader}, // 5e9 pixels > kernels.MaxPixels
		{"naxis-absurd", setCard(t, setCard(t, good, "NAXIS1", "2000000000"), "NAXIS2", "2000000000"), ErrBadHeader},
		{"naxis2-zero", setCard(t, good, "NAXIS2", "0"), ErrNoImage},
		{"naxis2-negative", setCard(t, good, "NAXIS2", "-5"), ErrBadHeader},
		{"naxis-negative", setCard(t, good, "NAXIS", "-1"), ErrBadHeader},
		{"naxis-1000", setCard(t, good, "NAXIS", "1000"), ErrBadHeader},
		{"naxis-0", setCard(t, good, "NAXIS", "0"), ErrNoImage},
		{"naxis-1", setCard(t, good, "NAXIS", "1"), ErrNot2D},
		{"naxis-3-missing-naxis3", setCard(t, good, "NAXIS", "3"), ErrBadHeader},
		{"1x5", setCard(t, good, "NAXIS1", "1"), ErrNot2D},
		{"bitpix-invalid", setCard(t, good, "BITPIX", "12"), ErrBadHeader},
		{"bitpix-string", setCard(t, good, "BITPIX", "'16'"), ErrBadHeader},
		{"bitpix-huge", setCard(t, good, "BITPIX", "99999999999"), ErrBadHeader},
		{"blank-string", setCard(t, good, "BLANK", "'x'"), ErrBadHeader},
		{"bscale-zero", setCard(t, good, "BSCALE", "0"), ErrBadHeader},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bytes.NewReader(tc.b)
			if _, _, err := Decode(r, int64(len(tc.b)), Options{}); !errors.Is(err, tc.want) {
				t.Errorf("Decode: %v, want %v", err, tc.want)
			}
			if _, err := DecodeHeader(r, int64(len(tc.b))); !errors.Is(err, tc.want) {
				t.Errorf("DecodeHeader: %v, want %v", err, tc.want)
			}
			path := filepath.Join(t.TempDir(), tc.name+".fits")
			if err := os.WriteFile(path, tc.b, 0o644); err != nil {
				t.Fatal(err)
			}
			_, _, err1 := Read(path, Options{})
			_, err2 := ReadMeta(path, Options{})
			_, err3 := ReadHeader(path)
			for _, err := range []error{err1, err2, err3} {
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), path) {
					t.Errorf("from disk: %v, want %v naming %s", err, tc.want, path)
				}
			}
		})
	}
}

// TestDecodeHugeHeaderBoundedMemory checks that a header declaring 1e9
// pixels (4 GB) in a small file allocates no more than a few blocks.
func TestDecodeHugeHeaderBoundedMemory(t *testing.T) {
	good, err := os.ReadFile(fixture(t, "bitpix-32.fits"))
	if err != nil {
		t.Fatal(err)
	}
	b := setCard(t, setCard(t, good, "NAXIS1", "1000000000"), "NAXIS2", "2")
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, _, err = Decode(bytes.NewReader(b), int64(len(b)), Options{})
	runtime.ReadMemStats(&after)
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("err %v, want ErrTruncated", err)
	}
	// The header reader's chunk (23 KB) and parsed cards; 1 MiB leaves
	// room for the runtime and is 4000 times less than the declared data.
	if d := after.TotalAlloc - before.TotalAlloc; d > 1<<20 {
		t.Errorf("allocated %d bytes for a corrupt header", d)
	}
}

func TestReadUnreadable(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := Read(filepath.Join(dir, "missing.fits"), Options{}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if _, err := ReadMeta(dir, Options{}); !errors.Is(err, ErrNotFITS) || !strings.Contains(err.Error(), dir) {
		t.Errorf("directory: %v", err)
	}
}

// TestReadPermission needs a user who cannot read a mode-000 file; root
// can, so it skips there.
func TestReadPermission(t *testing.T) {
	p := filepath.Join(t.TempDir(), "noperm.fits")
	b, _ := os.ReadFile(fixture(t, "bitpix8.fits"))
	if err := os.WriteFile(p, b, 0); err != nil {
		t.Fatal(err)
	}
	if f, err := os.Open(p); err == nil {
		f.Close()
		t.Skip("running as a user who can read a mode-000 file (root)")
	}
	if _, err := ReadHeader(p); !errors.Is(err, fs.ErrPermission) || !strings.Contains(err.Error(), p) {
		t.Errorf("unreadable file: %v", err)
	}
}

// TestReadHeaderOnly checks that the header-only path reads the header
// and not the pixels: an image with 1 MiB of data is read no further than
// the header reader's first chunk.
func TestReadHeaderOnly(t *testing.T) {
	b, err := os.ReadFile(fixture(t, "lofar.fits"))
	if err != nil {
		t.Fatal(err)
	}
	b = setCard(t, setCard(t, b[:BlockLen*2], "NAXIS1", "512"), "NAXIS2", "512")
	b = append(b, make([]byte, 512*512*4)...)
	r := &countingReaderAt{b: b}
	h, err := DecodeHeader(r, int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if r.max > headerChunk {
		t.Errorf("DecodeHeader read up to byte %d of %d", r.max, len(b))
	}
	if s, _ := h.String("ANTENNA"); s != "HBA_DUAL_INNER" {
		t.Errorf("ANTENNA = %q", s)
	}
	m, err := NewMeta("lofar-512", h, Options{})
	if err != nil || m.Naxis1 != 512 || !m.LOFAR {
		t.Errorf("NewMeta: %+v, %v", m, err)
	}
}

type countingReaderAt struct {
	b   []byte
	max int64
}

func (r *countingReaderAt) ReadAt(p []byte, off int64) (int, error) {
	n, err := bytes.NewReader(r.b).ReadAt(p, off)
	r.max = max(r.max, off+int64(n))
	return n, err
}

// TestReadInto checks that ReadInto gives Read's pixels and metadata,
// decodes into the reused storage when it is large enough (overwriting
// stale contents) and allocates a new image when it is not.
func TestReadInto(t *testing.T) {
	for _, name := range []string{"bitpix-32.fits", "bitpix16.fits"} {
		path := fixture(t, name)
		want, wm, err := Read(path, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := len(want.Pix)
		for _, c := range []int{0, n - 1, n, n + 9} {
			reuse := &kernels.Image{Pix: make([]float32, c)}
			for i := range reuse.Pix {
				reuse.Pix[i] = 12345 // stale
			}
			got, gm, err := ReadInto(reuse, path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if got.Rect != want.Rect || got.Stride != want.Stride || gm.Naxis1 != wm.Naxis1 || gm.Path != wm.Path {
				t.Fatalf("%s reuse %d: %v stride %d, want %v stride %d", name, c, got.Rect, got.Stride, want.Rect, want.Stride)
			}
			equalPixels(t, name, got.Pix, want.Pix)
			shared := c > 0 && &got.Pix[0] == &reuse.Pix[0]
			if shared != (c >= n) {
				t.Errorf("%s reuse %d: shares storage %v, want %v", name, c, shared, c >= n)
			}
		}
	}
	if _, _, err := ReadInto(nil, fixture(t, "bitpix8.fits"), Options{}); err != nil {
		t.Fatal(err)
	}
}
