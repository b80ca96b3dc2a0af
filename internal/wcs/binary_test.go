package wcs_test

import (
	"testing"

	"gotrap/internal/wcs"
)

// TestBinaryRoundTrip: every projection's WCS, encoded and decoded, is
// the same value (all its numbers and its projection), and a damaged
// encoding is an error.
func TestBinaryRoundTrip(t *testing.T) {
	for _, code := range []string{"SIN", "NCP", "TAN", "ARC", "STG", "ZEA", "CAR"} {
		h := with(grbHeader(), "CTYPE1", "RA---"+code, "CTYPE2", "DEC--"+code, "CROTA2", 12.5, "PV2_1", 0.01)
		if code != "SIN" {
			h = with(h, "PV2_1", nil)
		}
		w := mustWCS(t, h)
		b, err := w.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var got wcs.WCS
		if err := got.UnmarshalBinary(b); err != nil {
			t.Fatalf("%s: %v", code, err)
		}
		if got != *w {
			t.Errorf("%s: decoded %+v, want %+v", code, got, *w)
		}
		if err := got.UnmarshalBinary(b[:len(b)-1]); err == nil {
			t.Errorf("%s: a truncated encoding decoded", code)
		}
		b[1] = 'Q'
		if err := got.UnmarshalBinary(b); err == nil {
			t.Errorf("%s: an unknown projection decoded", code)
		}
	}
}
