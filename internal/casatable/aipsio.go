package casatable

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"
)

// magic starts every AipsIO file.
const magic = 0xbebebebe

// decoder reads AipsIO values from a byte slice. AipsIO is big-endian
// (casacore's canonical format). The first error sticks: later reads
// return zero values, so a parser checks err once at its end.
type decoder struct {
	b   []byte
	off int
	err error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: at byte %d: %s", ErrCorrupt, d.off, fmt.Sprintf(format, args...))
	}
}

// take returns the next n bytes, or nil after failing when fewer remain.
func (d *decoder) take(n int) []byte {
	if d.err != nil {
		return nil
	}
	if n < 0 || n > len(d.b)-d.off {
		d.fail("%d bytes needed, %d remain", n, len(d.b)-d.off)
		return nil
	}
	p := d.b[d.off : d.off+n]
	d.off += n
	return p
}

func (d *decoder) u8() byte {
	if p := d.take(1); p != nil {
		return p[0]
	}
	return 0
}

func (d *decoder) bool() bool { return d.u8() != 0 }

func (d *decoder) u16() uint16 {
	if p := d.take(2); p != nil {
		return binary.BigEndian.Uint16(p)
	}
	return 0
}

func (d *decoder) u32() uint32 {
	if p := d.take(4); p != nil {
		return binary.BigEndian.Uint32(p)
	}
	return 0
}

func (d *decoder) i32() int32 { return int32(d.u32()) }

func (d *decoder) u64() uint64 {
	if p := d.take(8); p != nil {
		return binary.BigEndian.Uint64(p)
	}
	return 0
}

func (d *decoder) f32() float32 { return math.Float32frombits(d.u32()) }
func (d *decoder) f64() float64 { return math.Float64frombits(d.u64()) }

// count reads a uint32 count of items of at least minSize bytes each and
// checks that they can fit in what remains.
func (d *decoder) count(minSize int) int {
	n := d.u32()
	if d.err == nil && uint64(n)*uint64(max(minSize, 0)) > uint64(len(d.b)-d.off) {
		d.fail("a count of %d items does not fit in the %d bytes that remain", n, len(d.b)-d.off)
		return 0
	}
	return int(n)
}

// str reads a string: a uint32 length and the bytes.
func (d *decoder) str() string {
	n := d.count(1)
	return string(d.take(n))
}

// object reads the header of an AipsIO object (its length, type name and
// version), checks the type is want (a prefix when want ends in '<') and
// returns the version and the offset where the object ends.
func (d *decoder) object(want string) (version uint32, end int) {
	start := d.off
	n := d.u32()
	typ := d.str()
	version = d.u32()
	if d.err != nil {
		return 0, d.off
	}
	if strings.HasSuffix(want, "<") {
		if !strings.HasPrefix(typ, want) {
			d.fail("object %q where %s...> was expected", typ, want)
		}
	} else if typ != want {
		d.fail("object %q where %q was expected", typ, want)
	}
	if uint64(n) < uint64(d.off-start) || uint64(start)+uint64(n) > uint64(len(d.b)) {
		d.fail("object %q declares %d bytes, %d remain", typ, n, len(d.b)-start)
	}
	return version, start + int(n)
}

// skipTo moves to the end offset of an object, which must not be behind.
func (d *decoder) skipTo(end int) {
	if d.err != nil {
		return
	}
	if end < d.off || end > len(d.b) {
		d.fail("object overran its length (ends at %d, read to %d)", end, d.off)
		return
	}
	d.off = end
}

// iposition reads an IPosition object (a shape or index vector).
func (d *decoder) iposition() []int {
	v, end := d.object("IPosition")
	if d.err != nil {
		return nil
	}
	var size int
	switch v {
	case 1:
		size = 4
	case 2:
		size = 8
	default:
		d.fail("IPosition version %d", v)
		return nil
	}
	n := d.count(size)
	out := make([]int, n)
	for i := range out {
		var x int64
		if size == 4 {
			x = int64(d.i32())
		} else {
			x = int64(d.u64())
		}
		if x < math.MinInt32 || x > math.MaxInt32 {
			d.fail("IPosition value %d out of range", x)
			return nil
		}
		out[i] = int(x)
	}
	d.skipTo(end)
	return out
}

// block reads a Block<uInt> or Block<Int> object.
func (d *decoder) block() []int64 {
	_, end := d.object("Block")
	n := d.count(4)
	out := make([]int64, n)
	for i := range out {
		out[i] = int64(d.i32())
	}
	d.skipTo(end)
	return out
}
