package casatable

import (
	"fmt"
	"math"
)

// DataType is casacore's type code (casa/Utilities/DataType.h).
type DataType int32

// The type codes records and columns use.
const (
	TpBool DataType = iota
	TpChar
	TpUChar
	TpShort
	TpUShort
	TpInt
	TpUInt
	TpFloat
	TpDouble
	TpComplex
	TpDComplex
	TpString
	TpTable
	TpArrayBool
	TpArrayChar
	TpArrayUChar
	TpArrayShort
	TpArrayUShort
	TpArrayInt
	TpArrayUInt
	TpArrayFloat
	TpArrayDouble
	TpArrayComplex
	TpArrayDComplex
	TpArrayString
	TpRecord
	TpOther
	TpQuantity
	TpArrayQuantity
	TpInt64
	TpArrayInt64
)

// isArray reports whether t is an array type, and its element type.
func (t DataType) isArray() (DataType, bool) {
	switch {
	case t >= TpArrayBool && t <= TpArrayString:
		return t - TpArrayBool, true
	case t == TpArrayInt64:
		return TpInt64, true
	}
	return 0, false
}

// size is the bytes of one stored value of a fixed-size scalar type (0 for
// strings and other variable types).
func (t DataType) size() int {
	switch t {
	case TpBool, TpChar, TpUChar:
		return 1
	case TpShort, TpUShort:
		return 2
	case TpInt, TpUInt, TpFloat:
		return 4
	case TpDouble, TpComplex, TpInt64:
		return 8
	case TpDComplex:
		return 16
	}
	return 0
}

// Array is an array value of a record: its shape (Fortran order, first
// axis fastest) and its values in that order, as []bool, []int64,
// []float64, []complex128 or []string.
type Array struct {
	Shape []int
	Data  any
}

// TableRef is a record value that refers to another table (a subtable):
// its name as stored, relative to the directory of the table that holds
// the record (casacore writes "././name").
type TableRef string

// Field is a named record value: bool, int64, float64, complex128, string,
// TableRef, *Array or *Record.
type Field struct {
	Name  string
	Value any
}

// Record is a casacore record (TableRecord or Record): named values in
// their stored order.
type Record struct {
	Fields []Field
}

// Get returns the value of field name.
func (r *Record) Get(name string) (any, bool) {
	if r == nil {
		return nil, false
	}
	for _, f := range r.Fields {
		if f.Name == name {
			return f.Value, true
		}
	}
	return nil, false
}

// Sub returns the sub-record name, or nil.
func (r *Record) Sub(name string) *Record {
	v, _ := r.Get(name)
	s, _ := v.(*Record)
	return s
}

// String returns the string field name.
func (r *Record) String(name string) (string, bool) {
	v, _ := r.Get(name)
	s, ok := v.(string)
	return s, ok
}

// Float returns the numeric scalar field name as a float64.
func (r *Record) Float(name string) (float64, bool) {
	v, _ := r.Get(name)
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	}
	return 0, false
}

// Floats returns the numeric field name (an array, or a scalar as one
// value) as float64s.
func (r *Record) Floats(name string) ([]float64, bool) {
	v, _ := r.Get(name)
	switch x := v.(type) {
	case float64:
		return []float64{x}, true
	case int64:
		return []float64{float64(x)}, true
	case *Array:
		switch d := x.Data.(type) {
		case []float64:
			return d, true
		case []int64:
			out := make([]float64, len(d))
			for i, e := range d {
				out[i] = float64(e)
			}
			return out, true
		}
	}
	return nil, false
}

// Ints returns the integer array (or scalar) field name.
func (r *Record) Ints(name string) ([]int64, bool) {
	v, _ := r.Get(name)
	switch x := v.(type) {
	case int64:
		return []int64{x}, true
	case *Array:
		d, ok := x.Data.([]int64)
		return d, ok
	}
	return nil, false
}

// Strings returns the string array (or scalar) field name.
func (r *Record) Strings(name string) ([]string, bool) {
	v, _ := r.Get(name)
	switch x := v.(type) {
	case string:
		return []string{x}, true
	case *Array:
		d, ok := x.Data.([]string)
		return d, ok
	}
	return nil, false
}

// fieldDesc is one field of a RecordDesc.
type fieldDesc struct {
	name string
	typ  DataType
}

// maxDepth bounds the nesting of records (a corrupt file could nest them
// until the stack overflows).
const maxDepth = 64

// recordDesc reads a RecordDesc object.
func (d *decoder) recordDesc(depth int) []fieldDesc {
	if depth > maxDepth {
		d.fail("records nested deeper than %d", maxDepth)
		return nil
	}
	_, end := d.object("RecordDesc")
	n := d.count(8)
	fields := make([]fieldDesc, 0, n)
	for range n {
		if d.err != nil {
			return nil
		}
		f := fieldDesc{name: d.str(), typ: DataType(d.i32())}
		switch _, arr := f.typ.isArray(); {
		case arr:
			d.iposition() // the fixed shape, if any
			d.str()       // comment
		case f.typ == TpRecord:
			d.recordDesc(depth + 1)
			d.str() // comment
		case f.typ == TpTable:
			d.str() // table description name
			d.str() // comment
		case f.typ.size() > 0 || f.typ == TpString:
			d.str() // comment
		default:
			d.fail("record field %q has type %d, which this reader does not know", f.name, f.typ)
		}
		fields = append(fields, f)
	}
	d.skipTo(end)
	return fields
}

// record reads a TableRecord or Record object (typ is its type name).
func (d *decoder) record(typ string, depth int) *Record {
	if depth > maxDepth {
		d.fail("records nested deeper than %d", maxDepth)
		return nil
	}
	_, end := d.object(typ)
	fields := d.recordDesc(depth)
	d.i32() // record type (fixed or variable)
	r := &Record{Fields: make([]Field, 0, len(fields))}
	for _, f := range fields {
		if d.err != nil {
			return nil
		}
		var v any
		switch elem, arr := f.typ.isArray(); {
		case arr:
			v = d.array(elem)
		case f.typ == TpRecord:
			v = d.record(typ, depth+1)
		case f.typ == TpTable:
			v = TableRef(d.str())
		default:
			v = d.scalar(f.typ)
		}
		r.Fields = append(r.Fields, Field{Name: f.name, Value: v})
	}
	d.skipTo(end)
	if d.err != nil {
		return nil
	}
	return r
}

// scalar reads one value of a scalar type.
func (d *decoder) scalar(t DataType) any {
	switch t {
	case TpBool:
		return d.bool()
	case TpChar:
		return int64(int8(d.u8()))
	case TpUChar:
		return int64(d.u8())
	case TpShort:
		return int64(int16(d.u16()))
	case TpUShort:
		return int64(d.u16())
	case TpInt:
		return int64(d.i32())
	case TpUInt:
		return int64(d.u32())
	case TpInt64:
		return int64(d.u64())
	case TpFloat:
		return float64(d.f32())
	case TpDouble:
		return d.f64()
	case TpComplex:
		re := d.f32()
		return complex(float64(re), float64(d.f32()))
	case TpDComplex:
		re := d.f64()
		return complex(re, d.f64())
	case TpString:
		return d.str()
	}
	d.fail("value of type %d", t)
	return nil
}

// array reads an Array<T> object with elements of type elem.
func (d *decoder) array(elem DataType) *Array {
	_, end := d.object("Array<")
	ndim := d.count(4)
	shape := make([]int, ndim)
	total := uint64(1)
	for i := range shape {
		shape[i] = int(d.u32())
		total *= uint64(shape[i])
		if total > math.MaxInt32 {
			d.fail("array shape %v is too large", shape[:i+1])
			return nil
		}
	}
	size := elem.size()
	if elem == TpString {
		size = 4
	}
	if elem == TpBool {
		size = 0 // packed bits: checked below
	}
	n := d.count(size)
	if d.err == nil && uint64(n) != total {
		d.fail("array of shape %v holds %d values", shape, n)
	}
	if d.err != nil {
		return nil
	}
	a := &Array{Shape: shape}
	switch elem {
	case TpBool:
		p := d.take((n + 7) / 8)
		if p == nil {
			return nil
		}
		v := make([]bool, n)
		for i := range v {
			v[i] = p[i/8]&(1<<(i%8)) != 0
		}
		a.Data = v
	case TpString:
		v := make([]string, n)
		for i := range v {
			v[i] = d.str()
		}
		a.Data = v
	case TpFloat, TpDouble:
		v := make([]float64, n)
		for i := range v {
			v[i] = d.scalar(elem).(float64)
		}
		a.Data = v
	case TpComplex, TpDComplex:
		v := make([]complex128, n)
		for i := range v {
			v[i], _ = d.scalar(elem).(complex128)
		}
		a.Data = v
	case TpChar, TpUChar, TpShort, TpUShort, TpInt, TpUInt, TpInt64:
		v := make([]int64, n)
		for i := range v {
			v[i], _ = d.scalar(elem).(int64)
		}
		a.Data = v
	default:
		d.fail("array of type %d", elem)
		return nil
	}
	d.skipTo(end)
	if d.err != nil {
		return nil
	}
	return a
}

// String formats a value for messages.
func (a *Array) String() string { return fmt.Sprintf("Array%v%v", a.Shape, a.Data) }
