package catalog

import (
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"time"
	"unicode/utf8"
	"unsafe"

	"gotrap/catalog/internal/pq"
	"gotrap/internal/rundir"
)

// This file moves values between a slice of records and Parquet column
// chunks in PLAIN encoding, one column at a time. The column's kind is
// switched on once per column and row group; the loops then read or write
// one concrete field type at a fixed offset in each record (base + i*size
// + off), so there is no interface or closure call per value. The offsets
// come from reflect in schemaFor and are only used within the slice's own
// backing array. The reflect-based twin gatherRef in gather_ref_test.go is
// the oracle.

// at returns a pointer to the field at offset off of record i.
func at(base unsafe.Pointer, size uintptr, i int, off uintptr) unsafe.Pointer {
	return unsafe.Add(base, uintptr(i)*size+off)
}

// gather encodes the n records at base into cols, one per column, reusing
// their buffers. n must be positive.
func (s *schema) gather(cols []pq.Column, base unsafe.Pointer, n int) {
	for j := range s.cols {
		s.gatherColumn(&s.cols[j], &cols[j], base, n)
	}
}

// grow returns b[:n], reallocated if its capacity is short.
func grow(b []byte, n int) []byte {
	if cap(b) < n {
		return make([]byte, n, n+n/4)
	}
	return b[:n]
}

func (s *schema) gatherColumn(c *column, dst *pq.Column, base unsafe.Pointer, n int) {
	size, off := s.size, c.off
	dst.Valid = dst.Valid[:0]
	switch c.kind {
	case kInt64:
		b := grow(dst.Values, 8*n)
		for i := range n {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(*(*int64)(at(base, size, i, off))))
		}
		dst.Values = b
	case kInt32:
		b := grow(dst.Values, 4*n)
		for i := range n {
			binary.LittleEndian.PutUint32(b[4*i:], uint32(*(*int32)(at(base, size, i, off))))
		}
		dst.Values = b
	case kFloat64:
		b := grow(dst.Values, 8*n)
		for i := range n {
			binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(*(*float64)(at(base, size, i, off))))
		}
		dst.Values = b
	case kTime:
		b := grow(dst.Values, 8*n)
		for i := range n {
			binary.LittleEndian.PutUint64(b[8*i:], uint64((*time.Time)(at(base, size, i, off)).UnixMicro()))
		}
		dst.Values = b
	case kBool:
		b := grow(dst.Values, (n+7)/8)
		clear(b)
		for i := range n {
			if *(*bool)(at(base, size, i, off)) {
				b[i>>3] |= 1 << (i & 7)
			}
		}
		dst.Values = b
	case kString:
		// Parquet strings are UTF-8: a name that is not (a Unix file
		// name may be any bytes) is stored escaped (rundir.EscapeName).
		b := dst.Values[:0]
		for i := range n {
			v := *(*string)(at(base, size, i, off))
			if !utf8.ValidString(v) {
				v = rundir.EscapeName(v)
			}
			if len(v) > math.MaxInt32 {
				panic(fmt.Sprintf("catalog: column %s: a string of %d bytes", c.Name, len(v)))
			}
			b = binary.LittleEndian.AppendUint32(b, uint32(len(v)))
			b = append(b, v...)
		}
		dst.Values = b
	case kNullInt64, kNullFloat64:
		voff, validOff := off+nullInt64Value, off+nullInt64Valid
		if c.kind == kNullFloat64 {
			voff, validOff = off+nullFloatValue, off+nullFloatValid
		}
		b := grow(dst.Values, 8*n)
		if cap(dst.Valid) < n {
			dst.Valid = make([]bool, n)
		}
		valid := dst.Valid[:n]
		k := 0
		for i := range n {
			ok := *(*bool)(at(base, size, i, validOff))
			valid[i] = ok
			if ok {
				// int64 and float64 bits alike
				binary.LittleEndian.PutUint64(b[8*k:], *(*uint64)(at(base, size, i, voff)))
				k++
			}
		}
		dst.Values, dst.Valid = b[:8*k], valid
	default:
		panic("catalog: unknown column kind")
	}
}

// field is the Parquet column a column is written as.
func (c *column) pqField() pq.Field {
	f := pq.Field{Name: c.Name, Optional: c.Nullable}
	switch c.kind {
	case kInt64, kNullInt64:
		f.Type = pq.Int64
	case kInt32:
		f.Type = pq.Int32
	case kFloat64, kNullFloat64:
		f.Type = pq.Double
	case kBool:
		f.Type = pq.Boolean
	case kString:
		f.Type, f.String = pq.ByteArray, true
	case kTime:
		f.Type, f.TimestampMicros = pq.Int64, true
	default:
		panic("catalog: unknown column kind")
	}
	return f
}

// typeName is a column's type as Parquet describes it, for errors.
func typeName(f pq.Field) string {
	switch {
	case f.TimestampMicros:
		return "TIMESTAMP(MICROS)"
	case f.String:
		return "STRING"
	}
	return f.Type.String()
}

// checkField returns an error wrapping ErrSchemaMismatch unless the
// file's column f can be read into c: the same name and physical type, a
// timestamp in microseconds exactly for time columns. A nullable file
// column may fill a required field as long as it holds no nulls (checked
// by scatter).
func (c *column) checkField(tbl string, j int, f pq.Field) error {
	if f.Name != c.Name {
		return fmt.Errorf("catalog: %s column %d is %q, want %q: %w", tbl, j, f.Name, c.Name, ErrSchemaMismatch)
	}
	want := c.pqField()
	if f.Type != want.Type || f.TimestampMicros != want.TimestampMicros {
		return fmt.Errorf("catalog: %s column %s has type %s, want %s: %w", tbl, c.Name, typeName(f), typeName(want), ErrSchemaMismatch)
	}
	return nil
}

// cursor walks one column's decoded values across the batches of a row
// group: row is the next row, val the next present value.
type cursor struct{ row, val int }

// scatter writes n rows of the decoded columns vals (from the rows at
// each cursor on) into the records at base, and advances the cursors.
// strs holds each string column's bytes as one string (shared by the
// values). It returns an error if a required column holds nulls.
func (s *schema) scatter(base unsafe.Pointer, n int, vals []pq.Values, strs []string, cur []cursor) error {
	size := s.size
	for j := range min(len(s.cols), len(vals)) {
		c := &s.cols[j]
		v := &vals[j]
		off := c.off
		r0, k := cur[j].row, cur[j].val
		valid := v.Valid
		if len(valid) > 0 {
			valid = valid[r0 : r0+n]
		} else {
			valid = nil
		}
		if valid != nil && !c.Nullable {
			nulls := 0
			for _, ok := range valid {
				if !ok {
					nulls++
				}
			}
			if nulls > 0 {
				return fmt.Errorf("catalog: required column %s holds %d nulls", c.Name, nulls)
			}
		}
		fx := v.Fixed
		switch c.kind {
		case kInt64:
			for i := range n {
				*(*int64)(at(base, size, i, off)) = int64(binary.LittleEndian.Uint64(fx[8*(k+i):]))
			}
			k += n
		case kInt32:
			for i := range n {
				*(*int32)(at(base, size, i, off)) = int32(binary.LittleEndian.Uint32(fx[4*(k+i):]))
			}
			k += n
		case kFloat64:
			for i := range n {
				*(*float64)(at(base, size, i, off)) = math.Float64frombits(binary.LittleEndian.Uint64(fx[8*(k+i):]))
			}
			k += n
		case kTime:
			for i := range n {
				*(*time.Time)(at(base, size, i, off)) = time.UnixMicro(int64(binary.LittleEndian.Uint64(fx[8*(k+i):]))).UTC()
			}
			k += n
		case kBool:
			for i := range n {
				*(*bool)(at(base, size, i, off)) = fx[k+i] != 0
			}
			k += n
		case kString:
			all := strs[j]
			o := v.Offsets
			for i := range n {
				*(*string)(at(base, size, i, off)) = all[o[k+i]:o[k+i+1]]
			}
			k += n
		case kNullInt64:
			for i := range n {
				p := (*sql.NullInt64)(at(base, size, i, off))
				if valid == nil || valid[i] {
					*p = sql.NullInt64{Int64: int64(binary.LittleEndian.Uint64(fx[8*k:])), Valid: true}
					k++
				} else {
					*p = sql.NullInt64{}
				}
			}
		case kNullFloat64:
			for i := range n {
				p := (*sql.NullFloat64)(at(base, size, i, off))
				if valid == nil || valid[i] {
					*p = sql.NullFloat64{Float64: math.Float64frombits(binary.LittleEndian.Uint64(fx[8*k:])), Valid: true}
					k++
				} else {
					*p = sql.NullFloat64{}
				}
			}
		}
		cur[j] = cursor{row: r0 + n, val: k}
	}
	return nil
}
