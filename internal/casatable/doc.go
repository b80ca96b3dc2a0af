// Package casatable reads casacore tables from disk, read-only and in pure
// Go: enough of the format for CASA images (casacore PagedImage tables)
// and their mask subtables. It knows nothing about images or sky
// coordinates; internal/fitsimg builds images from what it returns.
//
// # Format
//
// A table is a directory. table.dat holds, in casacore's AipsIO
// serialisation (big-endian, objects framed as length, type name and
// version), the number of rows, the table's keywords (a TableRecord), the
// column descriptions and the data managers that store the columns. Each
// data manager with sequence number n keeps its header in table.f<n>; the
// tiled storage managers (TiledCellStMan, TiledShapeStMan,
// TiledColumnStMan) keep the cells in hypercubes of tiles in
// table.f<n>_TSM<k>, each tile a fixed-size bucket whose values are in
// Fortran order (first axis fastest), little- or big-endian as the
// manager's header says, booleans packed eight to a byte.
//
// Open reads table.dat; Table.Keywords gives its keyword record with
// every value type records hold (scalars, strings, arrays, sub-records
// and table references); Table.Cube locates the hypercube that holds one
// row of an array column; Cube.ReadPlane reads one 2-D plane of it (the
// first two axes at fixed indices along the others) reading only the
// tiles, and within each tile only the bytes, that the plane covers.
//
// # Limits and errors
//
// Only tiled storage managers are read (images use them); a column in
// another manager (StandardStMan, IncrementalStMan, ...) is ErrUnsupported
// when its data are asked for, never before. Every size read from a file
// is checked before it is used: a string, array or record longer than the
// bytes that remain, a cube whose tiles run past the end of its TSM file,
// or shapes whose product overflows are ErrCorrupt; memory use is bounded
// by the sizes of the files. Errors name the file (table.dat, table.f0,
// table.f0_TSM0) and the problem, and wrap ErrCorrupt, ErrUnsupported or
// an operating-system error. Reading never panics, whatever the bytes (the
// fuzz tests FuzzTableDat and FuzzTSMHeader check it).
package casatable
