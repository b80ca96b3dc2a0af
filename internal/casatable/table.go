package casatable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// maxTableDat bounds the size of table.dat (64 MiB): the keywords and
// column descriptions of an image take a few kB.
const maxTableDat = 64 << 20

// Column is the description of one column and where it is stored.
type Column struct {
	Name     string
	Type     DataType // the element type (TpFloat for an array of floats)
	Array    bool     // an array column (image pixels, masks)
	Shape    []int    // the fixed cell shape, when the column has one
	Keywords *Record
	Manager  string // the data manager's type, e.g. "TiledCellStMan"
	Seqnr    int    // the data manager's sequence number: table.f<Seqnr>
}

// Table is an open table: its directory, row count, keywords and columns.
type Table struct {
	Dir        string
	Rows       int64
	BigEndian  bool   // the table's data format (the storage managers follow it)
	Type       string // the table type in table.info ("Image", "Paged Array"), "" without table.info
	Keywords   *Record
	PrivateKws *Record
	Columns    []Column
}

// Error names the file of a table and what is wrong with it.
type Error struct {
	File string // path of the file (table.dat, table.f0, ...)
	Err  error
}

func (e *Error) Error() string { return "casatable: " + e.File + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// IsTable reports whether dir is a directory holding a table.dat file.
func IsTable(dir string) bool {
	st, err := os.Stat(filepath.Join(dir, "table.dat"))
	return err == nil && st.Mode().IsRegular()
}

// InfoType returns the table type named by dir/table.info ("Image" for a
// CASA image), or "" when the file is absent or has no Type line.
func InfoType(dir string) string {
	f, err := os.Open(filepath.Join(dir, "table.info"))
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 4096)
	n, _ := f.Read(b)
	for _, l := range strings.Split(string(b[:n]), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "Type"); ok {
			if v, ok = strings.CutPrefix(strings.TrimSpace(v), "="); ok {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

// readFile reads a whole file of at most limit bytes.
func readFile(path string, limit int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, osErr(err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: not a regular file (%v)", ErrCorrupt, st.Mode().Type())
	}
	if st.Size() > limit {
		return nil, fmt.Errorf("%w: %d bytes, more than the %d a table header may have", ErrCorrupt, st.Size(), limit)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, osErr(err)
	}
	return b, nil
}

// osErr strips the path from an operating-system error (Error names the
// file).
func osErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read: %w", pe.Err)
	}
	return err
}

// Open reads the table description of the table in directory dir.
func Open(dir string) (*Table, error) {
	path := filepath.Join(dir, "table.dat")
	b, err := readFile(path, maxTableDat)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	t, err := parseTableDat(b)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	t.Dir = dir
	t.Type = InfoType(dir)
	return t, nil
}

// parseTableDat decodes the bytes of a table.dat file.
func parseTableDat(b []byte) (*Table, error) {
	d := &decoder{b: b}
	if m := d.u32(); d.err != nil || m != magic {
		return nil, fmt.Errorf("%w: no AipsIO magic number at the start (not a casacore table)", ErrCorrupt)
	}
	t := &Table{}
	v, end := d.object("Table")
	if d.err == nil && (v < 1 || v > 3) {
		return nil, fmt.Errorf("%w: Table version %d", ErrUnsupported, v)
	}
	if v >= 3 {
		t.Rows = int64(d.u64())
	} else {
		t.Rows = int64(d.u32())
	}
	t.BigEndian = d.u32() == 0
	d.str() // the table's type name (PlainTable)
	t.tableDesc(d)
	t.columnSet(d)
	if d.err == nil && d.off > end {
		d.fail("the table description overran its length")
	}
	if d.err != nil {
		return nil, d.err
	}
	if t.Rows < 0 {
		return nil, fmt.Errorf("%w: %d rows", ErrCorrupt, t.Rows)
	}
	return t, nil
}

// tableDesc reads the TableDesc object: keywords and column descriptions.
func (t *Table) tableDesc(d *decoder) {
	_, end := d.object("TableDesc")
	d.str() // name
	d.str() // version
	d.str() // comment
	t.Keywords = d.record("TableRecord", 0)
	t.PrivateKws = d.record("TableRecord", 0)
	n := d.count(16)
	for range n {
		if d.err != nil {
			return
		}
		t.Columns = append(t.Columns, columnDesc(d))
	}
	d.skipTo(end)
}

// columnDesc reads one column description (a BaseColumnDesc and the
// fields of its derived class).
func columnDesc(d *decoder) Column {
	var c Column
	d.u32() // version of the column description container
	class := d.str()
	if v := d.u32(); d.err == nil && v != 1 {
		d.fail("column description %q version %d", class, v)
	}
	c.Name = d.str()
	d.str() // comment
	d.str() // data manager type (the one the table was designed for)
	d.str() // data manager group
	c.Type = DataType(d.i32())
	d.i32() // options (direct, undefined, fixed shape)
	ndim := d.i32()
	c.Array = strings.HasPrefix(class, "ArrayColumnDesc")
	if ndim != 0 || c.Array {
		c.Shape = d.iposition()
	}
	d.i32() // maximum string length
	c.Keywords = d.record("TableRecord", 0)
	d.u32() // version of the derived class
	switch {
	case c.Array:
		d.u8() // (unused flag)
	case strings.HasPrefix(class, "ScalarColumnDesc"):
		if c.Type == TpString {
			d.str()
		} else if n := c.Type.size(); n > 0 {
			d.take(n) // default value
		} else {
			d.fail("scalar column %q of type %d", c.Name, c.Type)
		}
	case strings.HasPrefix(class, "ScalarRecordColumnDesc"):
		// no default value
	default:
		d.fail("column description class %q", class)
	}
	return c
}

// columnSet reads the ColumnSet: the data managers and which stores each
// column.
func (t *Table) columnSet(d *decoder) {
	v := -d.i32()
	if d.err == nil && (v < 2 || v > 3) {
		d.err = fmt.Errorf("%w: ColumnSet version %d", ErrUnsupported, v)
		return
	}
	if v >= 3 {
		d.u64() // rows
	} else {
		d.u32()
	}
	d.u32() // the next free data manager sequence number
	n := d.count(8)
	managers := map[int]string{}
	for range n {
		name := d.str()
		seq := int(d.u32())
		managers[seq] = name
	}
	for i := range t.Columns {
		if d.err != nil {
			return
		}
		c := &t.Columns[i]
		if pv := d.u32(); d.err == nil && pv < 2 {
			d.fail("PlainColumn version %d", pv)
			return
		}
		if name := d.str(); d.err == nil && name != c.Name {
			d.fail("column %d is %q in the column set but %q in the description", i, name, c.Name)
			return
		}
		d.u32() // version
		c.Seqnr = int(d.u32())
		if c.Array && d.bool() {
			c.Shape = d.iposition()
		}
		m, ok := managers[c.Seqnr]
		if d.err == nil && !ok {
			d.fail("column %q is stored by data manager %d, which the table does not have", c.Name, c.Seqnr)
		}
		c.Manager = m
	}
	// The data managers' own data follow (none for the tiled managers).
}

// Column returns the column called name.
func (t *Table) Column(name string) (*Column, bool) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], true
		}
	}
	return nil, false
}

// Subtable resolves a table reference held in one of t's records to the
// subtable's directory.
func (t *Table) Subtable(ref TableRef) string {
	name := string(ref)
	for {
		n, ok := strings.CutPrefix(name, "./")
		if !ok {
			break
		}
		name = n
	}
	if filepath.IsAbs(name) {
		return name
	}
	return filepath.Join(t.Dir, name)
}
