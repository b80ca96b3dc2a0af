package wcs

import (
	"encoding/binary"
	"fmt"
	"math"
)

// wcsFloats is the number of float64 values of a WCS after its code.
const wcsFloats = 2 + 4 + 4 + 2 + 3 + 9

// MarshalBinary encodes w: its projection code (a length byte and the
// code) and its numbers, little-endian. A live run spills the WCS of the
// images it has committed with it (UnmarshalBinary reads it back).
func (w *WCS) MarshalBinary() ([]byte, error) {
	if len(w.code) > 255 {
		return nil, fmt.Errorf("wcs: projection code %q too long", w.code)
	}
	b := make([]byte, 0, 1+len(w.code)+8*wcsFloats)
	b = append(b, byte(len(w.code)))
	b = append(b, w.code...)
	for _, v := range w.floats() {
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(*v))
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded.
func (w *WCS) UnmarshalBinary(b []byte) error {
	if len(b) < 1 || len(b) != 1+int(b[0])+8*wcsFloats {
		return fmt.Errorf("wcs: %d bytes are not an encoded WCS", len(b))
	}
	code := string(b[1 : 1+b[0]])
	pj, known := projections[code]
	if !known {
		return fmt.Errorf("wcs: encoded projection %q is not supported", code)
	}
	*w = WCS{code: code, proj: pj.p}
	b = b[1+len(code):]
	for _, v := range w.floats() {
		*v = math.Float64frombits(binary.LittleEndian.Uint64(b))
		b = b[8:]
	}
	return nil
}

// floats returns pointers to w's numbers, in the encoding's order.
func (w *WCS) floats() []*float64 {
	p := make([]*float64, 0, wcsFloats)
	for _, a := range [][]float64{w.crpix[:], w.lin[:], w.inv[:], w.scale[:], w.rot[:]} {
		for i := range a {
			p = append(p, &a[i])
		}
	}
	return append(p, &w.xi, &w.eta, &w.sinA)
}
