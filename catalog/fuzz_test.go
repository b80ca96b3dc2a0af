package catalog

import (
	"bytes"
	"database/sql"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gotrap/internal/rundir"
)

// byteSource hands out values from fuzz input, zeros once it runs out.
type byteSource struct{ b []byte }

func (s *byteSource) u64() uint64 {
	var buf [8]byte
	n := copy(buf[:], s.b)
	s.b = s.b[n:]
	return binary.LittleEndian.Uint64(buf[:])
}

func (s *byteSource) str() string {
	n := int(s.u64() % 24)
	n = min(n, len(s.b))
	v := string(s.b[:n])
	s.b = s.b[n:]
	return v
}

// fill sets every field of the record v points to from s.
func (s *byteSource) fill(v reflect.Value) {
	for j := range v.NumField() {
		f := v.Field(j)
		switch f.Type() {
		case typeTime:
			// Any microsecond count that time.Time represents.
			f.Set(reflect.ValueOf(time.UnixMicro(int64(s.u64() >> 1)).UTC()))
			continue
		case typeNullInt64:
			x := s.u64()
			f.Set(reflect.ValueOf(sql.NullInt64{Int64: int64(x >> 1), Valid: x&1 == 1}))
			if x&1 == 0 {
				f.Field(0).SetInt(0)
			}
			continue
		case typeNullFloat64:
			x := s.u64()
			v := sql.NullFloat64{Float64: math.Float64frombits(s.u64()), Valid: x&1 == 1}
			if !v.Valid {
				v.Float64 = 0
			}
			f.Set(reflect.ValueOf(v))
			continue
		}
		switch f.Kind() {
		case reflect.Int64:
			f.SetInt(int64(s.u64()))
		case reflect.Int32:
			f.SetInt(int64(int32(s.u64())))
		case reflect.Float64:
			f.SetFloat(math.Float64frombits(s.u64()))
		case reflect.Bool:
			f.SetBool(s.u64()&1 == 1)
		case reflect.String:
			f.SetString(s.str())
		}
	}
}

func fuzzRecords[T any](data []byte) []T {
	s := &byteSource{b: data}
	n := min(len(data)/32, 300) // cap the work per input
	rows := make([]T, n)
	for i := range rows {
		s.fill(reflect.ValueOf(&rows[i]).Elem())
	}
	return rows
}

// FuzzRoundTrip writes records made from the input (images cover every
// column kind but nullable floats; varmetric has those) with small row
// groups, reads them back and requires every value equal, and writes them
// again and requires identical bytes.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add(bytes.Repeat([]byte{0xff}, 64))
	f.Add([]byte("GRB120422A-120429.fits rms 0.0012 band 1 2024-01-01T00:00:00Z \x00\x01\x02 ünï©ødé NaN"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzOne[Image](t, data)
		fuzzOne[VarMetric](t, data)
	})
}

func fuzzOne[T any](t *testing.T, data []byte) {
	rows := fuzzRecords[T](data)
	write := func() []byte {
		var buf bytes.Buffer
		w, err := NewWriter[T](&buf, WithRowGroupRows(7), WithSeed(uint64(len(data))))
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(rows...); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	a := write()
	got, err := Read[T](bytes.NewReader(a))
	if err != nil {
		t.Fatal(err)
	}
	// Strings come back as valid UTF-8: escaped when they were not.
	want := make([]T, len(rows))
	copy(want, rows)
	for i := range want {
		v := reflect.ValueOf(&want[i]).Elem()
		for j := range v.NumField() {
			if f := v.Field(j); f.Kind() == reflect.String {
				f.SetString(rundir.EscapeName(f.String()))
			}
		}
	}
	if d := diffRecords(got, want); d != "" {
		t.Fatalf("%T round trip: %s", rows, d)
	}
	if b := write(); !bytes.Equal(a, b) {
		t.Fatalf("%T: the same records gave different bytes", rows)
	}
}

// FuzzRead reads arbitrary bytes as catalogue files of three tables (and
// their metadata): corrupt input gets an error that says what is wrong,
// never a panic or a runaway allocation. The seeds are whole files of
// every column kind from catalog's writer and from arrow-go's
// (testdata/arrowgo), which the fuzzer then corrupts.
func FuzzRead(f *testing.F) {
	rng := rand.New(rand.NewPCG(testSeed, 11))
	for _, n := range []int{0, 1, 20} {
		var a, b bytes.Buffer
		if err := writeAll(&a, randomRecords[Image](rng, n)); err != nil {
			f.Fatal(err)
		}
		if err := writeAll(&b, randomRecords[VarMetric](rng, n)); err != nil {
			f.Fatal(err)
		}
		f.Add(a.Bytes())
		f.Add(b.Bytes())
	}
	for _, name := range []string{"run-images.parquet", "run-varmetric.parquet", "extract.parquet"} {
		b, err := os.ReadFile(filepath.Join("testdata", "arrowgo", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(err error) {
			if err != nil && !strings.HasPrefix(err.Error(), "catalog: ") {
				t.Errorf("error without context: %v", err)
			}
		}
		_, err := Read[Image](bytes.NewReader(data))
		check(err)
		_, err = Read[VarMetric](bytes.NewReader(data))
		check(err)
		_, err = Read[Measurement](bytes.NewReader(data))
		check(err)
		_, err = ReadMetadata(bytes.NewReader(data))
		check(err)
	})
}
