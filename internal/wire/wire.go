package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Decoding errors; a Decoder's Err wraps one of them and says at which
// byte it happened.
var (
	// ErrShort reports input that ends before the value being read.
	ErrShort = errors.New("wire: short buffer")
	// ErrLength reports a length or count larger than what remains.
	ErrLength = errors.New("wire: bad length")
	// ErrValue reports a value outside its domain (a Bool not 0 or 1).
	ErrValue = errors.New("wire: bad value")
	// ErrTrailing reports bytes left after the last value (Done).
	ErrTrailing = errors.New("wire: trailing bytes")
)

var le = binary.LittleEndian

// An Encoder appends values to a byte slice. The zero Encoder is ready
// and starts from an empty slice.
type Encoder struct {
	b []byte
}

// NewEncoder returns an Encoder that appends to buf (nil: a new slice).
func NewEncoder(buf []byte) *Encoder { return &Encoder{b: buf} }

// Data returns the encoded bytes.
func (e *Encoder) Data() []byte { return e.b }

// Len returns the number of encoded bytes.
func (e *Encoder) Len() int { return len(e.b) }

// Uint8 appends v.
func (e *Encoder) Uint8(v uint8) { e.b = append(e.b, v) }

// Bool appends v as one byte, 0 or 1.
func (e *Encoder) Bool(v bool) {
	var x uint8
	if v {
		x = 1
	}
	e.b = append(e.b, x)
}

// Uint32 appends v.
func (e *Encoder) Uint32(v uint32) { e.b = le.AppendUint32(e.b, v) }

// Uint64 appends v.
func (e *Encoder) Uint64(v uint64) { e.b = le.AppendUint64(e.b, v) }

// Int64 appends v (two's complement).
func (e *Encoder) Int64(v int64) { e.b = le.AppendUint64(e.b, uint64(v)) }

// Int appends v as an Int64.
func (e *Encoder) Int(v int) { e.Int64(int64(v)) }

// Float64 appends the IEEE 754 bits of v.
func (e *Encoder) Float64(v float64) { e.b = le.AppendUint64(e.b, math.Float64bits(v)) }

// Uvarint appends v in encoding/binary's unsigned varint form (1 byte
// below 128, at most 10).
func (e *Encoder) Uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }

// Bytes appends len(v) (Uvarint) and v.
func (e *Encoder) Bytes(v []byte) {
	e.Uvarint(uint64(len(v)))
	e.b = append(e.b, v...)
}

// String appends len(v) (Uvarint) and v.
func (e *Encoder) String(v string) {
	e.Uvarint(uint64(len(v)))
	e.b = append(e.b, v...)
}

// Raw appends v as it is, with no length: the reader must know its size
// (Decoder.Raw).
func (e *Encoder) Raw(v []byte) { e.b = append(e.b, v...) }

// Int64s appends len(v) (Uvarint) and the values.
func (e *Encoder) Int64s(v []int64) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.Int64(x)
	}
}

// Float64s appends len(v) (Uvarint) and the values' bits.
func (e *Encoder) Float64s(v []float64) {
	e.Uvarint(uint64(len(v)))
	for _, x := range v {
		e.Float64(x)
	}
}

// A Decoder reads values from a byte slice and latches the first error
// (package doc).
type Decoder struct {
	b   []byte
	off int
	err error
}

// NewDecoder returns a Decoder that reads b.
func NewDecoder(b []byte) *Decoder { return &Decoder{b: b} }

// Err returns the first error, nil if every read so far succeeded.
func (d *Decoder) Err() error { return d.err }

// Done returns Err, or an error wrapping ErrTrailing when bytes remain.
func (d *Decoder) Done() error {
	if d.err == nil && len(d.b) > 0 {
		d.fail(ErrTrailing)
	}
	return d.err
}

// Remaining returns the number of bytes not yet read (0 after an error).
func (d *Decoder) Remaining() int { return len(d.b) }

// More reports whether bytes remain and no error has happened: the loop
// condition of a message that is a sequence of items.
func (d *Decoder) More() bool { return d.err == nil && len(d.b) > 0 }

func (d *Decoder) fail(err error) {
	if d.err == nil {
		d.err = fmt.Errorf("%w at byte %d", err, d.off)
	}
	d.b = nil
}

// take returns the next n bytes, or nil after an error.
func (d *Decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n > len(d.b) {
		d.fail(ErrShort)
		return nil
	}
	p := d.b[:n:n]
	d.b = d.b[n:]
	d.off += n
	return p
}

// Uint8 reads a byte.
func (d *Decoder) Uint8() uint8 {
	p := d.take(1)
	if p == nil {
		return 0
	}
	return p[0]
}

// Bool reads a Bool; a byte other than 0 and 1 is an error (ErrValue).
func (d *Decoder) Bool() bool {
	p := d.take(1)
	if p == nil {
		return false
	}
	if p[0] > 1 {
		d.off--
		d.fail(ErrValue)
		return false
	}
	return p[0] == 1
}

// Uint32 reads a Uint32.
func (d *Decoder) Uint32() uint32 {
	p := d.take(4)
	if p == nil {
		return 0
	}
	return le.Uint32(p)
}

// Uint64 reads a Uint64.
func (d *Decoder) Uint64() uint64 {
	p := d.take(8)
	if p == nil {
		return 0
	}
	return le.Uint64(p)
}

// Int64 reads an Int64.
func (d *Decoder) Int64() int64 { return int64(d.Uint64()) }

// Int reads an Int; a value that does not fit an int is an error
// (ErrValue).
func (d *Decoder) Int() int {
	v := d.Int64()
	if int64(int(v)) != v {
		d.fail(ErrValue)
		return 0
	}
	return int(v)
}

// Float64 reads a Float64, bit for bit.
func (d *Decoder) Float64() float64 { return math.Float64frombits(d.Uint64()) }

// Uvarint reads what Encoder.Uvarint wrote; a varint that is not in its
// shortest form, longer than 10 bytes or above 1<<64-1 is an error
// (ErrValue), so that every value has one encoding.
func (d *Decoder) Uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	switch {
	case n == 0:
		d.fail(ErrShort)
		return 0
	case n < 0, n > 1 && d.b[n-1] == 0:
		d.fail(ErrValue)
		return 0
	}
	d.b = d.b[n:]
	d.off += n
	return v
}

// Count reads a count (Encoder.Count, or the length of Bytes, Int64s,
// PutRows ...) of items of at least size bytes each (size > 0) and
// checks that they fit in what remains (ErrLength otherwise), so that a
// corrupt count never makes a caller allocate more than the input holds.
func (d *Decoder) Count(size int) int {
	if size <= 0 {
		panic("wire: Count of items of size <= 0")
	}
	off := d.off
	n := d.Uvarint()
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.b)/size) {
		d.off = off
		d.fail(ErrLength)
		return 0
	}
	return int(n)
}

// Bytes reads a length and that many bytes: a sub-slice of the input
// (package doc, Aliasing); nil after an error.
func (d *Decoder) Bytes() []byte {
	n := d.Count(1)
	return d.take(n)
}

// String reads a length and that many bytes as a string.
func (d *Decoder) String() string { return string(d.Bytes()) }

// Raw reads the next n bytes, written by Encoder.Raw, as a sub-slice of
// the input; nil after an error.
func (d *Decoder) Raw(n int) []byte {
	if n < 0 {
		d.fail(ErrLength)
		return nil
	}
	return d.take(n)
}

// Int64s reads what Encoder.Int64s wrote.
func (d *Decoder) Int64s() []int64 {
	n := d.Count(8)
	if d.err != nil {
		return nil
	}
	v := make([]int64, n)
	for i := range v {
		v[i] = d.Int64()
	}
	return v
}

// Float64s reads what Encoder.Float64s wrote.
func (d *Decoder) Float64s() []float64 {
	n := d.Count(8)
	if d.err != nil {
		return nil
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = d.Float64()
	}
	return v
}

// Count appends n, the number of items that follow (Uvarint), for a
// list the caller writes item by item; Decoder.Count reads it.
func (e *Encoder) Count(n int) { e.Uvarint(uint64(n)) }

// PutRows appends len(rows) (Uvarint) and the rows in encoding/binary's packed
// little-endian layout. T must be of fixed size (numbers, bools, arrays
// and structs of them; no strings, slices or pointers): another T is a
// programmer error and panics.
func PutRows[T any](e *Encoder, rows []T) {
	e.Uvarint(uint64(len(rows)))
	if len(rows) == 0 {
		return
	}
	b, err := binary.Append(e.b, le, rows)
	if err != nil {
		panic("wire: PutRows of a type that is not of fixed size: " + err.Error())
	}
	e.b = b
}

// Rows reads what PutRows wrote (a new slice; empty, not nil, for no
// rows; nil after an error).
func Rows[T any](d *Decoder) []T {
	var zero T
	sz := binary.Size(zero)
	if sz <= 0 {
		panic(fmt.Sprintf("wire: Rows of %T, which is not of fixed size", zero))
	}
	n := d.Count(sz)
	if d.err != nil {
		return nil
	}
	rows := make([]T, n)
	if n == 0 {
		return rows
	}
	p := d.take(n * sz)
	if _, err := binary.Decode(p, le, rows); err != nil {
		d.fail(ErrValue)
		return nil
	}
	return rows
}
