package fitsimg

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

// fzFixture returns the path of a committed fixture in testdata/fz (made
// by testdata/fz/gen.sh with fpack, funpack and gzip).
func fzFixture(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(testutil.ProjectRoot(t), "testdata", "fz", name)
}

// readAll reads every plane of path.
func readAll(t *testing.T, path string) ([][]float32, *Meta) {
	t.Helper()
	_, m, err := Read(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	planes := make([][]float32, m.Planes)
	for p := range planes {
		img, _, err := Read(path, Options{Plane: p})
		if err != nil {
			t.Fatal(err)
		}
		planes[p] = img.Pix
	}
	return planes, m
}

// TestCompressedLossless: gzip, and the lossless tile compressions
// (RICE_1, GZIP_1, GZIP_2 of integers, GZIP_1 of raw floats, and fpack's
// GZIP_COMPRESSED_DATA fallback for a tile too small to quantise), give
// exactly the pixels and metadata of the uncompressed file.
func TestCompressedLossless(t *testing.T) {
	for _, c := range []struct{ packed, orig string }{
		{fzFixture(t, "i16-rice.fits.fz"), fixture(t, "bitpix16.fits")},
		{fzFixture(t, "i16-gzip1.fits.fz"), fixture(t, "bitpix16.fits")},
		{fzFixture(t, "i16-gzip2.fits.fz"), fixture(t, "bitpix16.fits")},
		// fpack itself stores this tile's -0 as 0 and infinities as NaN:
		// the reference is cfitsio's decompression.
		{fzFixture(t, "tiny-f32.fits.fz"), fzFixture(t, "tiny-f32.imcopy.fits")},
		{fzFixture(t, "f32-lossless.fits.fz"), fzFixture(t, "noise.fits")},
		{fzFixture(t, "noise.fits.gz"), fzFixture(t, "noise.fits")},
	} {
		t.Run(filepath.Base(c.packed), func(t *testing.T) {
			got, gm := readAll(t, c.packed)
			want, wm := readAll(t, c.orig)
			for p := range want {
				samePixels(t, "plane", got[p], want[p])
			}
			compareMeta(t, gm, wm, wm.FreqBW)
			if gm.Bitpix != wm.Bitpix || gm.Path != c.packed {
				t.Errorf("BITPIX %d path %q, want %d and the compressed file", gm.Bitpix, gm.Path, wm.Bitpix)
			}
		})
	}
}

// zscales returns the ZSCALE of every tile of a quantised file (the
// quantisation step), read with the table reader.
func zscaleMax(t *testing.T, path string) float64 {
	t.Helper()
	f, size, err := openFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	_, hl, _ := headerAt(f, 0, size)
	xh, xl, err := headerAt(f, int64(hl), size)
	if err != nil {
		t.Fatal(err)
	}
	ti := &tiledImage{f: f, size: size, dataOff: int64(hl + xl)}
	if _, err := ti.parse(xh); err != nil {
		t.Fatal(err)
	}
	m := 0.0
	for r := range ti.rows {
		s, ok, err := ti.scalar(r, "ZSCALE")
		if err != nil || !ok {
			t.Fatalf("ZSCALE of tile %d: %v %v", r, ok, err)
		}
		m = math.Max(m, s)
	}
	return m
}

// TestCompressedQuantised: quantised floats (SUBTRACTIVE_DITHER_1 with
// RICE and partial tiles, SUBTRACTIVE_DITHER_2 with GZIP_2, NO_DITHER, a
// cube whose tiles span two planes) decode to exactly the pixels cfitsio
// gives (imcopy), and differ from the original floats by at most half a
// quantisation step (ZSCALE / 2: quantisation rounds to the nearest
// level); NaN stays NaN and, with SUBTRACTIVE_DITHER_2, zeros stay exactly
// zero.
func TestCompressedQuantised(t *testing.T) {
	for _, c := range []struct{ packed, ref, orig string }{
		{"f32-rice-q4.fits.fz", "f32-rice-q4.imcopy.fits", "noise.fits"},
		{"f32-gzip2-qz.fits.fz", "f32-gzip2-qz.imcopy.fits", "noise.fits"},
		{"f32-nodither.fits.fz", "f32-nodither.imcopy.fits", "noise.fits"},
		{"cube-rice.fits.fz", "cube-rice.imcopy.fits", "noisecube.fits"},
	} {
		t.Run(c.packed, func(t *testing.T) {
			got, _ := readAll(t, fzFixture(t, c.packed))
			ref, _ := readAll(t, fzFixture(t, c.ref))
			orig, _ := readAll(t, fzFixture(t, c.orig))
			step := zscaleMax(t, fzFixture(t, c.packed))
			worst := 0.0
			for p := range got {
				for i, v := range got[p] {
					o := orig[p][i]
					if o != o {
						// imcopy writes null pixels as numbers: NaN is
						// checked against the original instead.
						if v == v {
							t.Errorf("plane %d pixel %d: NaN became %g", p, i, v)
						}
						continue
					}
					if math.Float32bits(v) != math.Float32bits(ref[p][i]) {
						t.Errorf("plane %d pixel %d = %g, cfitsio %g", p, i, v, ref[p][i])
					}
					if o == 0 && strings.Contains(c.packed, "qz") && v != 0 {
						t.Errorf("pixel %d: zero became %g with SUBTRACTIVE_DITHER_2", i, v)
					}
					worst = math.Max(worst, math.Abs(float64(v-o)))
				}
			}
			// The float32 rounding of the result adds at most 1 ulp of the
			// largest value (0.02: 2e-9).
			if worst > step/2+2e-9 {
				t.Errorf("largest error %g, more than half the step %g", worst, step)
			}
			t.Logf("largest error %.3g, quantisation step %.3g", worst, step)
		})
	}
}

// TestDitherSequence: the 10000th value of the dither generator's seed is
// 1043618065 (FITS 4.0 section 10.2.2 gives it as the check).
func TestDitherSequence(t *testing.T) {
	if got := float64(randValues()[randCount-1]); math.Abs(got-1043618065.0/2147483647.0) > 1e-7 {
		t.Errorf("last random value %.9g, want 1043618065/(2^31-1)", got)
	}
}

// TestCompressedCorrupt: damaged compressed files are refused with an
// error naming the file, never a panic or wrong pixels.
func TestCompressedCorrupt(t *testing.T) {
	dir := t.TempDir()
	var made []string
	damage := func(name string, f func([]byte) []byte) string {
		b, err := os.ReadFile(fzFixture(t, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, fmt.Sprintf("bad%d-%s", len(made), name))
		made = append(made, p)
		if err := os.WriteFile(p, f(b), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		path string
		want error
	}{
		{damage("noise.fits.gz", func(b []byte) []byte { return b[:len(b)/2] }), ErrTruncated},
		{damage("noise.fits.gz", func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }), ErrBadCompression},
		{damage("f32-rice-q4.fits.fz", func(b []byte) []byte { return b[:len(b)-2880] }), ErrTruncated},
		{damage("f32-gzip2-qz.fits.fz", func(b []byte) []byte {
			// Flip bits in the heap (the last data block holds its end).
			for i := len(b) - 2880; i < len(b)-1500; i++ {
				b[i] ^= 0x55
			}
			return b
		}), ErrBadCompression},
	} {
		_, _, err := Read(c.path, Options{})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.path) {
			t.Errorf("%s: err %v, want %v naming the file", filepath.Base(c.path), err, c.want)
		}
	}
}

// TestGzipRealImage: the real SWIFT image gzipped in memory reads back
// with the same pixels and metadata as the file itself.
func TestGzipRealImage(t *testing.T) {
	src := testutil.SharedFile(t, "SWIFT_554620-130504.fits")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var z bytes.Buffer
	w := gzip.NewWriter(&z)
	w.Write(b)
	w.Close()
	p := filepath.Join(t.TempDir(), "swift.fits.gz")
	if err := os.WriteFile(p, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	gi, gm, err := Read(p, Options{})
	if err != nil {
		t.Fatal(err)
	}
	wi, wm, err := Read(src, Options{})
	if err != nil {
		t.Fatal(err)
	}
	samePixels(t, "SWIFT.gz", gi.Pix, wi.Pix)
	compareMeta(t, gm, wm, wm.FreqBW)
}
