// Package pq writes and reads Parquet files with a flat schema, from the
// Parquet format specification (apache/parquet-format: parquet.thrift,
// Encodings.md) and Thrift's compact protocol: no other Parquet code.
// Package catalog maps its records to and from these columns.
//
// # Writing
//
// NewWriter writes the magic "PAR1"; WriteRowGroup writes one row group
// from each column's values in PLAIN encoding (Column), cutting each
// column chunk into v1 data pages of about 1 MiB of values, each
// compressed with zstd; Close writes the footer (FileMetaData: schema,
// row groups with per-chunk statistics, key-value metadata, created_by,
// TYPE_ORDER column orders), its length and "PAR1". The same input gives
// the same bytes.
//
// # Reading
//
// Open checks the footer (magic, lengths, a flat schema, every column
// chunk inside the file and holding its row group's rows); ReadColumn
// decodes one column chunk into Values (PLAIN bytes of the present values
// and, for nullable columns, validity). Pages may be v1 or v2; values
// PLAIN, dictionary-encoded (PLAIN_DICTIONARY, RLE_DICTIONARY), RLE
// booleans or BYTE_STREAM_SPLIT; codecs none, snappy or zstd. Anything
// else, and every malformed input, is an error wrapping ErrCorrupt that
// names the column, row group and problem; never a panic. Allocations are
// bounded by what is decoded, MaxRows rows per row group and 64 MiB per
// page.
package pq
