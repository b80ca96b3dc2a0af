package catalog

import (
	"database/sql"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"time"
)

// randomRecords fills n records of type T with values from rng, including
// the awkward ones: NaN, infinities, -0, empty and non-ASCII strings,
// nulls, and times before 1970.
func randomRecords[T any](rng *rand.Rand, n int) []T {
	rows := make([]T, n)
	for i := range rows {
		v := reflect.ValueOf(&rows[i]).Elem()
		for j := range v.NumField() {
			fillRandom(rng, v.Field(j))
		}
	}
	return rows
}

var specialFloats = []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.Copysign(0, -1), 0, math.MaxFloat64, math.SmallestNonzeroFloat64}

func randFloat(rng *rand.Rand) float64 {
	if rng.IntN(20) == 0 {
		return specialFloats[rng.IntN(len(specialFloats))]
	}
	return rng.NormFloat64() * math.Pow(10, float64(rng.IntN(10)-5))
}

func fillRandom(rng *rand.Rand, f reflect.Value) {
	switch f.Type() {
	case typeTime:
		// microsecond resolution: what the file stores
		f.Set(reflect.ValueOf(time.UnixMicro(rng.Int64N(4e15) - 1e15).UTC()))
		return
	case typeNullInt64:
		f.Set(reflect.ValueOf(sql.NullInt64{Int64: rng.Int64(), Valid: rng.IntN(3) > 0}))
		if !f.Field(1).Bool() {
			f.Field(0).SetInt(0)
		}
		return
	case typeNullFloat64:
		v := sql.NullFloat64{Float64: randFloat(rng), Valid: rng.IntN(3) > 0}
		if !v.Valid {
			v.Float64 = 0
		}
		f.Set(reflect.ValueOf(v))
		return
	}
	switch f.Kind() {
	case reflect.Int64:
		f.SetInt(rng.Int64() - math.MaxInt64/2)
	case reflect.Int32:
		f.SetInt(int64(rng.Int32()) - math.MaxInt32/2)
	case reflect.Float64:
		f.SetFloat(randFloat(rng))
	case reflect.Bool:
		f.SetBool(rng.IntN(2) == 1)
	case reflect.String:
		words := []string{"", "a", "GRB120422A-120429.fits", "ünï©ødé", "/data/rsm/beam3/band2/img_00042.fits", "x,y\"z"}
		f.SetString(words[rng.IntN(len(words))])
	}
}

// diffRecords returns a description of the first difference between a and
// b, or "" when every value is equal: floats bit for bit (NaN payloads and
// -0 included), times as instants in UTC.
func diffRecords[T any](a, b []T) string {
	if len(a) != len(b) {
		return fmt.Sprintf("%d rows, want %d", len(a), len(b))
	}
	for i := range a {
		va, vb := reflect.ValueOf(&a[i]).Elem(), reflect.ValueOf(&b[i]).Elem()
		for j := range va.NumField() {
			if d := diffValue(va.Field(j), vb.Field(j)); d != "" {
				return fmt.Sprintf("row %d field %s: %s", i, va.Type().Field(j).Name, d)
			}
		}
	}
	return ""
}

func diffValue(a, b reflect.Value) string {
	switch a.Type() {
	case typeTime:
		ta, tb := a.Interface().(time.Time), b.Interface().(time.Time)
		if !ta.Equal(tb) || ta.Location() != time.UTC {
			return fmt.Sprintf("%v, want %v (UTC)", ta, tb)
		}
		return ""
	case typeNullFloat64:
		na, nb := a.Interface().(sql.NullFloat64), b.Interface().(sql.NullFloat64)
		if na.Valid != nb.Valid || math.Float64bits(na.Float64) != math.Float64bits(nb.Float64) {
			return fmt.Sprintf("%v, want %v", na, nb)
		}
		return ""
	}
	if a.Kind() == reflect.Float64 {
		if math.Float64bits(a.Float()) != math.Float64bits(b.Float()) {
			return fmt.Sprintf("%v, want %v", a.Float(), b.Float())
		}
		return ""
	}
	if !reflect.DeepEqual(a.Interface(), b.Interface()) {
		return fmt.Sprintf("%v, want %v", a.Interface(), b.Interface())
	}
	return ""
}
