package pq

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"
)

// Field describes one column of a flat schema.
type Field struct {
	Name     string
	Type     Type // Boolean, Int32, Int64, Double or ByteArray
	Optional bool // nullable: definition levels with maximum 1
	// String marks a ByteArray column as UTF-8 text (logical type
	// STRING, converted type UTF8).
	String bool
	// TimestampMicros marks an Int64 column as microseconds since the
	// Unix epoch in UTC (logical type TIMESTAMP(isAdjustedToUTC=true,
	// MICROS), converted type TIMESTAMP_MICROS).
	TimestampMicros bool
}

// Column is one column's values for WriteRowGroup, in Parquet's PLAIN
// encoding: fixed-width values little-endian, booleans bit-packed least
// significant bit first, byte arrays each a 4-byte little-endian length
// and the bytes. Values holds only the present values; Valid, for an
// Optional column, says for each row whether it has a value (nil: all).
type Column struct {
	Values []byte
	Valid  []bool
}

// pageBytes is the most PLAIN value bytes per data page (the page is
// cut at the first value boundary past it): DuckDB and arrow-go use 1 MiB.
const pageBytes = 1 << 20

// Writer writes a Parquet file: "PAR1", row groups of column chunks of
// zstd-compressed v1 data pages (PLAIN values, RLE/bit-packed definition
// levels for optional columns), and the Thrift footer with per-chunk
// statistics (min, max, null count). It is not safe for concurrent use.
// Close must be called (also after an error) to return its encoder.
type Writer struct {
	w      io.Writer
	pos    int64
	fields []Field
	meta   fileMeta
	hdr    enc
	page   []byte
	comp   []byte
	err    error
}

// encoders holds idle zstd encoders (one per page being compressed at a
// time, kept for the next): an encoder allocates its tables and history
// (about 6 MB with the window below) on first use, which a process that
// writes one small file should not pay for more than once, nor for each
// of GOMAXPROCS encoders that it does not use. A writer takes one for
// each page only, so the encoders are as many as the pages compressed at
// once, not as the files open at once (a live run's merges opened more as
// it went on, and the idle encoders grew from 15 to 34 MB over a
// 30-minute watch); at most GOMAXPROCS are kept idle.
var encoders struct {
	sync.Mutex
	idle []*zstd.Encoder
}

func getEncoder() *zstd.Encoder {
	encoders.Lock()
	defer encoders.Unlock()
	if n := len(encoders.idle); n > 0 {
		e := encoders.idle[n-1]
		encoders.idle = encoders.idle[:n-1]
		return e
	}
	// A page is about pageBytes: a window of twice that finds every match
	// within it, and holds 6 MB of history per encoder, where the default
	// 8 MiB window held 18.5 MB (measured on a 700 kB page, session 8;
	// the same compressed bytes).
	e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithZeroFrames(true), zstd.WithEncoderConcurrency(1),
		zstd.WithWindowSize(2*pageBytes))
	if err != nil {
		panic(err) // only for invalid options
	}
	return e
}

func putEncoder(e *zstd.Encoder) {
	encoders.Lock()
	if len(encoders.idle) < runtime.GOMAXPROCS(0) {
		encoders.idle = append(encoders.idle, e)
	}
	encoders.Unlock()
}

// minCompress is the fewest page bytes of a column chunk that are
// compressed: a smaller chunk (a file of a few rows, as gotrap extract
// writes for a small image) is stored uncompressed, where zstd would gain
// a few bytes at the cost of its encoder's tables (hundreds of page
// faults at start-up).
const minCompress = 1 << 10

// NewWriter writes the file's magic to w and returns a Writer for
// fields.
func NewWriter(w io.Writer, fields []Field) (*Writer, error) {
	pw := &Writer{w: w, fields: fields}
	pw.meta.version = 1
	pw.meta.schema = make([]schemaElement, 0, len(fields)+1)
	pw.meta.schema = append(pw.meta.schema, schemaElement{name: "schema", numChildren: int32(len(fields))})
	for _, f := range fields {
		s := schemaElement{typ: f.Type, hasType: true, name: f.Name, repetition: repRequired}
		if f.Optional {
			s.repetition = repOptional
		}
		switch {
		case f.String:
			s.converted, s.hasConv, s.logical = convUTF8, true, logString
		case f.TimestampMicros:
			s.converted, s.hasConv, s.logical = convTimestampMicros, true, logTimestamp
			s.tsUTC, s.tsUnit = true, unitMicros
		}
		pw.meta.schema = append(pw.meta.schema, s)
	}
	pw.write([]byte("PAR1"))
	return pw, pw.err
}

func (w *Writer) write(b []byte) {
	if w.err != nil {
		return
	}
	n, err := w.w.Write(b)
	w.pos += int64(n)
	if err != nil {
		w.err = err
	}
}

// WriteRowGroup writes one row group of n rows (n > 0), one Column per
// field in order.
func (w *Writer) WriteRowGroup(n int, cols []Column) error {
	if w.err != nil {
		return w.err
	}
	if len(cols) != len(w.fields) || n <= 0 {
		return errors.New("pq: row group does not match the schema")
	}
	rg := rowGroup{numRows: int64(n), fileOffset: w.pos, ordinal: int16(len(w.meta.rowGroups))}
	rg.columns = make([]columnMeta, len(cols))
	for j := range cols {
		start := w.pos
		cm, err := w.writeChunk(&w.fields[j], n, &cols[j])
		if err != nil {
			w.err = fmt.Errorf("pq: column %s: %w", w.fields[j].Name, err)
			return w.err
		}
		cm.dataPageOffset = start
		cm.totalCompr = w.pos - start
		rg.columns[j] = cm
		rg.totalBytes += cm.totalUncompr
		rg.totalCompr += cm.totalCompr
	}
	w.meta.rowGroups = append(w.meta.rowGroups, rg)
	w.meta.numRows += int64(n)
	return w.err
}

// width is a fixed-width type's value size in bytes (0 for Boolean and
// ByteArray).
func width(t Type) int {
	switch t {
	case Int32, Float:
		return 4
	case Int64, Double:
		return 8
	}
	return 0
}

func (w *Writer) writeChunk(f *Field, n int, c *Column) (columnMeta, error) {
	cm := columnMeta{typ: f.Type, path: []string{f.Name}, codec: codecZstd, numValues: int64(n)}
	if len(c.Values)+n/8 < minCompress {
		cm.codec = codecUncompressed
	}
	cm.encodings = []int32{encPlain}
	valid := c.Valid
	if f.Optional {
		cm.encodings = append(cm.encodings, encRLE)
		if valid != nil && len(valid) != n {
			return cm, errors.New("validity of the wrong length")
		}
	} else if valid != nil {
		return cm, errors.New("validity for a required column")
	}
	if f.Type == Boolean && valid != nil {
		return cm, errors.New("optional booleans are not supported")
	}
	present := func(a, b int) int { // present values in rows [a, b)
		if valid == nil {
			return b - a
		}
		k := 0
		for _, v := range valid[a:b] {
			if v {
				k++
			}
		}
		return k
	}
	wd := width(f.Type)
	vals := c.Values
	va := 0
	for a := 0; a < n; {
		// The page's rows [a, b) and value bytes [va, vb).
		var b, vb int
		switch {
		case f.Type == Boolean:
			b = min(n, a+pageBytes*8) // a stays a multiple of 8
			vb = (b + 7) / 8
		case wd > 0:
			b = min(n, a+pageBytes/wd)
			vb = va + wd*present(a, b)
		default: // ByteArray: whole values until the page is full
			b, vb = a, va
			for b < n && vb-va < pageBytes {
				if valid == nil || valid[b] {
					if vb+4 > len(vals) {
						return cm, errors.New("byte array values end early")
					}
					vb += 4 + int(binary.LittleEndian.Uint32(vals[vb:]))
				}
				b++
			}
		}
		if vb > len(vals) {
			return cm, errors.New("fewer values than rows")
		}
		page := w.page[:0]
		if f.Optional {
			page = append(page, 0, 0, 0, 0)
			if valid == nil {
				page = binary.AppendUvarint(page, uint64(b-a)<<1)
				page = append(page, 1)
			} else {
				page = appendLevels(page, valid[a:b])
			}
			binary.LittleEndian.PutUint32(page, uint32(len(page)-4))
		}
		page = append(page, vals[va:vb]...)
		w.page = page
		if len(page) > math.MaxInt32 {
			return cm, errors.New("page too large")
		}
		body := page
		if cm.codec == codecZstd {
			enc := getEncoder()
			w.comp = enc.EncodeAll(page, w.comp[:0])
			putEncoder(enc)
			body = w.comp
		}
		w.hdr.b = w.hdr.b[:0]
		w.hdr.dataPageHeader(len(page), len(body), b-a)
		w.write(w.hdr.b)
		w.write(body)
		cm.totalUncompr += int64(len(w.hdr.b) + len(page))
		a, va = b, vb
	}
	if len(vals) != va {
		return cm, errors.New("more values than rows")
	}
	cm.stats = chunkStats(f.Type, vals, n, n-present(0, n))
	return cm, w.err
}

// maxStatBytes bounds the length of a byte array min or max: longer ones
// are left out of the statistics.
const maxStatBytes = 1024

// chunkStats computes a column chunk's statistics from its PLAIN values:
// the null count, and min and max in the column order of the type
// (signed integers; doubles by value, with -0 as the min and +0 as the max
// of zeros; booleans false < true; byte arrays byte-wise unsigned). A
// double column with a NaN gets no min and max, and neither does one
// without values: DuckDB treats NaN as larger than every number, and a
// max that left the NaNs out would let it skip the row group for x > max.
func chunkStats(t Type, vals []byte, rows, nulls int) *statistics {
	s := &statistics{nullCount: int64(nulls), hasNullCount: true}
	if len(vals) == 0 {
		if t == Double {
			s.hasNaNCount = true
		}
		return s
	}
	switch t {
	case Int32:
		lo, hi := int32(math.MaxInt32), int32(math.MinInt32)
		for i := 0; i+4 <= len(vals); i += 4 {
			v := int32(binary.LittleEndian.Uint32(vals[i:]))
			lo, hi = min(lo, v), max(hi, v)
		}
		s.min = binary.LittleEndian.AppendUint32(nil, uint32(lo))
		s.max = binary.LittleEndian.AppendUint32(nil, uint32(hi))
	case Int64:
		lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
		for i := 0; i+8 <= len(vals); i += 8 {
			v := int64(binary.LittleEndian.Uint64(vals[i:]))
			lo, hi = min(lo, v), max(hi, v)
		}
		s.min = binary.LittleEndian.AppendUint64(nil, uint64(lo))
		s.max = binary.LittleEndian.AppendUint64(nil, uint64(hi))
	case Double:
		lo, hi := math.Inf(1), math.Inf(-1)
		for i := 0; i+8 <= len(vals); i += 8 {
			v := math.Float64frombits(binary.LittleEndian.Uint64(vals[i:]))
			if v != v {
				s.nanCount++
				continue
			}
			lo, hi = min(lo, v), max(hi, v)
		}
		s.hasNaNCount = true
		if s.nanCount == 0 {
			if lo == 0 {
				lo = math.Copysign(0, -1)
			}
			if hi == 0 {
				hi = 0
			}
			s.min = binary.LittleEndian.AppendUint64(nil, math.Float64bits(lo))
			s.max = binary.LittleEndian.AppendUint64(nil, math.Float64bits(hi))
		}
	case Boolean:
		// Only required booleans are written: bit i is row i.
		var any0, any1 bool
		for i := range rows {
			if vals[i>>3]>>(i&7)&1 == 1 {
				any1 = true
			} else {
				any0 = true
			}
		}
		lo, hi := byte(1), byte(0)
		if any0 {
			lo = 0
		}
		if any1 {
			hi = 1
		}
		s.min, s.max = []byte{lo}, []byte{hi}
	case ByteArray:
		var lo, hi []byte
		first := true
		for i := 0; i+4 <= len(vals); {
			l := int(binary.LittleEndian.Uint32(vals[i:]))
			v := vals[i+4 : i+4+l]
			i += 4 + l
			if first || bytes.Compare(v, lo) < 0 {
				lo = v
			}
			if first || bytes.Compare(v, hi) > 0 {
				hi = v
			}
			first = false
		}
		if len(lo) <= maxStatBytes && len(hi) <= maxStatBytes {
			s.min = append([]byte{}, lo...)
			s.max = append([]byte{}, hi...)
		}
	}
	return s
}

// Close writes the footer: the file metadata with kv and createdBy, its
// length and the closing magic. It does not close the io.Writer.
func (w *Writer) Close(kv []KeyValue, createdBy string) error {
	w.Release()
	if w.err != nil {
		return w.err
	}
	w.meta.kv = kv
	w.meta.createdBy = createdBy
	w.hdr.b = w.hdr.b[:0]
	w.hdr.fileMeta(&w.meta)
	w.hdr.b = binary.LittleEndian.AppendUint32(w.hdr.b, uint32(len(w.hdr.b)))
	w.hdr.b = append(w.hdr.b, "PAR1"...)
	w.write(w.hdr.b)
	w.page, w.comp = nil, nil
	return w.err
}

// Release drops the writer's buffers, for a file that is abandoned;
// Close calls it.
func (w *Writer) Release() {
	w.page, w.comp = nil, nil
}
