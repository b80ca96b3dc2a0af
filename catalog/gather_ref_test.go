package catalog

import (
	"database/sql"
	"reflect"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// gatherRef is the plain twin of schema.gather: it reads every field with
// reflect and appends it through the typed builders, one value at a time.
func gatherRef[T any](mem memory.Allocator, rows []T) []arrow.Array {
	s := schemaOf[T]()
	out := make([]arrow.Array, len(s.cols))
	for j := range s.cols {
		c := &s.cols[j]
		b := array.NewBuilder(mem, c.arrowType())
		for i := range rows {
			f := reflect.ValueOf(&rows[i]).Elem().Field(c.field)
			switch c.kind {
			case kInt64:
				b.(*array.Int64Builder).Append(f.Int())
			case kInt32:
				b.(*array.Int32Builder).Append(int32(f.Int()))
			case kFloat64:
				b.(*array.Float64Builder).Append(f.Float())
			case kBool:
				b.(*array.BooleanBuilder).Append(f.Bool())
			case kString:
				b.(*array.StringBuilder).Append(f.String())
			case kTime:
				b.(*array.TimestampBuilder).Append(arrow.Timestamp(f.Interface().(time.Time).UnixMicro()))
			case kNullInt64:
				v := f.Interface().(sql.NullInt64)
				if v.Valid {
					b.(*array.Int64Builder).Append(v.Int64)
				} else {
					b.(*array.Int64Builder).AppendNull()
				}
			case kNullFloat64:
				v := f.Interface().(sql.NullFloat64)
				if v.Valid {
					b.(*array.Float64Builder).Append(v.Float64)
				} else {
					b.(*array.Float64Builder).AppendNull()
				}
			}
		}
		out[j] = b.NewArray()
		b.Release()
	}
	return out
}
