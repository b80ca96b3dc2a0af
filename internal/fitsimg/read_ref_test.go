package fitsimg

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/astrogo/fitsio"

	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// loadPlane reads the bytes of one plane of the data array with fitsio:
// the reference twin of readPlane (which reads the data unit itself).
//
// fitsio decodes whole HDUs, and its header parser panics on repeated
// keywords (real files have them: lofar-stub.fits repeats TELESCOP) and
// on CONTINUE cards after a non-string card. So it is handed a data unit
// it cannot misread: a structural header (SIMPLE, BITPIX, NAXIS = 2,
// NAXIS1, NAXIS2) followed by the bytes of the chosen plane, read straight
// from the file section and padded to a whole block. fitsio's Raw gives
// the big-endian bytes, which DecodeTo converts. A panic inside fitsio is
// returned as an error.
func loadPlane(r io.ReaderAt, lay layout, plane int) (raw []byte, err error) {
	mini := NewHeader()
	mini.cards = append(mini.cards, Card{Key: "SIMPLE", Value: true})
	mini.Set("BITPIX", lay.scaling.Bitpix, "")
	mini.Set("NAXIS", 2, "")
	mini.Set("NAXIS1", lay.axes[0], "")
	mini.Set("NAXIS2", lay.axes[1], "")
	hdr, err := mini.AppendCards(nil)
	if err != nil {
		return nil, err
	}
	hdr = appendPadded(hdr, "END")
	hdr = padBlock(hdr, ' ')

	off := lay.hdrLen + int64(plane)*lay.planeLen
	pad := (BlockLen - lay.planeLen%BlockLen) % BlockLen
	src := io.MultiReader(bytes.NewReader(hdr), io.NewSectionReader(r, off, lay.planeLen),
		bytes.NewReader(make([]byte, pad)))

	defer func() {
		if p := recover(); p != nil {
			raw, err = nil, fmt.Errorf("fitsio panicked decoding the data array: %v", p)
		}
	}()
	hdu, err := fitsio.NewDecoder(src).DecodeHDU()
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%w: %v", ErrTruncated, err)
		}
		return nil, fmt.Errorf("cannot read the data array: %w", err)
	}
	img, ok := hdu.(fitsio.Image)
	if !ok || int64(len(img.Raw())) != lay.planeLen {
		return nil, fmt.Errorf("fitsio returned %T with the wrong size for a %d x %d image", hdu, lay.axes[0], lay.axes[1])
	}
	return img.Raw(), nil
}

// pixelsRef is the reference twin of pixels: fitsio loads the plane's
// bytes and DecodeTo converts them in one go.
func pixelsRef(r io.ReaderAt, lay layout, plane int) (*kernels.Image, error) {
	raw, err := loadPlane(r, lay, plane)
	if err != nil {
		return nil, err
	}
	img, err := kernels.NewImage(image.Rect(0, 0, lay.axes[0], lay.axes[1]))
	if err != nil {
		return nil, err
	}
	DecodeTo(img.Pix, raw, lay.scaling)
	return img, nil
}

// TestReadPlaneMatchesFitsio reads every plane of every real image of
// ../shared/data and every fixture of testdata/fits (all BITPIX, scaled,
// blank, cubes) with readPlane and with the fitsio twin, and requires
// the same bits; also from a data unit larger than one read chunk (the
// fixtures tiled, every BITPIX), so chunk seams are crossed.
func TestReadPlaneMatchesFitsio(t *testing.T) {
	var paths []string
	fix, _ := filepath.Glob(filepath.Join(testutil.ProjectRoot(t), "testdata", "fits", "*.fits"))
	paths = append(paths, fix...)
	if shared, _ := filepath.Glob(filepath.Join(testutil.ProjectRoot(t), "..", "shared", "data", "*.fits")); len(shared) > 0 {
		paths = append(paths, shared...)
	} else {
		t.Log("../shared/data has no FITS file: real images not compared")
	}
	if len(fix) == 0 {
		t.Fatal("no fixture in testdata/fits")
	}
	check := func(name string, b []byte) int {
		r := bytes.NewReader(b)
		_, lay, err := readHeader(r, int64(len(b)))
		if err != nil {
			t.Logf("%s: not an image (%v)", name, err)
			return 0
		}
		for p := range lay.planes {
			want, err := pixelsRef(r, lay, p)
			if err != nil {
				t.Fatalf("%s plane %d: fitsio: %v", name, p, err)
			}
			got, err := pixels(fitsPlanes(r, lay), lay, p, nil)
			if err != nil {
				t.Fatalf("%s plane %d: %v", name, p, err)
			}
			equalPixels(t, fmt.Sprintf("%s plane %d", name, p), got.Pix, want.Pix)
			// Into reused storage holding stale values.
			reuse := &kernels.Image{Pix: make([]float32, len(want.Pix)+3)}
			for i := range reuse.Pix {
				reuse.Pix[i] = -7
			}
			got, err = pixels(fitsPlanes(r, lay), lay, p, reuse)
			if err != nil {
				t.Fatalf("%s plane %d reused: %v", name, p, err)
			}
			equalPixels(t, fmt.Sprintf("%s plane %d reused", name, p), got.Pix, want.Pix)
		}
		return lay.planes
	}
	planes := 0
	for _, path := range paths {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		planes += check(filepath.Base(path), b)
		// The same data tiled to more than a read chunk: NAXIS2 grown,
		// the rows repeated (a 2-D image's data unit only).
		h, lay, err := readHeader(bytes.NewReader(b), int64(len(b)))
		if err != nil || lay.planes != 1 {
			continue
		}
		reps := int(readChunk/lay.planeLen) + 2
		h2 := h.Clone()
		h2.Set("NAXIS2", lay.axes[1]*reps, "")
		hdr, err := h2.AppendCards(nil)
		if err != nil {
			continue // a header fitsimg cannot write back
		}
		big := padBlock(appendPadded(hdr, "END"), ' ')
		data := b[lay.hdrLen : lay.hdrLen+lay.planeLen]
		for range reps {
			big = append(big, data...)
		}
		planes += check(filepath.Base(path)+" tiled", padBlock(big, 0))
	}
	if planes == 0 {
		t.Fatal("no image compared")
	}
	t.Logf("%d files, %d planes compared", len(paths), planes)
}

// shortReaderAt serves b but ends early: a file that shrank after its
// size was checked.
type shortReaderAt struct {
	b   []byte
	end int64
}

func (r *shortReaderAt) ReadAt(p []byte, off int64) (int, error) {
	return bytes.NewReader(r.b[:r.end]).ReadAt(p, off)
}

// TestReadPlaneShrunk checks that a data unit shorter than the header
// promises, when the size given was right but the reader ends early (in
// the first chunk, at a chunk seam, in the last chunk), is ErrTruncated
// and no panic; from disk the error names the file.
func TestReadPlaneShrunk(t *testing.T) {
	good, err := os.ReadFile(fixture(t, "bitpix-32.fits"))
	if err != nil {
		t.Fatal(err)
	}
	h, lay, err := readHeader(bytes.NewReader(good), int64(len(good)))
	if err != nil {
		t.Fatal(err)
	}
	// A 2-D image of more than two chunks.
	rows := int(2*readChunk/(4*int64(lay.axes[0]))) + 3
	h.Set("NAXIS2", rows, "")
	hdr, err := h.AppendCards(nil)
	if err != nil {
		t.Fatal(err)
	}
	b := padBlock(appendPadded(hdr, "END"), ' ')
	hdrLen := int64(len(b))
	b = padBlock(append(b, make([]byte, 4*lay.axes[0]*rows)...), 0)
	for _, end := range []int64{hdrLen, hdrLen + 100, hdrLen + readChunk, hdrLen + readChunk + 1, hdrLen + 2*readChunk + 4, int64(len(b)) - BlockLen} {
		r := &shortReaderAt{b: b, end: end}
		_, _, err := Decode(r, int64(len(b)), Options{})
		if !errors.Is(err, ErrTruncated) {
			t.Errorf("data ending at %d: %v, want ErrTruncated", end, err)
		}
	}
	if _, _, err := Decode(&shortReaderAt{b: b, end: int64(len(b))}, int64(len(b)), Options{}); err != nil {
		t.Errorf("whole file: %v", err)
	}
	// From disk a short file is caught by the size check, naming the file.
	path := filepath.Join(t.TempDir(), "short.fits")
	if err := os.WriteFile(path, b[:hdrLen+readChunk+1], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Read(path, Options{}); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), path) {
		t.Errorf("short file: %v, want ErrTruncated naming %s", err, path)
	}
}
