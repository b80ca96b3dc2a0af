//go:build ignore

// Gen writes the arrow-go fixtures of catalog's reader tests: files that
// gotrap wrote before it had a Parquet writer of its own (commit 74cc634
// and before wrote them with Apache arrow-go's pqarrow: dictionary pages
// for the strings, v1 data pages, zstd), with the records they hold as gob
// files beside them. It must run in a checkout of such a commit:
//
//	mkdir /tmp/old && git archive 74cc634 | tar -x -C /tmp/old
//	cp catalog/testdata/arrowgo/gen.go /tmp/old/catalog/testdata/arrowgo/
//	(cd /tmp/old && go run ./catalog/testdata/arrowgo/gen.go DIR)
//
// DIR is this directory (catalog/testdata/arrowgo of the newer checkout).
// The other fixtures here come from that commit's binary (make build):
//
//	bin/gotrap extract --out /tmp/x ../shared/data/GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits
//	  -> extract.parquet (STEM.parquet, measurements)
//	bin/gotrap-full run --out /tmp/r ../shared/data/GRB120422A-120429.fits \
//	    ../shared/data/GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits ../shared/data/SWIFT_554620-130504.fits
//	  -> run-images.parquet, run-varmetric.parquet (images.parquet, varmetric.parquet)
package main

import (
	"database/sql"
	"encoding/gob"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"time"

	"gotrap/catalog"
)

func main() {
	dir := os.Args[1]
	rng := rand.New(rand.NewPCG(20261207, 1))
	write(dir, "images", records[catalog.Image](rng, 160))
	write(dir, "varmetric", records[catalog.VarMetric](rng, 160))
}

func write[T any](dir, name string, rows []T) {
	if err := catalog.WriteFile(filepath.Join(dir, name+".parquet"), rows, catalog.WithRowGroupRows(32)); err != nil {
		panic(err)
	}
	f, err := os.Create(filepath.Join(dir, name+".gob"))
	if err != nil {
		panic(err)
	}
	defer f.Close()
	if err := gob.NewEncoder(f).Encode(rows); err != nil {
		panic(err)
	}
}

// records fills n records with awkward values: NaN, infinities,
// empty, repeated and non-ASCII strings, nulls, times before 1970.
func records[T any](rng *rand.Rand, n int) []T {
	rows := make([]T, n)
	words := []string{"", "a", "GRB120422A-120429.fits", "ünï©ødé", "/data/rsm/beam3/band2/img_00042.fits"}
	// No -0: gob drops fields equal to zero, so -0 would come back +0.
	floats := []float64{math.NaN(), math.Inf(1), math.Inf(-1)}
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for j := range v.NumField() {
			f := v.Field(j)
			switch f.Interface().(type) {
			case time.Time:
				f.Set(reflect.ValueOf(time.UnixMicro(rng.Int64N(4e15) - 1e15).UTC()))
			case sql.NullInt64:
				if rng.IntN(3) > 0 {
					f.Set(reflect.ValueOf(sql.NullInt64{Int64: rng.Int64(), Valid: true}))
				}
			case sql.NullFloat64:
				if rng.IntN(3) > 0 {
					f.Set(reflect.ValueOf(sql.NullFloat64{Float64: rng.NormFloat64(), Valid: true}))
				}
			case int64:
				f.SetInt(rng.Int64() - math.MaxInt64/2)
			case int32:
				f.SetInt(int64(rng.Int32()) - math.MaxInt32/2)
			case float64:
				x := rng.NormFloat64() * 1e3
				if rng.IntN(10) == 0 {
					x = floats[rng.IntN(len(floats))]
				}
				f.SetFloat(x)
			case bool:
				f.SetBool(rng.IntN(2) == 1)
			case string:
				f.SetString(words[rng.IntN(len(words))])
			}
		}
	}
	return rows
}
