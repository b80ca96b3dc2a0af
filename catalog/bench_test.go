package catalog

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"testing"
	"unsafe"
)

// BenchmarkWriteSmall writes the small per-image files of the pipeline
// and of gotrap extract: 50 measurements a file.
func BenchmarkWriteSmall(b *testing.B) {
	rows := randomRecords[Measurement](rand.New(rand.NewPCG(testSeed, 12)), 50)
	b.ReportAllocs()
	for b.Loop() {
		w, err := NewWriter[Measurement](discard{})
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(rows...); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkReadMeasurements reads a file of 2^16 measurements, per row
// group size, and a small per-image file of 50.
func BenchmarkReadMeasurements(b *testing.B) {
	for _, c := range []struct{ rows, group int }{{1 << 16, 1 << 12}, {1 << 16, 1 << 16}, {50, 1 << 16}} {
		rows := randomRecords[Measurement](rand.New(rand.NewPCG(testSeed, 13)), c.rows)
		var buf bytes.Buffer
		w, err := NewWriter[Measurement](&buf, WithRowGroupRows(c.group))
		if err != nil {
			b.Fatal(err)
		}
		if err := w.Write(rows...); err != nil {
			b.Fatal(err)
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
		data := buf.Bytes()
		b.Run("rows="+strconv.Itoa(c.rows)+"/rowgroup="+strconv.Itoa(c.group), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(rows)) * int64(unsafe.Sizeof(Measurement{})))
			for b.Loop() {
				got, err := Read[Measurement](bytes.NewReader(data))
				if err != nil || len(got) != len(rows) {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(rows))*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}
