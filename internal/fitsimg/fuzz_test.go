package fitsimg

import (
	"bytes"
	"image"
	"reflect"
	"strings"
	"testing"
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
