package catalog

import (
	"database/sql"
	"fmt"
	"time"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"gotrap/internal/rundir"
)

// This file moves values between a slice of records and Arrow arrays one
// column at a time. The column's kind is switched on once per column and
// row group; the loops then read or write one concrete field type at a
// fixed offset in each record (base + i*size + off), so there is no
// interface or closure call per value. The offsets come from reflect in
// schemaFor and are only used within the slice's own backing array. The
// reflect-based twin gatherRef in gather_ref_test.go is the oracle.

// at returns a pointer to the field at offset off of record i.
func at(base unsafe.Pointer, size uintptr, i int, off uintptr) unsafe.Pointer {
	return unsafe.Add(base, uintptr(i)*size+off)
}

// gather builds one Arrow array per column from rows, with buffers taken
// from mem. The caller releases the arrays. rows must not be empty.
func (s *schema) gather(mem memory.Allocator, base unsafe.Pointer, n int) []arrow.Array {
	out := make([]arrow.Array, len(s.cols))
	for j := range s.cols {
		out[j] = s.gatherColumn(mem, &s.cols[j], base, n)
	}
	return out
}

func newBuf(mem memory.Allocator, nbytes int) *memory.Buffer {
	b := memory.NewResizableBuffer(mem)
	b.Resize(nbytes)
	return b
}

func (s *schema) gatherColumn(mem memory.Allocator, c *column, base unsafe.Pointer, n int) arrow.Array {
	size, off := s.size, c.off
	var data *array.Data
	switch c.kind {
	case kInt64:
		buf := newBuf(mem, 8*n)
		dst := arrow.Int64Traits.CastFromBytes(buf.Bytes())[:n]
		for i := range dst {
			dst[i] = *(*int64)(at(base, size, i, off))
		}
		data = array.NewData(c.arrowType(), n, []*memory.Buffer{nil, buf}, nil, 0, 0)
		buf.Release()
	case kInt32:
		buf := newBuf(mem, 4*n)
		dst := arrow.Int32Traits.CastFromBytes(buf.Bytes())[:n]
		for i := range dst {
			dst[i] = *(*int32)(at(base, size, i, off))
		}
		data = array.NewData(c.arrowType(), n, []*memory.Buffer{nil, buf}, nil, 0, 0)
		buf.Release()
	case kFloat64:
		buf := newBuf(mem, 8*n)
		dst := arrow.Float64Traits.CastFromBytes(buf.Bytes())[:n]
		for i := range dst {
			dst[i] = *(*float64)(at(base, size, i, off))
		}
		data = array.NewData(c.arrowType(), n, []*memory.Buffer{nil, buf}, nil, 0, 0)
		buf.Release()
	case kTime:
		buf := newBuf(mem, 8*n)
		dst := arrow.Int64Traits.CastFromBytes(buf.Bytes())[:n]
		for i := range dst {
			dst[i] = (*time.Time)(at(base, size, i, off)).UnixMicro()
		}
		data = array.NewData(c.arrowType(), n, []*memory.Buffer{nil, buf}, nil, 0, 0)
		buf.Release()
	case kBool:
		buf := newBuf(mem, int(bitutil.BytesForBits(int64(n))))
		bits := buf.Bytes()
		clear(bits)
		for i := range n {
			if *(*bool)(at(base, size, i, off)) {
				bitutil.SetBit(bits, i)
			}
		}
		data = array.NewData(c.arrowType(), n, []*memory.Buffer{nil, buf}, nil, 0, 0)
		buf.Release()
	case kString:
		// Parquet strings are UTF-8: a name that is not (a Unix file
		// name may be any bytes) is stored escaped (rundir.EscapeName).
		str := func(i int) string {
			s := *(*string)(at(base, size, i, off))
			if !utf8.ValidString(s) {
				s = rundir.EscapeName(s)
			}
			return s
		}
		total := 0
		for i := range n {
			total += len(str(i))
		}
		if total > 1<<31-1 {
			panic(fmt.Sprintf("catalog: column %s: %d bytes of strings in one row group", c.Name, total))
		}
		obuf := newBuf(mem, 4*(n+1))
		offs := arrow.Int32Traits.CastFromBytes(obuf.Bytes())[:n+1]
		vbuf := newBuf(mem, total)
		vals := vbuf.Bytes()
		p := 0
		for i := range n {
			offs[i] = int32(p)
			p += copy(vals[p:], str(i))
		}
		offs[n] = int32(p)
		data = array.NewData(c.arrowType(), n, []*memory.Buffer{nil, obuf, vbuf}, nil, 0, 0)
		obuf.Release()
		vbuf.Release()
	case kNullInt64, kNullFloat64:
		vbuf := newBuf(mem, 8*n)
		vals := arrow.Int64Traits.CastFromBytes(vbuf.Bytes())[:n] // float64 bits for kNullFloat64
		nbuf := newBuf(mem, int(bitutil.BytesForBits(int64(n))))
		valid := nbuf.Bytes()
		clear(valid)
		voff, validOff := off+nullInt64Value, off+nullInt64Valid
		if c.kind == kNullFloat64 {
			voff, validOff = off+nullFloatValue, off+nullFloatValid
		}
		nulls := 0
		for i := range vals {
			if *(*bool)(at(base, size, i, validOff)) {
				bitutil.SetBit(valid, i)
				vals[i] = *(*int64)(at(base, size, i, voff))
			} else {
				vals[i] = 0
				nulls++
			}
		}
		data = array.NewData(c.arrowType(), n, []*memory.Buffer{nbuf, vbuf}, nil, nulls, 0)
		nbuf.Release()
		vbuf.Release()
	default:
		panic("catalog: unknown column kind")
	}
	arr := array.MakeFromData(data)
	data.Release()
	return arr
}

// scatter writes the values of arrays (one per column, each of length n)
// into rows[0:n]. It returns an error if an array's type does not match
// its column or a required column holds nulls.
func (s *schema) scatter(base unsafe.Pointer, n int, arrs []arrow.Array) error {
	size := s.size
	for j := range min(len(s.cols), len(arrs)) {
		c := &s.cols[j]
		a := arrs[j]
		if a.Len() != n {
			return fmt.Errorf("catalog: column %s has %d values, want %d", c.Name, a.Len(), n)
		}
		if !c.Nullable && a.NullN() > 0 {
			return fmt.Errorf("catalog: required column %s holds %d nulls", c.Name, a.NullN())
		}
		off := c.off
		switch c.kind {
		case kInt64:
			src, ok := a.(*array.Int64)
			if !ok {
				return typeError(c, a)
			}
			for i, v := range src.Int64Values()[:n] {
				*(*int64)(at(base, size, i, off)) = v
			}
		case kInt32:
			src, ok := a.(*array.Int32)
			if !ok {
				return typeError(c, a)
			}
			for i, v := range src.Int32Values()[:n] {
				*(*int32)(at(base, size, i, off)) = v
			}
		case kFloat64:
			src, ok := a.(*array.Float64)
			if !ok {
				return typeError(c, a)
			}
			for i, v := range src.Float64Values()[:n] {
				*(*float64)(at(base, size, i, off)) = v
			}
		case kTime:
			src, ok := a.(*array.Timestamp)
			if !ok {
				return typeError(c, a)
			}
			tt, _ := src.DataType().(*arrow.TimestampType)
			if tt.Unit != arrow.Microsecond {
				return fmt.Errorf("catalog: column %s has timestamp unit %s, want us", c.Name, tt.Unit)
			}
			for i, v := range src.TimestampValues()[:n] {
				*(*time.Time)(at(base, size, i, off)) = time.UnixMicro(int64(v)).UTC()
			}
		case kBool:
			src, ok := a.(*array.Boolean)
			if !ok {
				return typeError(c, a)
			}
			for i := range n {
				*(*bool)(at(base, size, i, off)) = src.Value(i)
			}
		case kString:
			src, ok := a.(*array.String)
			if !ok {
				return typeError(c, a)
			}
			offs := src.ValueOffsets()
			all := string(src.ValueBytes()) // one allocation; values share it
			o0 := int(offs[0])
			for i := range n {
				*(*string)(at(base, size, i, off)) = all[int(offs[i])-o0 : int(offs[i+1])-o0]
			}
		case kNullInt64:
			src, ok := a.(*array.Int64)
			if !ok {
				return typeError(c, a)
			}
			for i, v := range src.Int64Values()[:n] {
				p := (*sql.NullInt64)(at(base, size, i, off))
				if src.IsValid(i) {
					*p = sql.NullInt64{Int64: v, Valid: true}
				} else {
					*p = sql.NullInt64{}
				}
			}
		case kNullFloat64:
			src, ok := a.(*array.Float64)
			if !ok {
				return typeError(c, a)
			}
			for i, v := range src.Float64Values()[:n] {
				p := (*sql.NullFloat64)(at(base, size, i, off))
				if src.IsValid(i) {
					*p = sql.NullFloat64{Float64: v, Valid: true}
				} else {
					*p = sql.NullFloat64{}
				}
			}
		}
	}
	return nil
}

func typeError(c *column, a arrow.Array) error {
	return fmt.Errorf("catalog: column %s has type %s, want %s: %w", c.Name, a.DataType(), c.arrowType(), ErrSchemaMismatch)
}
