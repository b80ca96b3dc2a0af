package pq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// ErrCorrupt is wrapped by the errors for files that are not well-formed
// Parquet (or use what this reader does not support).
var ErrCorrupt = errors.New("not a readable Parquet file")

// Limits on what a file may claim, so that a corrupt file gets an error
// rather than a huge allocation.
const (
	maxFooter    = 64 << 20 // footer bytes
	maxPageBytes = 64 << 20 // uncompressed bytes of one page (writers cut pages at about 1 MiB)
	// MaxRows bounds the rows of one row group: gotrap writes at most
	// 65536 by default, DuckDB 122880.
	MaxRows = 1 << 20
)

// File is an open Parquet file with a flat schema.
type File struct {
	r      io.ReaderAt
	size   int64
	meta   fileMeta
	fields []Field
	chunk  []byte // scratch: a column chunk's bytes
	page   []byte // scratch: a decompressed page
	levels []uint32
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// Open reads the footer of the size-byte file r and checks its schema
// and row groups.
func Open(r io.ReaderAt, size int64) (*File, error) {
	if size < 12 {
		return nil, corrupt("%d bytes, too short for a Parquet file", size)
	}
	var tail [8]byte
	if _, err := r.ReadAt(tail[:], size-8); err != nil {
		return nil, fmt.Errorf("pq: reading the footer: %w", err)
	}
	var head [4]byte
	if _, err := r.ReadAt(head[:], 0); err != nil {
		return nil, fmt.Errorf("pq: reading the header: %w", err)
	}
	if string(tail[4:]) != "PAR1" || string(head[:]) != "PAR1" {
		if string(tail[4:]) == "PARE" {
			return nil, corrupt("encrypted footer (not supported)")
		}
		return nil, corrupt("no PAR1 magic")
	}
	n := int64(binary.LittleEndian.Uint32(tail[:4]))
	if n > size-12 || n > maxFooter {
		return nil, corrupt("footer length %d in a file of %d bytes", n, size)
	}
	buf := make([]byte, n)
	if _, err := r.ReadAt(buf, size-8-n); err != nil {
		return nil, fmt.Errorf("pq: reading the footer: %w", err)
	}
	f := &File{r: r, size: size}
	d := dec{b: buf}
	d.fileMeta(&f.meta)
	if d.err != nil {
		return nil, fmt.Errorf("%w: footer: %w", ErrCorrupt, d.err)
	}
	if err := f.check(size - 8 - n); err != nil {
		return nil, err
	}
	return f, nil
}

// check validates the schema (a root and its primitive, non-repeated
// leaves) and that each column chunk lies in the data part of the file
// (before the footer, at end) and holds its row group's rows.
func (f *File) check(end int64) error {
	s := f.meta.schema
	if len(s) == 0 {
		return corrupt("empty schema")
	}
	if s[0].hasType || int(s[0].numChildren) != len(s)-1 {
		return corrupt("schema root has %d children for %d columns (nested schemas are not supported)", s[0].numChildren, len(s)-1)
	}
	for _, e := range s[1:] {
		if !e.hasType || e.numChildren != 0 {
			return corrupt("column %q is a group (nested schemas are not supported)", e.name)
		}
		if e.repetition != repRequired && e.repetition != repOptional {
			return corrupt("column %q is repeated (not supported)", e.name)
		}
		fd := Field{Name: e.name, Type: e.typ, Optional: e.repetition == repOptional}
		fd.String = e.logical == logString || (e.hasConv && e.converted == convUTF8)
		switch {
		case e.logical == logTimestamp:
			fd.TimestampMicros = e.tsUnit == unitMicros
		case e.hasConv && e.converted == convTimestampMicros:
			fd.TimestampMicros = true
		}
		f.fields = append(f.fields, fd)
	}
	var rows int64
	for i := range f.meta.rowGroups {
		rg := &f.meta.rowGroups[i]
		if len(rg.columns) != len(f.fields) {
			return corrupt("row group %d has %d columns, the schema %d", i, len(rg.columns), len(f.fields))
		}
		if rg.numRows < 0 || rg.numRows > MaxRows {
			return corrupt("row group %d has %d rows", i, rg.numRows)
		}
		rows += rg.numRows
		for j := range rg.columns {
			c := &rg.columns[j]
			start := c.start()
			if c.typ != f.fields[j].Type {
				return corrupt("column %s: chunk of type %s in a %s column", f.fields[j].Name, c.typ, f.fields[j].Type)
			}
			if c.numValues != rg.numRows {
				return corrupt("column %s, row group %d: %d values for %d rows", f.fields[j].Name, i, c.numValues, rg.numRows)
			}
			if start < 4 || c.totalCompr < 0 || c.totalCompr > end-start {
				return corrupt("column %s, row group %d: chunk at %d+%d outside the file's %d data bytes", f.fields[j].Name, i, start, c.totalCompr, end)
			}
		}
	}
	if rows != f.meta.numRows {
		return corrupt("row groups hold %d rows, the footer says %d", rows, f.meta.numRows)
	}
	return nil
}

// start is the offset of a chunk's first page: its dictionary page, if
// any, comes before the first data page.
func (c *columnMeta) start() int64 {
	if c.hasDictPage && c.dictPageOffset > 0 && c.dictPageOffset < c.dataPageOffset {
		return c.dictPageOffset
	}
	return c.dataPageOffset
}

// Fields returns the file's columns.
func (f *File) Fields() []Field { return f.fields }

// NumRows returns the file's row count.
func (f *File) NumRows() int64 { return f.meta.numRows }

// RowGroups returns the number of row groups.
func (f *File) RowGroups() int { return len(f.meta.rowGroups) }

// RowGroupRows returns the rows of row group i.
func (f *File) RowGroupRows(i int) int { return int(f.meta.rowGroups[i].numRows) }

// KeyValues returns the file's key-value metadata.
func (f *File) KeyValues() []KeyValue { return f.meta.kv }

// CreatedBy returns the file's created_by string.
func (f *File) CreatedBy() string { return f.meta.createdBy }

// Values is one column chunk read back: for each of N rows, whether it has
// a value (Valid; nil when every row has one), and the present values:
// fixed-width types in Fixed, PLAIN little-endian (booleans one byte, 0
// or 1, each); byte arrays in Data, value i being
// Data[Offsets[i]:Offsets[i+1]].
type Values struct {
	N       int
	Valid   []bool
	Fixed   []byte
	Offsets []int32
	Data    []byte
}

func (v *Values) reset() {
	v.N = 0
	v.Valid = v.Valid[:0]
	v.Fixed = v.Fixed[:0]
	v.Offsets = append(v.Offsets[:0], 0)
	v.Data = v.Data[:0]
}

// present returns the number of values (non-null rows).
func (v *Values) present(t Type) int {
	switch {
	case t == ByteArray:
		return len(v.Offsets) - 1
	case t == Boolean:
		return len(v.Fixed)
	}
	return len(v.Fixed) / width(t)
}

// dictionary is a column chunk's dictionary page, decoded.
type dictionary struct {
	n    int
	vals Values
}

// ReadColumn reads column j of row group i into v, reusing its slices.
func (f *File) ReadColumn(i, j int, v *Values) error {
	rg := &f.meta.rowGroups[i]
	c := &rg.columns[j]
	fd := &f.fields[j]
	v.reset()
	err := f.readChunk(c, fd, int(rg.numRows), v)
	if err != nil {
		return fmt.Errorf("column %s, row group %d: %w", fd.Name, i, err)
	}
	return nil
}

func (f *File) readChunk(c *columnMeta, fd *Field, rows int, v *Values) error {
	start := c.start()
	if cap(f.chunk) < int(c.totalCompr) {
		f.chunk = make([]byte, c.totalCompr)
	}
	buf := f.chunk[:c.totalCompr]
	if _, err := f.r.ReadAt(buf, start); err != nil {
		return fmt.Errorf("reading: %w", err)
	}
	switch c.codec {
	case codecUncompressed, codecSnappy, codecZstd:
	default:
		return corrupt("compression %s not supported", codecName(c.codec))
	}
	if fd.Optional {
		v.Valid = v.Valid[:0]
	}
	var dict *dictionary
	for v.N < rows {
		if len(buf) == 0 {
			return corrupt("chunk ends after %d of %d values", v.N, rows)
		}
		var h pageHeader
		d := dec{b: buf}
		d.pageHeader(&h)
		if d.err != nil {
			return fmt.Errorf("%w: page header: %w", ErrCorrupt, d.err)
		}
		buf = d.b
		if h.compressed < 0 || int(h.compressed) > len(buf) {
			return corrupt("page of %d bytes, %d left in the chunk", h.compressed, len(buf))
		}
		if h.uncompressed < 0 || h.uncompressed > maxPageBytes {
			return corrupt("page of %d uncompressed bytes", h.uncompressed)
		}
		payload := buf[:h.compressed]
		buf = buf[h.compressed:]
		switch h.typ {
		case pageDictionary:
			if !h.hasHeader {
				return corrupt("dictionary page without its header")
			}
			if dict != nil {
				return corrupt("a second dictionary page")
			}
			body, err := f.decompress(c.codec, payload, int(h.uncompressed))
			if err != nil {
				return err
			}
			if h.encoding != encPlain && h.encoding != encPlainDictionary {
				return corrupt("dictionary page encoding %s", encodingName(h.encoding))
			}
			if h.numValues < 0 || int(h.numValues) > len(body)*8+1 {
				return corrupt("dictionary of %d values in %d bytes", h.numValues, len(body))
			}
			dict = &dictionary{n: int(h.numValues)}
			dict.vals.reset()
			if _, err := decodePlain(&dict.vals, fd.Type, body, dict.n); err != nil {
				return fmt.Errorf("dictionary: %w", err)
			}
		case pageData, pageDataV2:
			if !h.hasHeader {
				return corrupt("data page without its header")
			}
			n := int(h.numValues)
			if n < 0 || n > rows-v.N {
				return corrupt("page of %d values, %d rows left", h.numValues, rows-v.N)
			}
			if err := f.dataPage(c.codec, &h, payload, fd, n, dict, v); err != nil {
				return err
			}
			v.N += n
		default: // index pages and unknown pages are skipped
		}
	}
	if fd.Optional && len(v.Valid) != v.N {
		return corrupt("levels for %d of %d rows", len(v.Valid), v.N)
	}
	if fd.Optional {
		all := true
		for _, ok := range v.Valid {
			all = all && ok
		}
		if all {
			v.Valid = v.Valid[:0]
		}
	}
	return nil
}

// dataPage decodes one v1 or v2 data page of n rows, appending to v.
func (f *File) dataPage(codec int32, h *pageHeader, payload []byte, fd *Field, n int, dict *dictionary, v *Values) error {
	var levels, body []byte
	var err error
	if h.typ == pageData {
		body, err = f.decompress(codec, payload, int(h.uncompressed))
		if err != nil {
			return err
		}
		if fd.Optional {
			if h.defEncoding != encRLE {
				return corrupt("definition levels in %s", encodingName(h.defEncoding))
			}
			if len(body) < 4 {
				return corrupt("page too short for its levels")
			}
			l := binary.LittleEndian.Uint32(body)
			if uint64(l) > uint64(len(body)-4) {
				return corrupt("levels of %d bytes in a page of %d", l, len(body))
			}
			levels, body = body[4:4+l], body[4+l:]
		}
	} else {
		if h.repLen != 0 {
			return corrupt("repetition levels in a flat column")
		}
		if h.defLen < 0 || int(h.defLen) > len(payload) {
			return corrupt("levels of %d bytes in a page of %d", h.defLen, len(payload))
		}
		levels, payload = payload[:h.defLen], payload[h.defLen:]
		if h.isCompressed {
			body, err = f.decompress(codec, payload, int(h.uncompressed)-int(h.defLen))
			if err != nil {
				return err
			}
		} else {
			body = payload
		}
		if !fd.Optional && h.defLen != 0 {
			return corrupt("definition levels in a required column")
		}
	}
	present := n
	if fd.Optional {
		if cap(f.levels) < n {
			f.levels = make([]uint32, n)
		}
		lv := f.levels[:n]
		if err := decodeHybrid(lv, levels, 1); err != nil {
			return fmt.Errorf("%w: definition levels: %w", ErrCorrupt, err)
		}
		present = 0
		for _, l := range lv {
			if l > 1 {
				return corrupt("definition level %d above 1", l)
			}
			v.Valid = append(v.Valid, l == 1)
			present += int(l)
		}
	}
	switch h.encoding {
	case encPlain:
		_, err = decodePlain(v, fd.Type, body, present)
	case encPlainDictionary, encRLEDictionary:
		err = f.decodeDict(v, fd.Type, body, present, dict)
	case encRLE:
		if fd.Type != Boolean {
			return corrupt("RLE values in a %s column", fd.Type)
		}
		err = f.decodeRLEBools(v, body, present)
	case encByteStreamSplit:
		err = decodeSplit(v, fd.Type, body, present)
	default:
		return corrupt("values in %s (not supported)", encodingName(h.encoding))
	}
	return err
}

var zstdDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(0), zstd.WithDecoderMaxMemory(maxPageBytes))
})

// decompress returns the n bytes that src decompresses to.
func (f *File) decompress(codec int32, src []byte, n int) ([]byte, error) {
	if n < 0 {
		return nil, corrupt("negative page size")
	}
	switch codec {
	case codecUncompressed:
		if len(src) != n {
			return nil, corrupt("uncompressed page of %d bytes says %d", len(src), n)
		}
		return src, nil
	case codecSnappy:
		m, err := s2.DecodedLen(src)
		if err != nil || m != n {
			return nil, corrupt("snappy page: %d bytes, want %d (%v)", m, n, err)
		}
		if cap(f.page) < n {
			f.page = make([]byte, n)
		}
		out, err := s2.Decode(f.page[:n], src)
		if err != nil {
			return nil, corrupt("snappy page: %v", err)
		}
		return out, nil
	case codecZstd:
		zd, err := zstdDecoder()
		if err != nil {
			return nil, err
		}
		out, err := zd.DecodeAll(src, f.page[:0])
		if err != nil {
			return nil, corrupt("zstd page: %v", err)
		}
		if cap(out) > cap(f.page) {
			f.page = out[:0]
		}
		if len(out) != n {
			return nil, corrupt("zstd page of %d bytes says %d", len(out), n)
		}
		return out, nil
	}
	return nil, corrupt("compression %s not supported", codecName(codec))
}

// decodePlain appends n PLAIN values from src to v and returns the bytes
// used.
func decodePlain(v *Values, t Type, src []byte, n int) (int, error) {
	switch t {
	case Boolean:
		if (n+7)/8 > len(src) {
			return 0, corrupt("%d booleans in %d bytes", n, len(src))
		}
		for i := range n {
			v.Fixed = append(v.Fixed, src[i>>3]>>(i&7)&1)
		}
		return (n + 7) / 8, nil
	case Int32, Int64, Float, Double:
		w := width(t)
		if uint64(n)*uint64(w) > uint64(len(src)) {
			return 0, corrupt("%d %s values in %d bytes", n, t, len(src))
		}
		v.Fixed = append(v.Fixed, src[:n*w]...)
		return n * w, nil
	case ByteArray:
		p := 0
		for range n {
			if len(src)-p < 4 {
				return 0, corrupt("byte array values end early")
			}
			l := binary.LittleEndian.Uint32(src[p:])
			p += 4
			if uint64(l) > uint64(len(src)-p) {
				return 0, corrupt("byte array of %d bytes, %d left", l, len(src)-p)
			}
			v.Data = append(v.Data, src[p:p+int(l)]...)
			p += int(l)
			if len(v.Data) > math.MaxInt32 {
				return 0, corrupt("more than 2 GiB of byte arrays in one chunk")
			}
			v.Offsets = append(v.Offsets, int32(len(v.Data)))
		}
		return p, nil
	}
	return 0, corrupt("physical type %s not supported", t)
}

// decodeDict appends n dictionary-encoded values (a bit-width byte, then
// RLE/bit-packed indices) from src to v.
func (f *File) decodeDict(v *Values, t Type, src []byte, n int, dict *dictionary) error {
	if dict == nil {
		return corrupt("dictionary-encoded page without a dictionary")
	}
	if n == 0 {
		return nil
	}
	if len(src) < 1 {
		return corrupt("dictionary indices missing")
	}
	if cap(f.levels) < n {
		f.levels = make([]uint32, n)
	}
	idx := f.levels[:n]
	if err := decodeHybrid(idx, src[1:], int(src[0])); err != nil {
		return fmt.Errorf("%w: dictionary indices: %w", ErrCorrupt, err)
	}
	dv := &dict.vals
	w := width(t)
	for _, k := range idx {
		if int(k) >= dict.n {
			return corrupt("dictionary index %d of %d", k, dict.n)
		}
		switch {
		case t == ByteArray:
			v.Data = append(v.Data, dv.Data[dv.Offsets[k]:dv.Offsets[k+1]]...)
			if len(v.Data) > math.MaxInt32 {
				return corrupt("more than 2 GiB of byte arrays in one chunk")
			}
			v.Offsets = append(v.Offsets, int32(len(v.Data)))
		case t == Boolean:
			v.Fixed = append(v.Fixed, dv.Fixed[k])
		default:
			v.Fixed = append(v.Fixed, dv.Fixed[int(k)*w:int(k+1)*w]...)
		}
	}
	return nil
}

// decodeRLEBools appends n booleans in the RLE encoding (a 4-byte length,
// then RLE/bit-packed runs of bit width 1).
func (f *File) decodeRLEBools(v *Values, src []byte, n int) error {
	if len(src) < 4 {
		return corrupt("RLE booleans without their length")
	}
	l := binary.LittleEndian.Uint32(src)
	if uint64(l) > uint64(len(src)-4) {
		return corrupt("RLE booleans of %d bytes in %d", l, len(src)-4)
	}
	if cap(f.levels) < n {
		f.levels = make([]uint32, n)
	}
	b := f.levels[:n]
	if err := decodeHybrid(b, src[4:4+l], 1); err != nil {
		return fmt.Errorf("%w: booleans: %w", ErrCorrupt, err)
	}
	for _, x := range b {
		v.Fixed = append(v.Fixed, byte(x&1))
	}
	return nil
}

// decodeSplit appends n BYTE_STREAM_SPLIT values: byte k of value i is
// src[k*n+i].
func decodeSplit(v *Values, t Type, src []byte, n int) error {
	w := width(t)
	if w == 0 {
		return corrupt("BYTE_STREAM_SPLIT values in a %s column", t)
	}
	if uint64(n)*uint64(w) > uint64(len(src)) {
		return corrupt("%d %s values in %d bytes", n, t, len(src))
	}
	for i := range n {
		for k := range w {
			v.Fixed = append(v.Fixed, src[k*n+i])
		}
	}
	return nil
}

// Int64Range returns the smallest and largest value of the Int64 column
// name over the file's row groups, from the column chunks' statistics;
// ok is false when the file has no such column, no rows, or a row group
// without both statistics (a reader must then assume any value).
func (f *File) Int64Range(name string) (lo, hi int64, ok bool) {
	col := -1
	for i, fd := range f.fields {
		if fd.Name == name && fd.Type == Int64 {
			col = i
		}
	}
	if col < 0 || len(f.meta.rowGroups) == 0 {
		return 0, 0, false
	}
	for i, rg := range f.meta.rowGroups {
		s := rg.columns[col].stats
		if s == nil || len(s.min) != 8 || len(s.max) != 8 {
			return 0, 0, false
		}
		a, b := int64(binary.LittleEndian.Uint64(s.min)), int64(binary.LittleEndian.Uint64(s.max))
		if i == 0 || a < lo {
			lo = a
		}
		if i == 0 || b > hi {
			hi = b
		}
	}
	return lo, hi, true
}
