package fitsimg

import (
	"bytes"
	"fmt"
	"image"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/astrogo/fitsio"

	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// BenchmarkDecode decodes a 1280 x 1280 plane (an RSM image) of each
// BITPIX, reported in MB/s of raw FITS bytes: DecodeTo ("fast") next to
// its reference loop ("ref") and, for BITPIX -32, a plain copy() of the
// same bytes (the memory-bandwidth ceiling) and fitsio's own element-wise
// Image.Read (DESIGN: ~2.7 GB/s).
func BenchmarkDecode(b *testing.B) {
	const nx, ny = 1280, 1280
	rng := rand.New(rand.NewPCG(1, 2))
	for _, bitpix := range []int{-32, -64, 8, 16, 32, 64} {
		s := Scaling{Bitpix: bitpix, BScale: 1}
		if bitpix > 0 {
			s = Scaling{Bitpix: bitpix, BScale: 1e-3, BZero: 1, Blank: -1, HasBlank: true}
		}
		raw := randomRaw(rng, bitpix, nx*ny, s.Blank)
		dst := make([]float32, nx*ny)
		name := fmt.Sprintf("bitpix=%d/px=%dx%d", bitpix, nx, ny)
		if bitpix == -32 {
			b.Run(name+"/copy", func(b *testing.B) {
				out := make([]byte, len(raw))
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				for b.Loop() {
					copy(out, raw)
				}
			})
		}
		b.Run(name+"/fast", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				DecodeTo(dst, raw, s)
			}
		})
		b.Run(name+"/ref", func(b *testing.B) {
			b.SetBytes(int64(len(raw)))
			b.ReportAllocs()
			for b.Loop() {
				DecodeToRef(dst, raw, s)
			}
		})
		if bitpix == -32 {
			// fitsio's element-wise decoding of the same bytes as a FITS
			// file in memory (its Read works on a decoded HDU).
			var file bytes.Buffer
			hdr, _ := EncodeHeader(nx, ny, nil, WriteOptions{})
			file.Write(hdr)
			file.Write(raw)
			file.Write(make([]byte, (BlockLen-len(raw)%BlockLen)%BlockLen))
			f, err := fitsio.Open(bytes.NewReader(file.Bytes()))
			if err != nil {
				b.Fatal(err)
			}
			img := f.HDU(0).(fitsio.Image)
			b.Run(name+"/fitsio", func(b *testing.B) {
				b.SetBytes(int64(len(raw)))
				b.ReportAllocs()
				for b.Loop() {
					if err := img.Read(&dst); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkRead reads a real 512 x 512 image from disk: ReadMeta (header
// only, per image) and Read (header, metadata, data unit read and
// decoded).
func BenchmarkRead(b *testing.B) {
	path := testutil.SharedFile(b, "GRB120422A-120429.fits")
	f, size, err := openFile(path)
	if err != nil {
		b.Fatal(err)
	}
	_, lay, err := readHeader(f, size)
	f.Close()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("meta", func(b *testing.B) {
		b.SetBytes(lay.hdrLen) // the header blocks
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ReadMeta(path, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("image", func(b *testing.B) {
		b.SetBytes(512 * 512 * 4)
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := Read(path, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkReadInto reads a 1280 x 1280 and a 2048 x 2048 BITPIX -32
// image from the page cache into the storage of the previous one, as a
// pipeline worker's ReadInto does (the "decode" stage of gotrap bench
// extract, less the metadata): open, header, pixels. "fast" reads the
// data unit in reused chunks and decodes them (pixels); "fitsio" is the
// reference path, fitsio loading the plane into a fresh buffer and
// DecodeTo converting it.
func BenchmarkReadInto(b *testing.B) {
	for _, n := range []int{1280, 2048} {
		path := filepath.Join(b.TempDir(), "img.fits")
		img, _ := kernels.NewImage(image.Rect(0, 0, n, n))
		rng := rand.New(rand.NewPCG(3, uint64(n)))
		for i := range img.Pix {
			img.Pix[i] = float32(rng.NormFloat64())
		}
		if err := WriteFile(path, img, nil); err != nil {
			b.Fatal(err)
		}
		read := func(b *testing.B, reuse *kernels.Image, ref bool) *kernels.Image {
			f, size, err := openFile(path)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			_, lay, err := readHeader(f, size)
			if err != nil {
				b.Fatal(err)
			}
			if ref {
				raw, err := loadPlane(f, lay, 0)
				if err != nil {
					b.Fatal(err)
				}
				DecodeTo(reuse.Pix, raw, lay.scaling)
				return reuse
			}
			out, err := pixels(fitsPlanes(f, lay), lay, 0, reuse)
			if err != nil {
				b.Fatal(err)
			}
			return out
		}
		for _, impl := range []string{"fast", "fitsio"} {
			b.Run(fmt.Sprintf("px=%dx%d/%s", n, n, impl), func(b *testing.B) {
				reuse, _ := kernels.NewImage(image.Rect(0, 0, n, n))
				b.SetBytes(int64(4 * n * n))
				b.ReportAllocs()
				for b.Loop() {
					reuse = read(b, reuse, impl == "fitsio")
				}
			})
		}
	}
}
