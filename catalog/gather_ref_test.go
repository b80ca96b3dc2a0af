package catalog

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"math"
	"reflect"
	"time"
	"unicode/utf8"

	"gotrap/catalog/internal/pq"
	"gotrap/internal/rundir"
)

// gatherRef is the plain twin of schema.gather: it reads every field with
// reflect and writes its PLAIN encoding with encoding/binary, one value at
// a time.
func gatherRef[T any](rows []T) []pq.Column {
	s := schemaOf[T]()
	out := make([]pq.Column, len(s.cols))
	for j := range s.cols {
		c := &s.cols[j]
		var b bytes.Buffer
		var bits []byte
		var valid []bool
		le := binary.LittleEndian
		for i := range rows {
			f := reflect.ValueOf(&rows[i]).Elem().Field(c.field)
			switch c.kind {
			case kInt64:
				binary.Write(&b, le, f.Int())
			case kInt32:
				binary.Write(&b, le, int32(f.Int()))
			case kFloat64:
				binary.Write(&b, le, f.Float())
			case kBool:
				if i%8 == 0 {
					bits = append(bits, 0)
				}
				if f.Bool() {
					bits[i/8] |= 1 << (i % 8)
				}
			case kString:
				v := f.String()
				if !utf8.ValidString(v) {
					v = rundir.EscapeName(v)
				}
				binary.Write(&b, le, uint32(len(v)))
				b.WriteString(v)
			case kTime:
				binary.Write(&b, le, f.Interface().(time.Time).UnixMicro())
			case kNullInt64:
				v := f.Interface().(sql.NullInt64)
				valid = append(valid, v.Valid)
				if v.Valid {
					binary.Write(&b, le, v.Int64)
				}
			case kNullFloat64:
				v := f.Interface().(sql.NullFloat64)
				valid = append(valid, v.Valid)
				if v.Valid {
					binary.Write(&b, le, math.Float64bits(v.Float64))
				}
			}
		}
		out[j].Values = b.Bytes()
		if c.kind == kBool {
			out[j].Values = bits
		}
		out[j].Valid = valid
	}
	return out
}
