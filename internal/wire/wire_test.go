package wire

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

// row is a fixed-size record like the catalogue rows that travel with
// PutRows.
type row struct {
	ID    int64
	RA    float64
	Flag  bool
	Count int32
}

// message is a sample of every kind of value, written and read in one
// order.
type message struct {
	u8   uint8
	b    bool
	u32  uint32
	u64  uint64
	i64  int64
	i    int
	f    float64
	raw  []byte
	bs   []byte
	s    string
	i64s []int64
	f64s []float64
	rows []row
}

func (m *message) encode(e *Encoder) {
	e.Uint8(m.u8)
	e.Bool(m.b)
	e.Uint32(m.u32)
	e.Uint64(m.u64)
	e.Int64(m.i64)
	e.Int(m.i)
	e.Float64(m.f)
	e.Raw(m.raw)
	e.Bytes(m.bs)
	e.String(m.s)
	e.Int64s(m.i64s)
	e.Float64s(m.f64s)
	PutRows(e, m.rows)
}

func decodeMessage(d *Decoder, nraw int) message {
	var m message
	m.u8 = d.Uint8()
	m.b = d.Bool()
	m.u32 = d.Uint32()
	m.u64 = d.Uint64()
	m.i64 = d.Int64()
	m.i = d.Int()
	m.f = d.Float64()
	m.raw = d.Raw(nraw)
	m.bs = d.Bytes()
	m.s = d.String()
	m.i64s = d.Int64s()
	m.f64s = d.Float64s()
	m.rows = Rows[row](d)
	return m
}

func randomMessage(r *rand.Rand) message {
	n := r.IntN(5)
	m := message{u8: uint8(r.Uint32()), b: r.IntN(2) == 1, u32: r.Uint32(), u64: r.Uint64(), i64: int64(r.Uint64()),
		i: int(int32(r.Uint32())), f: math.Float64frombits(r.Uint64()),
		raw: make([]byte, r.IntN(4)), bs: make([]byte, n), s: string(make([]byte, r.IntN(3))),
		i64s: make([]int64, n), f64s: make([]float64, n), rows: make([]row, r.IntN(4))}
	for i := range n {
		m.bs[i] = byte(r.Uint32())
		m.i64s[i] = int64(r.Uint64())
		m.f64s[i] = math.Float64frombits(r.Uint64()) // any bits: NaN payloads, -0, Inf
	}
	for i := range m.rows {
		m.rows[i] = row{ID: int64(r.Uint64()), RA: r.NormFloat64(), Flag: r.IntN(2) == 1, Count: int32(r.Uint32())}
	}
	return m
}

// same compares two messages bit for bit (floats by their bits, so NaN
// equals the same NaN).
func same(a, b message) bool {
	if a.u8 != b.u8 || a.b != b.b || a.u32 != b.u32 || a.u64 != b.u64 || a.i64 != b.i64 || a.i != b.i ||
		math.Float64bits(a.f) != math.Float64bits(b.f) || !bytes.Equal(a.raw, b.raw) || !bytes.Equal(a.bs, b.bs) ||
		a.s != b.s || len(a.i64s) != len(b.i64s) || len(a.f64s) != len(b.f64s) || len(a.rows) != len(b.rows) {
		return false
	}
	for i := range a.i64s {
		if a.i64s[i] != b.i64s[i] || math.Float64bits(a.f64s[i]) != math.Float64bits(b.f64s[i]) {
			return false
		}
	}
	for i := range a.rows {
		x, y := a.rows[i], b.rows[i]
		if x.ID != y.ID || math.Float64bits(x.RA) != math.Float64bits(y.RA) || x.Flag != y.Flag || x.Count != y.Count {
			return false
		}
	}
	return true
}

func TestRoundTrip(t *testing.T) {
	const seed = 15
	t.Logf("seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 1))
	for k := range 200 {
		m := randomMessage(r)
		var e Encoder
		m.encode(&e)
		d := NewDecoder(e.Data())
		got := decodeMessage(d, len(m.raw))
		if err := d.Done(); err != nil {
			t.Fatalf("message %d: %v", k, err)
		}
		if !same(got, m) {
			t.Fatalf("message %d: got %+v, want %+v", k, got, m)
		}
	}
}

// TestLayout pins the byte layout of the package doc: other ranks (other
// builds of gotrap under one mpirun) read it.
func TestLayout(t *testing.T) {
	var e Encoder
	e.Uint32(0x01020304)
	e.Int64(-2)
	e.Float64(1)
	e.Bool(true)
	e.String("ab")
	want := []byte{4, 3, 2, 1,
		0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0, 0, 0, 0, 0, 0, 0xf0, 0x3f,
		1,
		2, 'a', 'b'}
	if !bytes.Equal(e.Data(), want) {
		t.Fatalf("got % x\nwant % x", e.Data(), want)
	}
}

// TestTruncated: every prefix of a message shorter than it fails with
// ErrShort or ErrLength, and the error is latched: reads after it return
// zero values.
func TestTruncated(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 2))
	m := randomMessage(r)
	m.bs, m.rows = []byte{1, 2, 3}, []row{{ID: 1}}
	var e Encoder
	m.encode(&e)
	b := e.Data()
	for n := range len(b) {
		d := NewDecoder(b[:n])
		decodeMessage(d, len(m.raw))
		err := d.Err()
		if !errors.Is(err, ErrShort) && !errors.Is(err, ErrLength) {
			t.Fatalf("prefix of %d of %d bytes: error %v, want ErrShort or ErrLength", n, len(b), err)
		}
		if v := d.Uint64(); v != 0 || d.Err() != err {
			t.Fatalf("read after an error: %d, %v (error changed from %v)", v, d.Err(), err)
		}
	}
}

func TestCorrupt(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		read func(*Decoder)
		want error
	}{
		{"bool 2", []byte{2}, func(d *Decoder) { d.Bool() }, ErrValue},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1}, func(d *Decoder) { d.Bytes() }, ErrLength},
		{"count past end", []byte{2, 1, 2, 3, 4, 5, 6, 7, 8}, func(d *Decoder) { d.Float64s() }, ErrLength},
		{"rows past end", []byte{1, 1, 2, 3}, func(d *Decoder) { Rows[row](d) }, ErrLength},
		{"varint too long", []byte{0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01}, func(d *Decoder) { d.Uvarint() }, ErrValue},
		{"varint not shortest", []byte{0x81, 0x00}, func(d *Decoder) { d.Uvarint() }, ErrValue},
		{"varint cut", []byte{0x80}, func(d *Decoder) { d.Uvarint() }, ErrShort},
		{"trailing", []byte{1, 2}, func(d *Decoder) { d.Uint8(); d.Done() }, ErrTrailing},
		{"negative raw", []byte{1}, func(d *Decoder) { d.Raw(-1) }, ErrLength},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := NewDecoder(c.in)
			c.read(d)
			if !errors.Is(d.Err(), c.want) {
				t.Errorf("error %v, want %v", d.Err(), c.want)
			}
		})
	}
}

// TestBytesAlias: Bytes returns a sub-slice whose capacity ends at its
// length, so an append to it cannot overwrite the rest of the input.
func TestBytesAlias(t *testing.T) {
	var e Encoder
	e.Bytes([]byte{1, 2})
	e.Uint8(9)
	d := NewDecoder(e.Data())
	p := d.Bytes()
	_ = append(p, 7)
	if v := d.Uint8(); v != 9 {
		t.Errorf("the byte after Bytes is %d, want 9", v)
	}
}

// FuzzDecode: any input decodes to an error or to a message that encodes
// back to the same bytes; it never panics. The size cap keeps each case
// small (STYLE 20).
func FuzzDecode(f *testing.F) {
	r := rand.New(rand.NewPCG(15, 3))
	for range 8 {
		m := randomMessage(r)
		var e Encoder
		m.encode(&e)
		f.Add(e.Data(), uint8(len(m.raw)))
	}
	f.Add([]byte{}, uint8(0))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, uint8(3))
	f.Fuzz(func(t *testing.T, b []byte, nraw uint8) {
		if len(b) > 1<<16 {
			return
		}
		d := NewDecoder(b)
		m := decodeMessage(d, int(nraw%8))
		if d.Done() != nil {
			return
		}
		var e Encoder
		m.encode(&e)
		// Bools read back as 0 or 1, rows' bools too (binary.Decode
		// reads any non-zero byte as true): compare when no row holds
		// a bool byte other than 0 or 1.
		if !bytes.Equal(e.Data(), b) && !rowBoolsDiffer(b, m) {
			t.Fatalf("decoded %+v re-encodes to % x, want % x", m, e.Data(), b)
		}
	})
}

// rowBoolsDiffer reports whether the input's row flag bytes are not
// all 0 or 1 (then the re-encoding differs there only).
func rowBoolsDiffer(b []byte, m message) bool {
	var e Encoder
	m.encode(&e)
	if len(e.Data()) != len(b) {
		return false
	}
	rowsAt := len(b) - len(m.rows)*binarySizeRow
	for i := range m.rows {
		if v := b[rowsAt+i*binarySizeRow+16]; v > 1 {
			return true
		}
	}
	return false
}

const binarySizeRow = 8 + 8 + 1 + 4
