package pq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestHybridSpecExample decodes the bit-packing example of Encodings.md
// (the values 0 to 7 in 3 bits: 10001000 11000110 11111010) in a
// bit-packed run of one group, followed by an RLE run of five 2s.
func TestHybridSpecExample(t *testing.T) {
	src := []byte{1<<1 | 1, 0b10001000, 0b11000110, 0b11111010, 5 << 1, 2}
	got := make([]uint32, 13)
	if err := decodeHybrid(got, src, 3); err != nil {
		t.Fatal(err)
	}
	want := []uint32{0, 1, 2, 3, 4, 5, 6, 7, 2, 2, 2, 2, 2}
	if !slices.Equal(got, want) {
		t.Errorf("decoded %v, want %v", got, want)
	}
	if err := decodeHybrid(make([]uint32, 14), src, 3); !errors.Is(err, errRLE) {
		t.Errorf("one value more than the runs hold: err = %v", err)
	}
}

// TestLevelsRoundTrip encodes definition levels (all present: one RLE
// run; else bit-packed) and decodes them back, at lengths around the
// 8-value groups.
func TestLevelsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 8, 9, 64, 1000} {
		for _, p := range []float64{0, 0.5, 1} {
			valid := make([]bool, n)
			for i := range valid {
				valid[i] = rng.Float64() >= p*0.999
			}
			enc := appendLevels(nil, valid)
			got := make([]uint32, n)
			if err := decodeHybrid(got, enc, 1); err != nil {
				t.Fatalf("n=%d: %v", n, err)
			}
			for i := range valid {
				if (got[i] == 1) != valid[i] {
					t.Fatalf("n=%d p=%g: level %d is %d, want %v", n, p, i, got[i], valid[i])
				}
			}
		}
	}
}

// TestThriftSkipsUnknownFields: fields the reader does not know, of
// every type, between and after the known ones, and a field id far from
// the previous one (the long form), are skipped.
func TestThriftSkipsUnknownFields(t *testing.T) {
	var e enc
	s := e.begin(0)
	e.i32(1, -7)
	e.field(2, tDouble)
	e.b = binary.LittleEndian.AppendUint64(e.b, math.Float64bits(1.5))
	e.list(3, tStruct, 2)
	for range 2 {
		x := e.begin(0)
		e.str(1, "nested")
		e.bool(2, true)
		e.end(x)
	}
	e.field(4, tMap)
	e.uvarint(2)
	e.b = append(e.b, tBinary<<4|tI64)
	for range 2 {
		e.uvarint(1)
		e.b = append(e.b, 'k')
		e.varint(-3)
	}
	e.list(5, tTrue, 20) // booleans, long list header
	for range 20 {
		e.b = append(e.b, 1)
	}
	e.field(6, tByte)
	e.b = append(e.b, 0xff)
	e.i64(200, math.MinInt64) // long-form id
	e.end(s)

	var got1 int32
	var got200 int64
	d := dec{b: e.b}
	d.structure(func(id int16, typ byte) bool {
		switch id {
		case 1:
			got1 = d.i32()
		case 200:
			got200 = d.varint()
		default:
			return false
		}
		return true
	})
	if d.err != nil || got1 != -7 || got200 != math.MinInt64 || len(d.b) != 0 {
		t.Errorf("read %d, %d, err %v, %d bytes left", got1, got200, d.err, len(d.b))
	}
	// Every truncation is an error, never a panic.
	for n := range len(e.b) - 1 {
		d := dec{b: e.b[:n]}
		d.structure(func(int16, byte) bool { return false })
		if d.err == nil {
			t.Errorf("truncated to %d bytes: no error", n)
		}
	}
}

// TestPages writes chunks that span several pages (more than 1 MiB of
// int64 values, of strings, and a nullable column with nulls across the
// page boundaries) and reads them back.
func TestPages(t *testing.T) {
	const n = 150_000 // 1.2 MB of int64 values: two pages
	rng := rand.New(rand.NewPCG(3, 4))
	var ints, strs, opt []byte
	valid := make([]bool, n)
	wantStr := make([]string, n)
	for i := range n {
		ints = binary.LittleEndian.AppendUint64(ints, uint64(rng.Int64()))
		s := fmt.Sprintf("%0*d", rng.IntN(20), i)
		wantStr[i] = s
		strs = binary.LittleEndian.AppendUint32(strs, uint32(len(s)))
		strs = append(strs, s...)
		valid[i] = i%3 != 0
		if valid[i] {
			opt = binary.LittleEndian.AppendUint64(opt, math.Float64bits(float64(i)))
		}
	}
	fields := []Field{{Name: "i", Type: Int64}, {Name: "s", Type: ByteArray, String: true}, {Name: "o", Type: Double, Optional: true}}
	var buf bytes.Buffer
	w, err := NewWriter(&buf, fields)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteRowGroup(n, []Column{{Values: ints}, {Values: strs}, {Values: opt, Valid: valid}}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close([]KeyValue{{"k", "v"}}, "test"); err != nil {
		t.Fatal(err)
	}
	f, err := Open(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if f.NumRows() != n || f.RowGroups() != 1 || f.CreatedBy() != "test" || f.KeyValues()[0] != (KeyValue{"k", "v"}) {
		t.Fatalf("footer: %d rows, %d groups, %q, %v", f.NumRows(), f.RowGroups(), f.CreatedBy(), f.KeyValues())
	}
	var v Values
	if err := f.ReadColumn(0, 0, &v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Fixed, ints) || v.N != n {
		t.Errorf("int64 column differs")
	}
	if err := f.ReadColumn(0, 1, &v); err != nil {
		t.Fatal(err)
	}
	for i, s := range wantStr {
		if got := string(v.Data[v.Offsets[i]:v.Offsets[i+1]]); got != s {
			t.Fatalf("string %d: %q, want %q", i, got, s)
		}
	}
	if err := f.ReadColumn(0, 2, &v); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(v.Fixed, opt) || !slices.Equal(v.Valid, valid) {
		t.Errorf("nullable column differs")
	}
	// Each chunk has more than one page: count the data page headers.
	for j, c := range f.meta.rowGroups[0].columns {
		chunk := buf.Bytes()[c.dataPageOffset : c.dataPageOffset+c.totalCompr]
		pages := 0
		for len(chunk) > 0 {
			var h pageHeader
			d := dec{b: chunk}
			d.pageHeader(&h)
			if d.err != nil {
				t.Fatal(d.err)
			}
			chunk = d.b[h.compressed:]
			pages++
		}
		if pages < 2 {
			t.Errorf("column %s: %d page, want a chunk of several", fields[j].Name, pages)
		}
	}
}

// TestOpenErrors: files that are not Parquet, or whose footer lies, get
// an error wrapping ErrCorrupt.
func TestOpenErrors(t *testing.T) {
	var good bytes.Buffer
	w, _ := NewWriter(&good, []Field{{Name: "x", Type: Int32}})
	w.WriteRowGroup(1, []Column{{Values: []byte{1, 0, 0, 0}}})
	w.Close(nil, "t")
	g := good.Bytes()
	footerLen := binary.LittleEndian.Uint32(g[len(g)-8:])
	cases := map[string][]byte{
		"empty":          {},
		"no magic":       append([]byte("PAR0"), g[4:]...),
		"footer too big": append(slices.Clone(g[:len(g)-8]), 0xff, 0xff, 0, 0, 'P', 'A', 'R', '1'),
		"footer cut":     append(append(slices.Clone(g[:4]), g[len(g)-8-int(footerLen)+3:len(g)-8]...), binary.LittleEndian.AppendUint32(nil, footerLen-3)...),
	}
	cases["footer cut"] = append(cases["footer cut"], "PAR1"...)
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := Open(bytes.NewReader(b), int64(len(b))); !errors.Is(err, ErrCorrupt) {
				t.Errorf("err = %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := Open(bytes.NewReader(g), int64(len(g))); err != nil {
		t.Errorf("the good file: %v", err)
	}
}
