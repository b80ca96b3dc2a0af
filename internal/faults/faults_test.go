package faults

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"math"
	"strings"
	"testing"
)

// fits returns a minimal BITPIX -32 FITS file of w x h zero pixels.
func fits(w, h int) []byte {
	var b bytes.Buffer
	for _, c := range []string{"SIMPLE  =                    T", "BITPIX  =                  -32", "NAXIS   =                    2",
		"NAXIS1  = " + strings.Repeat(" ", 19) + string(rune('0'+w)), "NAXIS2  = " + strings.Repeat(" ", 19) + string(rune('0'+h)), "END"} {
		b.WriteString(c + strings.Repeat(" ", 80-len(c)))
	}
	b.Write(bytes.Repeat([]byte(" "), 2880-b.Len()))
	b.Write(make([]byte, 2880))
	return b.Bytes()
}

func TestEditors(t *testing.T) {
	b := fits(4, 3)
	s, err := SetCard(b, "NAXIS1", "1000000000")
	if err != nil || !bytes.Contains(s, []byte("NAXIS1  =           1000000000")) || len(s) != len(b) {
		t.Fatalf("SetCard: %v", err)
	}
	if bytes.Contains(b, []byte("1000000000")) {
		t.Error("SetCard changed its input")
	}
	d, err := DeleteCard(b, "NAXIS2")
	if err != nil || bytes.Contains(d, []byte("NAXIS2")) || len(d) != len(b) {
		t.Errorf("DeleteCard: %v", err)
	}
	if _, err := SetCard(b, "BMAJ", "1"); !errors.Is(err, ErrNoCard) {
		t.Errorf("SetCard of a missing card: %v", err)
	}
	p, err := FillFloat32(b, 4, image.Rect(1, 1, 3, 2), float32(math.Inf(1)))
	if err != nil {
		t.Fatal(err)
	}
	for y := range 3 {
		for x := range 4 {
			v := math.Float32frombits(binary.BigEndian.Uint32(p[2880+4*(y*4+x):]))
			if inside := x >= 1 && x < 3 && y == 1; inside != math.IsInf(float64(v), 1) {
				t.Errorf("pixel (%d, %d) = %g", x, y, v)
			}
		}
	}
	if _, err := SetCard([]byte("not fits"), "A", "1"); err == nil {
		t.Error("SetCard on a file without END succeeded")
	}
}
