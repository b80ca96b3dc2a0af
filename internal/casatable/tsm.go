package casatable

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// maxManagerHeader bounds a storage manager's header file (table.f<n>).
const maxManagerHeader = 64 << 20

// maxCells bounds the number of values of one hypercube (2^40).
const maxCells = 1 << 40

// Cube is the hypercube of a tiled storage manager that holds one row of
// an array column: where its tiles are and how to decode them.
type Cube struct {
	File      string // the TSM file
	Type      DataType
	BigEndian bool
	Shape     []int // the cube's shape (the cell's axes, then a row axis for TiledShapeStMan)
	Tile      []int // the tile shape, as long as Shape
	Offset    int64 // the offset of the first tile in File
	// Row is the cell's index along the last axis of a cube that stacks
	// rows (TiledShapeStMan); -1 when the cube is the cell itself.
	Row int
}

// CellShape returns the shape of the cell: Shape without a row axis.
func (c *Cube) CellShape() []int {
	if c.Row >= 0 {
		return c.Shape[:len(c.Shape)-1]
	}
	return c.Shape
}

// elemBits is the stored size of one value in bits.
func (c *Cube) elemBits() int {
	if c.Type == TpBool {
		return 1
	}
	return 8 * c.Type.size()
}

// tileBytes is the size of one tile (bucket) in the file.
func (c *Cube) tileBytes() int64 {
	n := int64(1)
	for _, t := range c.Tile {
		n *= int64(t)
	}
	return (n*int64(c.elemBits()) + 7) / 8
}

// Cube locates the hypercube holding row of the array column name, which
// must be stored by a tiled storage manager, and checks that the TSM file
// holds all of its tiles.
func (t *Table) Cube(name string, row int64) (*Cube, error) {
	col, ok := t.Column(name)
	if !ok {
		return nil, &Error{File: filepath.Join(t.Dir, "table.dat"), Err: fmt.Errorf("%w: no column %q", ErrCorrupt, name)}
	}
	hdr := filepath.Join(t.Dir, "table.f"+strconv.Itoa(col.Seqnr))
	switch col.Manager {
	case "TiledCellStMan", "TiledShapeStMan", "TiledColumnStMan":
	default:
		return nil, &Error{File: hdr, Err: fmt.Errorf("%w: column %q is stored by %s; only the tiled storage managers are read", ErrUnsupported, name, col.Manager)}
	}
	if row < 0 || row >= t.Rows {
		return nil, &Error{File: hdr, Err: fmt.Errorf("%w: row %d of a table with %d rows", ErrCorrupt, row, t.Rows)}
	}
	b, err := readFile(hdr, maxManagerHeader)
	if err != nil {
		return nil, &Error{File: hdr, Err: err}
	}
	c, err := parseTSM(b, col.Manager, row, t.BigEndian)
	if err != nil {
		return nil, &Error{File: hdr, Err: err}
	}
	c.Type = col.Type
	switch c.Type {
	case TpBool, TpUChar, TpShort, TpInt, TpFloat, TpDouble:
	default:
		return nil, &Error{File: hdr, Err: fmt.Errorf("%w: column %q holds values of type %d (only bool, integer and real columns are read)", ErrUnsupported, name, c.Type)}
	}
	c.File = hdr + "_TSM" + strconv.Itoa(c.fileSeq)
	need := c.Offset + int64(c.tiles())*c.tileBytes()
	st, err := os.Stat(c.File)
	if err != nil {
		return nil, &Error{File: c.File, Err: osErr(err)}
	}
	if st.Size() < need {
		return nil, &Error{File: c.File, Err: fmt.Errorf("%w: the cube of shape %v in tiles of %v needs %d bytes from offset %d, the file has %d",
			ErrCorrupt, c.Shape, c.Tile, need-c.Offset, c.Offset, st.Size())}
	}
	return &c.Cube, nil
}

// cubeHeader is a Cube while it is parsed.
type cubeHeader struct {
	Cube
	fileSeq int
}

// tiles returns the number of tiles of the cube.
func (c *Cube) tiles() int64 {
	n := int64(1)
	for i := range c.Shape {
		n *= int64((c.Shape[i] + c.Tile[i] - 1) / c.Tile[i])
	}
	return n
}

// parseTSM decodes the header file of a tiled storage manager of type
// manager and returns the cube that holds row.
func parseTSM(b []byte, manager string, row int64, tableBig bool) (*cubeHeader, error) {
	d := &decoder{b: b}
	if m := d.u32(); d.err != nil || m != magic {
		return nil, fmt.Errorf("%w: no AipsIO magic number at the start", ErrCorrupt)
	}
	_, end := d.object(manager)
	if manager == "TiledCellStMan" || manager == "TiledColumnStMan" {
		d.iposition() // default tile shape
	}
	big, cubes := tiledStMan(d, tableBig)
	var rowMap, cubeMap, posMap []int64
	if manager == "TiledShapeStMan" {
		d.iposition() // default tile shape
		d.u32()       // number of used entries in the row map
		rowMap, cubeMap, posMap = d.block(), d.block(), d.block()
	}
	d.skipTo(end)
	if d.err != nil {
		return nil, d.err
	}
	var c *cubeHeader
	switch manager {
	case "TiledCellStMan":
		// One cube per row.
		if row >= int64(len(cubes)) {
			return nil, fmt.Errorf("%w: row %d has no hypercube (%d cubes)", ErrCorrupt, row, len(cubes))
		}
		c = cubes[row]
		c.Row = -1
	case "TiledColumnStMan":
		// One cube for the column, the last axis the row.
		if len(cubes) != 1 {
			return nil, fmt.Errorf("%w: TiledColumnStMan with %d cubes", ErrCorrupt, len(cubes))
		}
		c = cubes[0]
		c.Row = int(row)
	default:
		// Rows map to (cube, position along its last axis).
		if len(rowMap) != len(cubeMap) || len(rowMap) != len(posMap) {
			return nil, fmt.Errorf("%w: row maps of %d, %d and %d entries", ErrCorrupt, len(rowMap), len(cubeMap), len(posMap))
		}
		k := 0
		for k < len(rowMap) && rowMap[k] < row {
			k++
		}
		if k == len(rowMap) || cubeMap[k] < 0 || cubeMap[k] >= int64(len(cubes)) {
			return nil, fmt.Errorf("%w: row %d is not in the row map", ErrCorrupt, row)
		}
		c = cubes[cubeMap[k]]
		c.Row = int(posMap[k] - (rowMap[k] - row))
	}
	c.BigEndian = big
	if len(c.Shape) == 0 || len(c.Tile) != len(c.Shape) {
		return nil, fmt.Errorf("%w: hypercube shape %v with tile shape %v", ErrCorrupt, c.Shape, c.Tile)
	}
	cells := uint64(1)
	for i := range c.Shape {
		if c.Shape[i] <= 0 || c.Tile[i] <= 0 {
			return nil, fmt.Errorf("%w: hypercube shape %v with tile shape %v", ErrCorrupt, c.Shape, c.Tile)
		}
		cells *= uint64(c.Shape[i])
		if cells > maxCells {
			return nil, fmt.Errorf("%w: hypercube shape %v is too large", ErrCorrupt, c.Shape)
		}
	}
	if c.Row >= 0 && c.Row >= c.Shape[len(c.Shape)-1] {
		return nil, fmt.Errorf("%w: row %d at position %d of a cube of shape %v", ErrCorrupt, row, c.Row, c.Shape)
	}
	if c.fileSeq < 0 || c.Offset < 0 {
		return nil, fmt.Errorf("%w: hypercube in file %d at offset %d", ErrCorrupt, c.fileSeq, c.Offset)
	}
	return c, nil
}

// tiledStMan reads the TiledStMan object common to the tiled managers:
// the data's endianness and the hypercubes.
func tiledStMan(d *decoder, tableBig bool) (bool, []*cubeHeader) {
	v, end := d.object("TiledStMan")
	big := true
	if v >= 2 {
		big = d.bool()
	}
	if d.err == nil && big != tableBig {
		d.fail("the storage manager's endian flag (big %v) differs from the table's", big)
	}
	d.u32() // sequence number
	d.u32() // rows
	ncol := d.count(4)
	for range ncol {
		d.i32() // data type of each column
	}
	d.str() // hypercolumn name
	d.u32() // maximum cache size
	d.u32() // dimensionality
	nfile := d.count(1)
	for range nfile {
		if d.bool() {
			fv := d.u32() // TSMFile: version, sequence number, length
			d.u32()
			if fv >= 2 {
				d.u64()
			} else {
				d.u32()
			}
		}
	}
	ncube := d.count(8)
	cubes := make([]*cubeHeader, 0, ncube)
	for range ncube {
		if d.err != nil {
			return big, nil
		}
		c := &cubeHeader{}
		cv := d.u32()
		d.record("Record", 0) // the cube's coordinate values
		d.bool()              // extensible
		d.u32()               // dimensionality
		c.Shape = d.iposition()
		c.Tile = d.iposition()
		c.fileSeq = int(d.i32())
		if cv >= 2 {
			c.Offset = int64(d.u64())
		} else {
			c.Offset = int64(d.u32())
		}
		cubes = append(cubes, c)
	}
	d.skipTo(end)
	return big, cubes
}

// ReadPlane reads the 2-D plane of the cell at index idx along the cell's
// axes beyond the second (len(idx) = cell dimensions - 2) into dst (Shape[0]
// x Shape[1] values, first axis fastest), converting the values to
// float32. Boolean cubes give 1 for true and 0 for false. It reads from
// each tile that the plane crosses only the rows of the tile in the plane.
func (c *Cube) ReadPlane(dst []float32, idx []int) error {
	cell := c.CellShape()
	if len(cell) < 2 || len(idx) != len(cell)-2 {
		return &Error{File: c.File, Err: fmt.Errorf("%w: a plane of a cell of shape %v at %v", ErrCorrupt, cell, idx)}
	}
	nx, ny := cell[0], cell[1]
	if len(dst) != nx*ny {
		panic(badPlaneLen)
	}
	pos := append([]int{}, idx...)
	if c.Row >= 0 {
		pos = append(pos, c.Row)
	}
	for k, p := range pos {
		if p < 0 || p >= c.Shape[k+2] {
			return &Error{File: c.File, Err: fmt.Errorf("%w: index %v outside the cube of shape %v", ErrCorrupt, pos, c.Shape)}
		}
	}
	f, err := os.Open(c.File)
	if err != nil {
		return &Error{File: c.File, Err: osErr(err)}
	}
	defer f.Close()
	// The tile holding the plane along the higher axes, and the offset of
	// the plane's slab inside each tile.
	tileIndexHigh := int64(0) // linear index contribution of the higher axes
	stride := int64(1)
	for k := 0; k < len(c.Shape); k++ {
		n := int64((c.Shape[k] + c.Tile[k] - 1) / c.Tile[k])
		if k >= 2 {
			tileIndexHigh += int64(pos[k-2]/c.Tile[k]) * stride
		}
		stride *= n
	}
	slabInTile := int64(0) // element index of the (x, y) slab inside a tile
	es := int64(c.Tile[0]) * int64(c.Tile[1])
	for k := len(c.Shape) - 1; k >= 2; k-- {
		slabInTile = slabInTile*int64(c.Tile[k]) + int64(pos[k-2]%c.Tile[k])
	}
	slabInTile *= es
	bits := int64(c.elemBits())
	tb := c.tileBytes()
	ntx := (nx + c.Tile[0] - 1) / c.Tile[0]
	nty := (ny + c.Tile[1] - 1) / c.Tile[1]
	// The slab's bytes: for booleans, whole bytes around the bits.
	first := slabInTile * bits / 8
	last := ((slabInTile+es)*bits + 7) / 8
	buf := make([]byte, last-first)
	var order binary.ByteOrder = binary.LittleEndian
	if c.BigEndian {
		order = binary.BigEndian
	}
	for ty := range nty {
		for tx := range ntx {
			tile := tileIndexHigh + int64(tx) + int64(ty)*int64(ntx)
			off := c.Offset + tile*tb + first
			if _, err := f.ReadAt(buf, off); err != nil {
				if errors.Is(err, io.EOF) {
					err = fmt.Errorf("%w: the file ends inside tile %d", ErrCorrupt, tile)
				}
				return &Error{File: c.File, Err: err}
			}
			x0, y0 := tx*c.Tile[0], ty*c.Tile[1]
			w := min(c.Tile[0], nx-x0)
			for j := 0; j < c.Tile[1] && y0+j < ny; j++ {
				c.decodeRow(dst[(y0+j)*nx+x0:][:w], buf, int64(j*c.Tile[0]), slabInTile, order)
			}
		}
	}
	return nil
}

// decodeRow decodes len(dst) consecutive elements of a slab held in buf,
// from element e (buf starts at the byte holding element slab0 of its
// tile), dispatching on the type once per row.
func (c *Cube) decodeRow(dst []float32, buf []byte, e, slab0 int64, order binary.ByteOrder) {
	switch c.Type {
	case TpBool:
		bit := slab0%8 + e
		for i := range dst {
			b := bit + int64(i)
			dst[i] = float32(buf[b/8] >> (b % 8) & 1)
		}
	case TpUChar:
		for i, v := range buf[e : e+int64(len(dst))] {
			dst[i] = float32(v)
		}
	case TpShort:
		p := buf[2*e : 2*e+2*int64(len(dst))]
		for i := range dst {
			dst[i] = float32(int16(order.Uint16(p[2*i:])))
		}
	case TpInt:
		p := buf[4*e : 4*e+4*int64(len(dst))]
		for i := range dst {
			dst[i] = float32(int32(order.Uint32(p[4*i:])))
		}
	case TpFloat:
		p := buf[4*e : 4*e+4*int64(len(dst))]
		for i := range dst {
			dst[i] = math.Float32frombits(order.Uint32(p[4*i:]))
		}
	default: // TpDouble
		p := buf[8*e : 8*e+8*int64(len(dst))]
		for i := range dst {
			dst[i] = float32(math.Float64frombits(order.Uint64(p[8*i:])))
		}
	}
}
