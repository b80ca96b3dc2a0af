package pq

import "fmt"

// This file holds the parts of the Parquet metadata (parquet-format's
// src/main/thrift/parquet.thrift) that gotrap writes or reads, with their
// Thrift field ids. Fields not listed are skipped when read.

// Type is a Parquet physical type.
type Type int32

// Physical types.
const (
	Boolean   Type = 0
	Int32     Type = 1
	Int64     Type = 2
	Int96     Type = 3
	Float     Type = 4
	Double    Type = 5
	ByteArray Type = 6
	FixedLen  Type = 7
)

func (t Type) String() string {
	names := [...]string{"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY"}
	if t >= 0 && int(t) < len(names) {
		return names[t]
	}
	return fmt.Sprintf("type(%d)", int32(t))
}

// Encodings.
const (
	encPlain           = 0
	encPlainDictionary = 2
	encRLE             = 3
	encBitPacked       = 4
	encDeltaBinary     = 5
	encDeltaLength     = 6
	encDeltaByteArray  = 7
	encRLEDictionary   = 8
	encByteStreamSplit = 9
)

func encodingName(e int32) string {
	switch e {
	case encPlain:
		return "PLAIN"
	case encPlainDictionary:
		return "PLAIN_DICTIONARY"
	case encRLE:
		return "RLE"
	case encBitPacked:
		return "BIT_PACKED"
	case encDeltaBinary:
		return "DELTA_BINARY_PACKED"
	case encDeltaLength:
		return "DELTA_LENGTH_BYTE_ARRAY"
	case encDeltaByteArray:
		return "DELTA_BYTE_ARRAY"
	case encRLEDictionary:
		return "RLE_DICTIONARY"
	case encByteStreamSplit:
		return "BYTE_STREAM_SPLIT"
	}
	return fmt.Sprintf("encoding %d", e)
}

// Compression codecs.
const (
	codecUncompressed = 0
	codecSnappy       = 1
	codecZstd         = 6
)

func codecName(c int32) string {
	names := [...]string{"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW"}
	if c >= 0 && int(c) < len(names) {
		return names[c]
	}
	return fmt.Sprintf("codec %d", c)
}

// Page types.
const (
	pageData       = 0
	pageDictionary = 2
	pageDataV2     = 3
)

// Repetition types.
const (
	repRequired = 0
	repOptional = 1
)

// Converted types used.
const (
	convUTF8            = 0
	convTimestampMicros = 10
)

// Logical type union members used (LogicalType's field ids).
const (
	logString    = 1
	logTimestamp = 8
)

// unitMicros is TimeUnit's MICROS (its field id).
const unitMicros = 2

// schemaElement is a node of the flattened schema tree.
type schemaElement struct {
	typ         Type
	hasType     bool
	repetition  int32
	name        string
	numChildren int32
	converted   int32
	hasConv     bool
	logical     int16 // LogicalType member, 0 for none
	tsUTC       bool  // TIMESTAMP's isAdjustedToUTC
	tsUnit      int16 // TIMESTAMP's unit
}

// statistics of a column chunk; min and max are plain-encoded (byte
// arrays without their length), nil when absent.
type statistics struct {
	nullCount    int64
	hasNullCount bool
	min, max     []byte // min_value and max_value
	nanCount     int64
	hasNaNCount  bool
}

type columnMeta struct {
	typ            Type
	encodings      []int32
	path           []string
	codec          int32
	numValues      int64
	totalUncompr   int64
	totalCompr     int64
	dataPageOffset int64
	dictPageOffset int64
	hasDictPage    bool
	stats          *statistics
}

type rowGroup struct {
	columns    []columnMeta
	totalBytes int64
	numRows    int64
	fileOffset int64
	totalCompr int64
	ordinal    int16
}

// KeyValue is one entry of a file's key-value metadata.
type KeyValue struct{ Key, Value string }

type fileMeta struct {
	version   int32
	schema    []schemaElement
	numRows   int64
	rowGroups []rowGroup
	kv        []KeyValue
	createdBy string
}

type pageHeader struct {
	typ          int32
	uncompressed int32
	compressed   int32
	// DATA_PAGE, DICTIONARY_PAGE and DATA_PAGE_V2 share these:
	numValues int32
	encoding  int32
	hasHeader bool // the header matching typ was present
	// DATA_PAGE
	defEncoding int32
	repEncoding int32
	// DATA_PAGE_V2
	numNulls     int32
	numRows      int32
	defLen       int32
	repLen       int32
	isCompressed bool
}

// ---- encoding ----

func (e *enc) statistics(id int16, s *statistics) {
	saved := e.begin(id)
	if s.hasNullCount {
		e.i64(3, s.nullCount)
	}
	if s.max != nil {
		e.binary(5, s.max)
	}
	if s.min != nil {
		e.binary(6, s.min)
	}
	if s.hasNaNCount {
		e.i64(9, s.nanCount)
	}
	e.end(saved)
}

func (e *enc) schemaElement(s *schemaElement) {
	saved := e.begin(0)
	if s.hasType {
		e.i32(1, int32(s.typ))
	}
	if s.hasType { // leaves carry a repetition; the root does not
		e.i32(3, s.repetition)
	}
	e.str(4, s.name)
	if !s.hasType {
		e.i32(5, s.numChildren)
	}
	if s.hasConv {
		e.i32(6, s.converted)
	}
	if s.logical != 0 {
		lt := e.begin(10)
		member := e.begin(s.logical)
		if s.logical == logTimestamp {
			e.bool(1, s.tsUTC)
			unit := e.begin(2)
			e.end(e.begin(s.tsUnit))
			e.end(unit)
		}
		e.end(member)
		e.end(lt)
	}
	e.end(saved)
}

func (e *enc) columnChunk(c *columnMeta) {
	saved := e.begin(0)
	e.i64(2, 0) // file_offset: no metadata outside the footer
	md := e.begin(3)
	e.i32(1, int32(c.typ))
	e.list(2, tI32, len(c.encodings))
	for _, x := range c.encodings {
		e.varint(int64(x))
	}
	e.list(3, tBinary, len(c.path))
	for _, p := range c.path {
		e.uvarint(uint64(len(p)))
		e.b = append(e.b, p...)
	}
	e.i32(4, c.codec)
	e.i64(5, c.numValues)
	e.i64(6, c.totalUncompr)
	e.i64(7, c.totalCompr)
	e.i64(9, c.dataPageOffset)
	if c.stats != nil {
		e.statistics(12, c.stats)
	}
	e.end(md)
	e.end(saved)
}

func (e *enc) fileMeta(m *fileMeta) {
	saved := e.begin(0)
	e.i32(1, m.version)
	e.list(2, tStruct, len(m.schema))
	for i := range m.schema {
		e.schemaElement(&m.schema[i])
	}
	e.i64(3, m.numRows)
	e.list(4, tStruct, len(m.rowGroups))
	for i := range m.rowGroups {
		rg := &m.rowGroups[i]
		s := e.begin(0)
		e.list(1, tStruct, len(rg.columns))
		for j := range rg.columns {
			e.columnChunk(&rg.columns[j])
		}
		e.i64(2, rg.totalBytes)
		e.i64(3, rg.numRows)
		e.i64(5, rg.fileOffset)
		e.i64(6, rg.totalCompr)
		e.field(7, tI16)
		e.varint(int64(rg.ordinal))
		e.end(s)
	}
	if len(m.kv) > 0 {
		e.list(5, tStruct, len(m.kv))
		for _, kv := range m.kv {
			s := e.begin(0)
			e.str(1, kv.Key)
			e.str(2, kv.Value)
			e.end(s)
		}
	}
	e.str(6, m.createdBy)
	// column_orders: TYPE_ORDER for every leaf, which defines the order
	// of the statistics' min_value and max_value.
	leaves := len(m.schema) - 1
	e.list(7, tStruct, leaves)
	for range leaves {
		s := e.begin(0)
		e.end(e.begin(1))
		e.end(s)
	}
	e.end(saved)
}

// dataPageHeader encodes a DATA_PAGE (v1) header.
func (e *enc) dataPageHeader(uncompressed, compressed, numValues int) {
	saved := e.begin(0)
	e.i32(1, pageData)
	e.i32(2, int32(uncompressed))
	e.i32(3, int32(compressed))
	h := e.begin(5)
	e.i32(1, int32(numValues))
	e.i32(2, encPlain)
	e.i32(3, encRLE)
	e.i32(4, encRLE)
	e.end(h)
	e.end(saved)
}

// ---- decoding ----

func (d *dec) str() string { return string(d.binary()) }

func (d *dec) logicalType(s *schemaElement) {
	d.structure(func(id int16, typ byte) bool {
		if typ != tStruct {
			return false
		}
		s.logical = id
		switch id {
		case logTimestamp:
			d.structure(func(id int16, typ byte) bool {
				switch id {
				case 1:
					s.tsUTC = d.boolValue(typ)
				case 2:
					if !d.want(typ, tStruct, id) {
						return true
					}
					d.structure(func(id int16, typ byte) bool {
						s.tsUnit = id
						return false
					})
				default:
					return false
				}
				return true
			})
		default:
			return false
		}
		return true
	})
}

func (d *dec) schemaElement(s *schemaElement) {
	d.structure(func(id int16, typ byte) bool {
		switch id {
		case 1:
			if d.want(typ, tI32, id) {
				s.typ, s.hasType = Type(d.i32()), true
			}
		case 3:
			if d.want(typ, tI32, id) {
				s.repetition = d.i32()
			}
		case 4:
			if d.want(typ, tBinary, id) {
				s.name = d.str()
			}
		case 5:
			if d.want(typ, tI32, id) {
				s.numChildren = d.i32()
			}
		case 6:
			if d.want(typ, tI32, id) {
				s.converted, s.hasConv = d.i32(), true
			}
		case 10:
			if d.want(typ, tStruct, id) {
				d.logicalType(s)
			}
		default:
			return false
		}
		return true
	})
}

func (d *dec) statistics(s *statistics) {
	d.structure(func(id int16, typ byte) bool {
		switch id {
		case 3:
			if d.want(typ, tI64, id) {
				s.nullCount, s.hasNullCount = d.varint(), true
			}
		case 5:
			if d.want(typ, tBinary, id) {
				s.max = d.binary()
			}
		case 6:
			if d.want(typ, tBinary, id) {
				s.min = d.binary()
			}
		case 9:
			if d.want(typ, tI64, id) {
				s.nanCount, s.hasNaNCount = d.varint(), true
			}
		default:
			return false
		}
		return true
	})
}

func (d *dec) columnMeta(c *columnMeta) {
	d.structure(func(id int16, typ byte) bool {
		switch id {
		case 1:
			if d.want(typ, tI32, id) {
				c.typ = Type(d.i32())
			}
		case 2:
			if d.want(typ, tList, id) {
				_, n := d.list()
				for range n {
					c.encodings = append(c.encodings, d.i32())
				}
			}
		case 3:
			if d.want(typ, tList, id) {
				_, n := d.list()
				for range n {
					c.path = append(c.path, d.str())
				}
			}
		case 4:
			if d.want(typ, tI32, id) {
				c.codec = d.i32()
			}
		case 5:
			if d.want(typ, tI64, id) {
				c.numValues = d.varint()
			}
		case 6:
			if d.want(typ, tI64, id) {
				c.totalUncompr = d.varint()
			}
		case 7:
			if d.want(typ, tI64, id) {
				c.totalCompr = d.varint()
			}
		case 9:
			if d.want(typ, tI64, id) {
				c.dataPageOffset = d.varint()
			}
		case 11:
			if d.want(typ, tI64, id) {
				c.dictPageOffset, c.hasDictPage = d.varint(), true
			}
		case 12:
			if d.want(typ, tStruct, id) {
				c.stats = &statistics{}
				d.statistics(c.stats)
			}
		default:
			return false
		}
		return true
	})
}

func (d *dec) rowGroup(rg *rowGroup) {
	d.structure(func(id int16, typ byte) bool {
		switch id {
		case 1:
			if !d.want(typ, tList, id) {
				return true
			}
			_, n := d.list()
			rg.columns = make([]columnMeta, n)
			for j := range n {
				found := false
				d.structure(func(id int16, typ byte) bool {
					if id == 3 && d.want(typ, tStruct, id) {
						found = true
						d.columnMeta(&rg.columns[j])
						return true
					}
					if id == 8 || id == 9 {
						d.fail("encrypted column chunks are not supported")
					}
					return false
				})
				if !found {
					d.fail("column chunk %d has no metadata", j)
				}
			}
		case 2:
			if d.want(typ, tI64, id) {
				rg.totalBytes = d.varint()
			}
		case 3:
			if d.want(typ, tI64, id) {
				rg.numRows = d.varint()
			}
		default:
			return false
		}
		return true
	})
}

func (d *dec) fileMeta(m *fileMeta) {
	d.structure(func(id int16, typ byte) bool {
		switch id {
		case 1:
			if d.want(typ, tI32, id) {
				m.version = d.i32()
			}
		case 2:
			if !d.want(typ, tList, id) {
				return true
			}
			_, n := d.list()
			m.schema = make([]schemaElement, n)
			for i := range n {
				d.schemaElement(&m.schema[i])
			}
		case 3:
			if d.want(typ, tI64, id) {
				m.numRows = d.varint()
			}
		case 4:
			if !d.want(typ, tList, id) {
				return true
			}
			_, n := d.list()
			m.rowGroups = make([]rowGroup, n)
			for i := range n {
				d.rowGroup(&m.rowGroups[i])
			}
		case 5:
			if !d.want(typ, tList, id) {
				return true
			}
			_, n := d.list()
			m.kv = make([]KeyValue, 0, n)
			for range n {
				var kv KeyValue
				d.structure(func(id int16, typ byte) bool {
					switch {
					case id == 1 && typ == tBinary:
						kv.Key = d.str()
					case id == 2 && typ == tBinary:
						kv.Value = d.str()
					default:
						return false
					}
					return true
				})
				m.kv = append(m.kv, kv)
			}
		case 6:
			if d.want(typ, tBinary, id) {
				m.createdBy = d.str()
			}
		case 8, 9:
			d.fail("encrypted files are not supported")
		default:
			return false
		}
		return true
	})
}

func (d *dec) pageHeader(h *pageHeader) {
	d.structure(func(id int16, typ byte) bool {
		switch id {
		case 1:
			if d.want(typ, tI32, id) {
				h.typ = d.i32()
			}
		case 2:
			if d.want(typ, tI32, id) {
				h.uncompressed = d.i32()
			}
		case 3:
			if d.want(typ, tI32, id) {
				h.compressed = d.i32()
			}
		case 5: // DataPageHeader
			if !d.want(typ, tStruct, id) {
				return true
			}
			h.hasHeader = h.typ == pageData
			d.structure(func(id int16, typ byte) bool {
				if typ != tI32 {
					return false
				}
				switch id {
				case 1:
					h.numValues = d.i32()
				case 2:
					h.encoding = d.i32()
				case 3:
					h.defEncoding = d.i32()
				case 4:
					h.repEncoding = d.i32()
				default:
					return false
				}
				return true
			})
		case 7: // DictionaryPageHeader
			if !d.want(typ, tStruct, id) {
				return true
			}
			h.hasHeader = h.typ == pageDictionary
			d.structure(func(id int16, typ byte) bool {
				if typ != tI32 {
					return false
				}
				switch id {
				case 1:
					h.numValues = d.i32()
				case 2:
					h.encoding = d.i32()
				default:
					return false
				}
				return true
			})
		case 8: // DataPageHeaderV2
			if !d.want(typ, tStruct, id) {
				return true
			}
			h.hasHeader = h.typ == pageDataV2
			h.isCompressed = true
			d.structure(func(id int16, typ byte) bool {
				if id == 7 && (typ == tTrue || typ == tFalse) {
					h.isCompressed = typ == tTrue
					return true
				}
				if typ != tI32 {
					return false
				}
				switch id {
				case 1:
					h.numValues = d.i32()
				case 2:
					h.numNulls = d.i32()
				case 3:
					h.numRows = d.i32()
				case 4:
					h.encoding = d.i32()
				case 5:
					h.defLen = d.i32()
				case 6:
					h.repLen = d.i32()
				default:
					return false
				}
				return true
			})
		default:
			return false
		}
		return true
	})
}
