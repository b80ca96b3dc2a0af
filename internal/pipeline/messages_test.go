package pipeline

import (
	"database/sql"
	"image"
	"math"
	"reflect"
	"testing"

	"gotrap/internal/wire"
	"gotrap/kernels"
)

// sampleMessages returns one encoding of each message the ranks exchange
// or the pipeline stages in its own format (package wire), with what
// decodes it back, for the round-trip test and the fuzzer's corpus.
func sampleMessages() (bundle []bundleItem, srcs []backSource, rows []qcRow, grids *kernels.BackgroundGrids, rect image.Rectangle) {
	bundle = []bundleItem{{index: 3, blobs: [][]byte{{1, 2, 3}, {}}}, {index: 0, blobs: [][]byte{[]byte("staged")}}}
	srcs = []backSource{{runcat: 7, ra: 359.99, dec: -89.5, first: 2}, {runcat: 9, ra: math.Copysign(0, -1), dec: 1e-300, first: 0}}
	rows = []qcRow{
		{Index: 4, RMSQC: 0.001, RMSMin: math.NaN(), RMSMax: math.Inf(1), DetectionThresh: 8, AnalysisThresh: 3,
			Rejected: true, RejectReason: sql.NullInt64{Int64: 2, Valid: true}, RejectComment: "rms \xff", XXH64: "0123abcd"},
		{Index: 5},
	}
	rect = image.Rect(0, 0, 40, 30)
	grids = &kernels.BackgroundGrids{Frame: image.Rect(1, 2, 39, 28), CellX: 19, CellY: 13, NX: 2, NY: 2,
		Mean: []float64{1, 2, math.NaN(), -0.5}, RMS: []float64{0.1, 0.2, 0.3, math.Inf(-1)}}
	return
}

func encodeQCRows(rows []qcRow) []byte {
	e := wire.NewEncoder(nil)
	e.Count(len(rows))
	for k := range rows {
		rows[k].encode(e)
	}
	return e.Data()
}

// floatBits returns the bits of v, to compare floats bit for bit (NaN
// equals the same NaN).
func floatBits(v []float64) []uint64 {
	out := make([]uint64, len(v))
	for i, x := range v {
		out[i] = math.Float64bits(x)
	}
	return out
}

// TestMessagesRoundTrip: every message comes back bit for bit.
func TestMessagesRoundTrip(t *testing.T) {
	bundle, srcs, rows, grids, rect := sampleMessages()
	t.Run("bundle", func(t *testing.T) {
		got, err := decodeBundle(encodeBundle(bundle))
		if err != nil || len(got) != len(bundle) {
			t.Fatalf("%v, %d items", err, len(got))
		}
		for k := range got {
			if got[k].index != bundle[k].index || len(got[k].blobs) != len(bundle[k].blobs) {
				t.Fatalf("item %d: %+v, want %+v", k, got[k], bundle[k])
			}
			for j := range got[k].blobs {
				if string(got[k].blobs[j]) != string(bundle[k].blobs[j]) {
					t.Errorf("item %d blob %d: %q, want %q", k, j, got[k].blobs[j], bundle[k].blobs[j])
				}
			}
		}
	})
	t.Run("backward sources", func(t *testing.T) {
		got, err := decodeSources(encodeSources(srcs))
		if err != nil || len(got) != len(srcs) {
			t.Fatalf("%v, %d sources", err, len(got))
		}
		for k := range got {
			a, b := got[k], srcs[k]
			if a.runcat != b.runcat || a.first != b.first || math.Float64bits(a.ra) != math.Float64bits(b.ra) || math.Float64bits(a.dec) != math.Float64bits(b.dec) {
				t.Errorf("source %d: %+v, want %+v", k, a, b)
			}
		}
	})
	t.Run("images rows", func(t *testing.T) {
		got, err := decodeQCRows(encodeQCRows(rows))
		if err != nil || len(got) != len(rows) {
			t.Fatalf("%v, %d rows", err, len(got))
		}
		for k := range got {
			a, b := got[k], rows[k]
			fa := floatBits([]float64{a.RMSQC, a.RMSMin, a.RMSMax, a.DetectionThresh, a.AnalysisThresh})
			fb := floatBits([]float64{b.RMSQC, b.RMSMin, b.RMSMax, b.DetectionThresh, b.AnalysisThresh})
			a.RMSQC, a.RMSMin, a.RMSMax, b.RMSQC, b.RMSMin, b.RMSMax = 0, 0, 0, 0, 0, 0
			if !reflect.DeepEqual(fa, fb) || !reflect.DeepEqual(a, b) {
				t.Errorf("row %d: %+v, want %+v", k, got[k], rows[k])
			}
		}
	})
	t.Run("grids", func(t *testing.T) {
		got := decodeGrids(encodeGrids(grids, rect), rect)
		if got == nil {
			t.Fatal("grids do not decode")
		}
		if got.Frame != grids.Frame || got.CellX != grids.CellX || got.CellY != grids.CellY || got.NX != grids.NX || got.NY != grids.NY ||
			!reflect.DeepEqual(floatBits(got.Mean), floatBits(grids.Mean)) || !reflect.DeepEqual(floatBits(got.RMS), floatBits(grids.RMS)) {
			t.Errorf("got %+v, want %+v", got, grids)
		}
	})
}

// FuzzMessages: no input makes a decoder of the ranks' messages panic,
// and a truncated message is refused (an error, or nil grids), never
// half read. The size cap keeps cases small (STYLE 20).
func FuzzMessages(f *testing.F) {
	bundle, srcs, rows, grids, rect := sampleMessages()
	for _, b := range [][]byte{encodeBundle(bundle), encodeSources(srcs), encodeQCRows(rows), encodeGrids(grids, rect), {}, {0xff}} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1<<14 {
			t.Skip()
		}
		decodeBundle(b)
		decodeSources(b)
		decodeQCRows(b)
		decodeGrids(b, rect)
	})
}

// TestTruncatedMessages: every proper prefix of each message is an error.
func TestTruncatedMessages(t *testing.T) {
	bundle, srcs, rows, grids, rect := sampleMessages()
	for _, c := range []struct {
		name string
		b    []byte
		bad  func([]byte) bool
	}{
		{"bundle", encodeBundle(bundle), func(b []byte) bool { _, err := decodeBundle(b); return err != nil }},
		{"backward sources", encodeSources(srcs), func(b []byte) bool { _, err := decodeSources(b); return err != nil }},
		{"images rows", encodeQCRows(rows), func(b []byte) bool { _, err := decodeQCRows(b); return err != nil }},
		{"grids", encodeGrids(grids, rect), func(b []byte) bool { return decodeGrids(b, rect) == nil }},
	} {
		t.Run(c.name, func(t *testing.T) {
			for n := 1; n < len(c.b); n++ {
				if !c.bad(c.b[:n]) {
					t.Fatalf("a prefix of %d of %d bytes decodes without an error", n, len(c.b))
				}
			}
		})
	}
}
