package fitsimg

import (
	"bytes"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

// maxFuzzInput caps fuzz inputs (1 MiB): memory use is bounded by the
// input size, so this bounds each execution.
const maxFuzzInput = 1 << 20

// FuzzRead feeds arbitrary bytes to the reader: it must never panic, must
// agree with the header-only path, and a decoded image must have the
// header's size. The seed corpus in testdata/fuzz/FuzzRead holds the
// fixtures of testdata/fits and broken variants (go generate writes it).
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		r := bytes.NewReader(data)
		h, errHdr := DecodeHeader(r, int64(len(data)))
		img, h2, err := Decode(r, int64(len(data)), Options{})
		if (errHdr == nil) != (err == nil) {
			t.Fatalf("DecodeHeader error %v but Decode error %v", errHdr, err)
		}
		if err != nil {
			return
		}
		nx, _ := h2.Int("NAXIS1")
		ny, _ := h2.Int("NAXIS2")
		if img.Rect != image.Rect(0, 0, int(nx), int(ny)) || len(img.Pix) != int(nx*ny) {
			t.Fatalf("image %v with %d pixels for NAXIS1 x NAXIS2 = %d x %d", img.Rect, len(img.Pix), nx, ny)
		}
		if !reflect.DeepEqual(h.Cards(), h2.Cards()) {
			t.Fatal("DecodeHeader and Decode parse different headers")
		}
		// Interpreting the metadata and asking for another plane may fail
		// but must not panic.
		_, _ = NewMeta("fuzz", h, Options{})
		_, _, _ = Decode(r, int64(len(data)), Options{Plane: 1})
	})
}

// roundTrips reports whether a parsed card is written back as itself: a
// standard keyword, ASCII text, and not a string ending in '&' or an
// orphan CONTINUE (the long-string convention is ambiguous there).
func roundTrips(c Card) bool {
	if !printable(c.Comment) || c.Key == "CONTINUE" {
		return false
	}
	if s, ok := c.Value.(string); ok && (!printable(s) || strings.HasSuffix(s, "&")) {
		return false
	}
	return isCommentary(c.Key) || validKey(c.Key)
}

// FuzzParseHeader feeds arbitrary bytes to the header parser: it must
// never panic, must be deterministic, and a header whose cards can all be
// written must read back with the same keywords and values after
// AppendCards.
func FuzzParseHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		h, n, err := ParseHeader(data)
		if err != nil {
			return
		}
		if n <= 0 || n%BlockLen != 0 {
			t.Fatalf("header length %d", n)
		}
		again, n2, _ := ParseHeader(data)
		if n2 != n || !reflect.DeepEqual(again.Cards(), h.Cards()) {
			t.Fatal("ParseHeader is not deterministic")
		}
		for _, c := range h.Cards() {
			if !roundTrips(c) {
				return
			}
		}
		b, err := h.AppendCards(nil)
		if err != nil {
			t.Fatalf("AppendCards: %v", err)
		}
		back, _, err := ParseHeader(padBlock(appendPadded(b, "END"), ' '))
		if err != nil {
			t.Fatalf("re-parse: %v", err)
		}
		got, want := back.Cards(), h.Cards()
		if len(got) != len(want) {
			t.Fatalf("%d cards after the round trip, want %d", len(got), len(want))
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Key != w.Key || !reflect.DeepEqual(g.Value, w.Value) ||
				isCommentary(w.Key) && strings.TrimRight(g.Comment, " ") != strings.TrimRight(w.Comment, " ") {
				t.Fatalf("card %d: %#v read back as %#v", i, w, g)
			}
		}
	})
}

// maxFuzzPixels bounds the planes the compressed-input fuzz targets
// decode: a few bytes of compressed data may declare any size.
const maxFuzzPixels = 1 << 20

// checkSource reads every plane of a source opened from fuzz input (when
// small enough) and checks the planes have the declared size.
func checkSource(t *testing.T, src *source) {
	if int64(src.lay.axes[0])*int64(src.lay.axes[1])*int64(src.lay.planes) > maxFuzzPixels {
		return
	}
	for p := range src.lay.planes {
		img, err := pixels(src.read, src.lay, p, nil)
		if err != nil {
			return
		}
		if len(img.Pix) != src.lay.axes[0]*src.lay.axes[1] {
			t.Fatalf("plane %d has %d pixels for axes %v", p, len(img.Pix), src.lay.axes)
		}
	}
}

// FuzzTiled feeds arbitrary bytes to the tile-compressed image reader
// (header, tile table, RICE, GZIP, dequantisation): it must never panic.
// The seeds are the fixtures of testdata/fz.
func FuzzTiled(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join(testutil.ProjectRoot(f), "testdata", "fz", "*.fz"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil && len(b) <= maxFuzzInput {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		src, err := openTiled(bytes.NewReader(data), int64(len(data)), func() error { return nil })
		if err != nil {
			return
		}
		checkSource(t, src)
	})
}

// FuzzGzip feeds arbitrary bytes to the gzip FITS reader: it must never
// panic.
func FuzzGzip(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join(testutil.ProjectRoot(f), "testdata", "fz", "noise.fits.gz")); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) > maxFuzzInput {
			return
		}
		src, err := openGzip(bytes.NewReader(data), func() error { return nil })
		if err != nil {
			return
		}
		checkSource(t, src)
	})
}
