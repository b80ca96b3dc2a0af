// Package wire is the one byte encoding of what ranks exchange through
// reduce.Comm (Allgatherv, Alltoallv, Bcast) and of the small binary
// files the pipeline stages: images rows, measurements and forced fits,
// association facts, requests, background grids, bundles of staged files.
//
// # Format
//
// Everything is little endian and fixed width: Uint32 is 4 bytes; Uint64,
// Int64, Int and Float64 are 8 (a float64 travels as its IEEE 754 bits,
// so it comes back bit for bit, NaN payloads and signed zeros included);
// Uint8 and Bool are 1 byte (a Bool is 0 or 1). Lengths and counts are
// unsigned varints (Uvarint: 1 byte below 128), so that the many empty
// lists of a collective's messages cost a byte each. Bytes and String
// are a length followed by the bytes; Int64s and Float64s a count
// followed by the values; PutRows a count followed by the rows in
// encoding/binary's packed layout. There is no framing, tag or version:
// a message is read back in the order it was written.
//
// # Encoder and Decoder
//
// An Encoder appends to a byte slice (Data returns it) and cannot fail.
// A Decoder reads from one and latches the first error: a short buffer
// (ErrShort), a length that cannot fit in what remains (ErrLength) or a
// value out of its domain (ErrValue); after it every read returns the
// zero value, so a caller reads a whole message and checks Err (or Done,
// which also refuses trailing bytes) once. A Decoder never panics on
// any input, and never allocates more than its input can hold.
//
// # Aliasing
//
// Bytes returns a sub-slice of the decoder's input (capacity clipped), so
// it is valid as long as the input is; copy it to keep it past that.
// Every other read copies.
//
// The package imports nothing of gotrap's.
package wire
