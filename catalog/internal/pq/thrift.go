package pq

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file is the Thrift compact protocol (Apache Thrift's
// doc/specs/thrift-compact-protocol.md), the encoding of Parquet's page
// headers and footer: structs are sequences of fields, each a header byte
// (field id delta in the high nibble when 1..15, else a zigzag varint id
// after it; the type in the low nibble, booleans carrying their value in
// it) and a value; integers are zigzag varints, binary is a varint length
// and bytes, lists a header byte (size in the high nibble when below 15,
// else a varint after it; the element type in the low nibble), structs end
// with a zero byte.

// Compact protocol type codes.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

// enc appends compact-protocol values to b. Structs nest: begin saves the
// last field id, end restores it.
type enc struct {
	b    []byte
	last int16
}

func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.uvarint(uint64(v<<1) ^ uint64(v>>63)) }

func (e *enc) field(id int16, typ byte) {
	if d := id - e.last; d > 0 && d <= 15 {
		e.b = append(e.b, byte(d)<<4|typ)
	} else {
		e.b = append(e.b, typ)
		e.varint(int64(id))
	}
	e.last = id
}

func (e *enc) i32(id int16, v int32) { e.field(id, tI32); e.varint(int64(v)) }
func (e *enc) i64(id int16, v int64) { e.field(id, tI64); e.varint(v) }
func (e *enc) binary(id int16, v []byte) {
	e.field(id, tBinary)
	e.uvarint(uint64(len(v)))
	e.b = append(e.b, v...)
}
func (e *enc) str(id int16, v string) {
	e.field(id, tBinary)
	e.uvarint(uint64(len(v)))
	e.b = append(e.b, v...)
}

func (e *enc) bool(id int16, v bool) {
	if v {
		e.field(id, tTrue)
	} else {
		e.field(id, tFalse)
	}
}

// list writes a list field's header; the caller writes n elements.
func (e *enc) list(id int16, elem byte, n int) {
	e.field(id, tList)
	if n < 15 {
		e.b = append(e.b, byte(n)<<4|elem)
	} else {
		e.b = append(e.b, 0xf0|elem)
		e.uvarint(uint64(n))
	}
}

// begin starts a struct value (a field's, or a list element's with id 0).
func (e *enc) begin(id int16) int16 {
	if id != 0 {
		e.field(id, tStruct)
	}
	saved := e.last
	e.last = 0
	return saved
}

func (e *enc) end(saved int16) { e.b = append(e.b, tStop); e.last = saved }

// errThrift is wrapped by every decoding error: the bytes are not a
// well-formed compact-protocol struct of the expected shape.
var errThrift = errors.New("malformed thrift")

// maxDepth bounds struct nesting: Parquet's metadata nests at most 6
// levels; deeper input is corrupt (and would recurse without end).
const maxDepth = 16

// dec reads compact-protocol values from b. The first error sticks; reads
// after it return zero values.
type dec struct {
	b     []byte
	err   error
	depth int
}

func (d *dec) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{errThrift}, args...)...)
	}
	d.b = nil
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail("bad varint")
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	u := d.uvarint()
	return int64(u>>1) ^ -int64(u&1)
}

func (d *dec) i32() int32 {
	v := d.varint()
	if v < math.MinInt32 || v > math.MaxInt32 {
		d.fail("i32 out of range")
		return 0
	}
	return int32(v)
}

func (d *dec) byte1() byte {
	if len(d.b) == 0 {
		d.fail("unexpected end")
		return 0
	}
	c := d.b[0]
	d.b = d.b[1:]
	return c
}

func (d *dec) binary() []byte {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.fail("binary of %d bytes, %d left", n, len(d.b))
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[n:]
	return v
}

// field reads a field header: its id and type, or tStop at the struct's
// end. last is the previous field id of the struct.
func (d *dec) field(last *int16) (int16, byte) {
	c := d.byte1()
	if d.err != nil {
		return 0, tStop
	}
	typ := c & 0x0f
	if typ == tStop {
		return 0, tStop
	}
	id := *last + int16(c>>4)
	if c>>4 == 0 {
		v := d.varint()
		if v < math.MinInt16 || v > math.MaxInt16 {
			d.fail("field id out of range")
			return 0, tStop
		}
		id = int16(v)
	}
	*last = id
	return id, typ
}

// list reads a list header: element type and count. The count is checked
// against the bytes left (every element takes at least one byte, except
// booleans, which take one too in a list).
func (d *dec) list() (byte, int) {
	c := d.byte1()
	n := uint64(c >> 4)
	if n == 15 {
		n = d.uvarint()
	}
	if n > uint64(len(d.b)) {
		d.fail("list of %d elements, %d bytes left", n, len(d.b))
		return 0, 0
	}
	return c & 0x0f, int(n)
}

// boolValue returns a boolean field's value from its type.
func (d *dec) boolValue(typ byte) bool {
	if typ != tTrue && typ != tFalse {
		d.fail("bool field of type %d", typ)
	}
	return typ == tTrue
}

// want checks that a known field has the expected type.
func (d *dec) want(typ, expected byte, id int16) bool {
	if typ != expected {
		d.fail("field %d has type %d, want %d", id, typ, expected)
		return false
	}
	return true
}

// skip reads past a value of type typ.
func (d *dec) skip(typ byte) {
	if d.err != nil {
		return
	}
	switch typ {
	case tTrue, tFalse:
	case tByte:
		d.byte1()
	case tI16, tI32, tI64:
		d.uvarint()
	case tDouble:
		if len(d.b) < 8 {
			d.fail("unexpected end")
			return
		}
		d.b = d.b[8:]
	case tBinary:
		d.binary()
	case tList, tSet:
		elem, n := d.list()
		for range n {
			if elem == tTrue || elem == tFalse {
				d.byte1()
			} else {
				d.skip(elem)
			}
			if d.err != nil {
				return
			}
		}
	case tMap:
		n := d.uvarint()
		if n == 0 {
			return
		}
		if n > uint64(len(d.b)) {
			d.fail("map of %d entries, %d bytes left", n, len(d.b))
			return
		}
		kv := d.byte1()
		for range n {
			d.skip(kv >> 4)
			d.skip(kv & 0x0f)
			if d.err != nil {
				return
			}
		}
	case tStruct:
		d.structure(func(id int16, typ byte) bool { return false })
	default:
		d.fail("unknown type %d", typ)
	}
}

// structure reads a struct, calling fn for each field; fn returns false
// for a field it does not read, which is then skipped.
func (d *dec) structure(fn func(id int16, typ byte) bool) {
	d.depth++
	if d.depth > maxDepth {
		d.fail("structs nested deeper than %d", maxDepth)
		return
	}
	var last int16
	for d.err == nil {
		id, typ := d.field(&last)
		if typ == tStop {
			break
		}
		if !fn(id, typ) {
			d.skip(typ)
		}
	}
	d.depth--
}
