package catalog

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"time"
)

// SchemaVersion is written to every file's key-value metadata
// (gotrap.schema_version). Bump it when a column is renamed, removed or
// changes meaning, or added (at the end of a record: Read and the DuckDB
// views still read the older files, with the new columns' zero values
// or nulls). Version 2 added measurements.deblended and .blended and the
// limits table.
const SchemaVersion = 2

// kind is the storage class of a column.
type kind uint8

const (
	kInt64 kind = iota
	kInt32
	kFloat64
	kBool
	kString
	kTime        // time.Time -> timestamp[us, UTC]
	kNullInt64   // sql.NullInt64 -> nullable int64
	kNullFloat64 // sql.NullFloat64 -> nullable double
)

var (
	typeTime        = reflect.TypeFor[time.Time]()
	typeNullInt64   = reflect.TypeFor[sql.NullInt64]()
	typeNullFloat64 = reflect.TypeFor[sql.NullFloat64]()
	nullInt64Valid  = fieldOffset(typeNullInt64, "Valid")
	nullFloatValid  = fieldOffset(typeNullFloat64, "Valid")
	nullInt64Value  = fieldOffset(typeNullInt64, "Int64")
	nullFloatValue  = fieldOffset(typeNullFloat64, "Float64")
)

func fieldOffset(t reflect.Type, name string) uintptr {
	f, ok := t.FieldByName(name)
	if !ok {
		panic("catalog: no field " + name + " in " + t.String())
	}
	return f.Offset
}

// Column describes one column of a table.
type Column struct {
	Name     string // column name in Parquet and SQL
	Unit     string // physical unit, "" for dimensionless or ids
	SQLType  string // DuckDB type: BIGINT, INTEGER, DOUBLE, BOOLEAN, VARCHAR, TIMESTAMPTZ
	Nullable bool
}

// Table describes one table of the run directory.
type Table struct {
	Name    string // file, directory and view name
	Columns []Column
}

// column is a Column with where its value lives in the Go record.
type column struct {
	Column
	kind  kind
	off   uintptr // offset of the field in the record
	field int     // index of the field in the record type
}

// schema is the reflected layout of a record type T.
type schema struct {
	typ   reflect.Type
	size  uintptr
	table string // registered table name, "" for other types
	cols  []column
	units string // JSON object column -> unit, sorted by column name
}

var (
	schemaCache sync.Map // reflect.Type -> *schema
	tableOf     = map[reflect.Type]string{
		reflect.TypeFor[Image]():       TableImages,
		reflect.TypeFor[Measurement](): TableMeasurements,
		reflect.TypeFor[Association](): TableAssociations,
		reflect.TypeFor[Runcat]():      TableRuncat,
		reflect.TypeFor[RuncatFlux]():  TableRuncatFlux,
		reflect.TypeFor[NewSource]():   TableNewSources,
		reflect.TypeFor[SkyRegion]():   TableSkyRegions,
		reflect.TypeFor[Band]():        TableBands,
		reflect.TypeFor[VarMetric]():   TableVarMetric,
		reflect.TypeFor[Limit]():       TableLimits,
		reflect.TypeFor[CircPol]():     TableCircPol,
	}
	// tableOrder is the order Tables lists them in.
	tableOrder = []reflect.Type{
		reflect.TypeFor[Image](), reflect.TypeFor[Measurement](), reflect.TypeFor[Association](),
		reflect.TypeFor[Runcat](), reflect.TypeFor[RuncatFlux](), reflect.TypeFor[NewSource](),
		reflect.TypeFor[SkyRegion](), reflect.TypeFor[Band](), reflect.TypeFor[VarMetric](),
		reflect.TypeFor[Limit](), reflect.TypeFor[CircPol](),
	}
)

// Tables returns the tables of a run directory with their columns, in a
// fixed order.
func Tables() []Table {
	out := make([]Table, 0, len(tableOrder))
	for _, t := range tableOrder {
		s := schemaFor(t)
		out = append(out, Table{Name: s.table, Columns: s.columns()})
	}
	return out
}

// Columns returns the columns of record type T in file order. It panics if
// T is not a flat struct of supported field types.
func Columns[T any]() []Column { return schemaOf[T]().columns() }

func (s *schema) columns() []Column {
	out := make([]Column, len(s.cols))
	for i, c := range s.cols {
		out[i] = c.Column
	}
	return out
}

func schemaOf[T any]() *schema { return schemaFor(reflect.TypeFor[T]()) }

// schemaFor reflects over t once and caches the result. Unsupported field
// types are programmer errors and panic.
func schemaFor(t reflect.Type) *schema {
	if s, ok := schemaCache.Load(t); ok {
		return s.(*schema)
	}
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf(errNotStruct, t))
	}
	s := &schema{typ: t, size: t.Size(), table: tableOf[t]}
	units := map[string]string{}
	seen := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("parquet")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		if seen[name] {
			panic(fmt.Sprintf(errDupColumn, name, t))
		}
		seen[name] = true
		c := column{Column: Column{Name: name, Unit: f.Tag.Get("unit")}, off: f.Offset, field: i}
		switch {
		case f.Type == typeTime:
			c.kind, c.SQLType = kTime, "TIMESTAMPTZ"
		case f.Type == typeNullInt64:
			c.kind, c.SQLType, c.Nullable = kNullInt64, "BIGINT", true
		case f.Type == typeNullFloat64:
			c.kind, c.SQLType, c.Nullable = kNullFloat64, "DOUBLE", true
		case f.Type.Kind() == reflect.Int64:
			c.kind, c.SQLType = kInt64, "BIGINT"
		case f.Type.Kind() == reflect.Int32:
			c.kind, c.SQLType = kInt32, "INTEGER"
		case f.Type.Kind() == reflect.Float64:
			c.kind, c.SQLType = kFloat64, "DOUBLE"
		case f.Type.Kind() == reflect.Bool:
			c.kind, c.SQLType = kBool, "BOOLEAN"
		case f.Type.Kind() == reflect.String:
			c.kind, c.SQLType = kString, "VARCHAR"
		default:
			panic(fmt.Sprintf(errFieldType, t, f.Name, f.Type))
		}
		if c.Unit != "" {
			units[name] = c.Unit
		}
		s.cols = append(s.cols, c)
	}
	if len(s.cols) == 0 {
		panic(fmt.Sprintf(errNoColumns, t))
	}
	b, err := json.Marshal(units) // map keys are sorted: deterministic
	if err != nil {
		panic(err)
	}
	s.units = string(b)
	got, _ := schemaCache.LoadOrStore(t, s)
	return got.(*schema)
}
