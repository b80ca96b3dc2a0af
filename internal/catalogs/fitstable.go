package catalogs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"strconv"
	"strings"

	"gotrap/internal/fitsimg"
)

// fitsMagic starts every FITS file.
var fitsMagic = []byte("SIMPLE  =")

// maxTableRows bounds the rows of a FITS table (and so the memory a
// hostile header can ask for; the data must be in the file anyway).
const maxTableRows = 1 << 26

// readFITSTable reads the first binary table extension (BINTABLE) of a
// FITS file: TTYPEn names (lower case, as readCSV's), TUNITn units and
// the values of each row as text, so the catalogue readers treat a FITS
// table as a CSV. Columns of one value of type L, B, I, J, K, E, D (with
// TSCALn/TZEROn) or A (a string) are read; a column holding several
// values (a repeat count over 1, a variable-length array) reads as ""
// in every row, so it is refused only when a reader needs it.
func readFITSTable(name string, data []byte) (*table, error) {
	h, n, err := fitsimg.ParseHeader(data)
	if err != nil {
		return nil, errFile(name, "FITS primary header: %v", err)
	}
	off := n + dataSize(h)
	if off > len(data) || off < 0 {
		return nil, errFile(name, "FITS: the primary data run past the end of the file")
	}
	for hdu := 1; ; hdu++ {
		if off >= len(data) {
			return nil, errFile(name, "FITS: no binary table (BINTABLE) extension")
		}
		h, n, err = fitsimg.ParseHeader(data[off:])
		if err != nil {
			return nil, errFile(name, "FITS extension %d header: %v", hdu, err)
		}
		if x, _ := h.String("XTENSION"); strings.TrimSpace(x) == "BINTABLE" {
			off += n
			break
		}
		size := dataSize(h)
		if size < 0 || off+n+size > len(data) || off+n+size < off {
			return nil, errFile(name, "FITS extension %d: its data run past the end of the file", hdu)
		}
		off += n + size
	}
	rowLen, _ := h.Int("NAXIS1")
	nrows, _ := h.Int("NAXIS2")
	nf, _ := h.Int("TFIELDS")
	if rowLen < 0 || nrows < 0 || nrows > maxTableRows || nf < 0 || nf > 999 || rowLen > math.MaxInt32 {
		return nil, errFile(name, "FITS table: NAXIS1 = %d, NAXIS2 = %d, TFIELDS = %d out of range", rowLen, nrows, nf)
	}
	if rowLen == 0 && nrows > 0 {
		return nil, errFile(name, "FITS table: %d rows of 0 bytes", nrows)
	}
	if int64(len(data)-off) < rowLen*nrows {
		return nil, errFile(name, "FITS table: %d rows of %d bytes run past the end of the file (truncated)", nrows, rowLen)
	}
	type col struct {
		off, width  int
		code        byte
		scalar      bool
		scale, zero float64
	}
	t := &table{name: name, units: map[string]string{}, rowWord: "row"}
	cols := make([]col, nf)
	pos := 0
	for i := range cols {
		k := strconv.Itoa(i + 1)
		tt, _ := h.String("TTYPE" + k)
		tt = strings.ToLower(strings.TrimSpace(tt))
		if tt == "" {
			tt = "col" + k
		}
		t.cols = append(t.cols, tt)
		if u, ok := h.String("TUNIT" + k); ok && strings.TrimSpace(u) != "" {
			t.units[tt] = strings.TrimSpace(u)
		}
		form, _ := h.String("TFORM" + k)
		rep, code, err := parseTForm(form)
		if err != nil {
			return nil, errFile(name, "FITS table column %d (%s): TFORM%s = %q: %v", i+1, tt, k, form, err)
		}
		w := fieldWidth(code)
		if code == 'P' || code == 'Q' {
			w, rep = map[byte]int{'P': 8, 'Q': 16}[code], 1
		}
		c := col{off: pos, width: rep * w, code: code, scalar: rep == 1 || code == 'A', scale: 1}
		if code == 'P' || code == 'Q' {
			c.scalar = false
		}
		if v, ok := h.Float("TSCAL" + k); ok {
			c.scale = v
		}
		c.zero, _ = h.Float("TZERO" + k)
		cols[i] = c
		pos += c.width
	}
	if int64(pos) != rowLen {
		return nil, errFile(name, "FITS table: the columns' TFORMs make %d bytes a row, NAXIS1 says %d", pos, rowLen)
	}
	for r := range int(nrows) {
		row := data[off+r*int(rowLen) : off+(r+1)*int(rowLen)]
		vals := make([]string, len(cols))
		for i, c := range cols {
			if !c.scalar {
				continue
			}
			vals[i] = cellText(row[c.off:c.off+c.width], c.code, c.scale, c.zero)
		}
		t.rows = append(t.rows, trow{line: r + 1, vals: vals})
	}
	return t, nil
}

// dataSize returns the padded size in bytes of the data of the HDU with
// header h (FITS 4.0 eq. 2: |BITPIX|/8 x GCOUNT x (PCOUNT + NAXIS1 x ...
// x NAXISn)), -1 when it overflows or the header is inconsistent.
func dataSize(h *fitsimg.Header) int {
	bitpix, _ := h.Int("BITPIX")
	naxis, _ := h.Int("NAXIS")
	if naxis == 0 {
		return 0
	}
	if naxis < 0 || naxis > 999 || bitpix == 0 {
		return -1
	}
	n := int64(1)
	for i := 1; i <= int(naxis); i++ {
		v, _ := h.Int("NAXIS" + strconv.Itoa(i))
		if v < 0 || (v > 0 && n > math.MaxInt32/v) {
			return -1
		}
		n *= v
	}
	pc, _ := h.Int("PCOUNT")
	gc, ok := h.Int("GCOUNT")
	if !ok {
		gc = 1
	}
	if pc < 0 || gc < 0 || pc > math.MaxInt32 || gc > 1<<10 {
		return -1
	}
	b := bitpix
	if b < 0 {
		b = -b
	}
	size := b / 8 * gc * (pc + n)
	if size < 0 || size > math.MaxInt32 {
		return -1
	}
	return int((size + fitsimg.BlockLen - 1) / fitsimg.BlockLen * fitsimg.BlockLen)
}

// parseTForm reads a binary table TFORM: a repeat count (default 1) and a
// type code.
func parseTForm(s string) (int, byte, error) {
	s = strings.TrimSpace(s)
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	rep := 1
	if i > 0 {
		n, err := strconv.Atoi(s[:i])
		if err != nil || n > 1<<20 {
			return 0, 0, fmt.Errorf("bad repeat count")
		}
		rep = n
	}
	if i >= len(s) {
		return 0, 0, fmt.Errorf("no type code")
	}
	code := s[i]
	if fieldWidth(code) == 0 && code != 'P' && code != 'Q' {
		return 0, 0, fmt.Errorf("type %q not understood", code)
	}
	return rep, code, nil
}

// fieldWidth is the size in bytes of one value of a TFORM type code (X,
// bits, counts as a byte a bit: its repeat is rounded up by the caller's
// check against NAXIS1 only when used; 0 for an unknown code).
func fieldWidth(code byte) int {
	switch code {
	case 'L', 'B', 'A':
		return 1
	case 'I':
		return 2
	case 'J', 'E':
		return 4
	case 'K', 'D', 'C':
		return 8
	case 'M':
		return 16
	}
	return 0
}

// cellText renders one scalar value as the text a CSV would hold.
func cellText(b []byte, code byte, scale, zero float64) string {
	num := func(v float64) string { return strconv.FormatFloat(v*scale+zero, 'g', -1, 64) }
	switch code {
	case 'A':
		return strings.TrimRight(string(bytes.TrimRight(b, "\x00")), " ")
	case 'L':
		switch b[0] {
		case 'T':
			return "1"
		case 'F':
			return "0"
		}
		return ""
	case 'B':
		return num(float64(b[0]))
	case 'I':
		return num(float64(int16(binary.BigEndian.Uint16(b))))
	case 'J':
		return num(float64(int32(binary.BigEndian.Uint32(b))))
	case 'K':
		return num(float64(int64(binary.BigEndian.Uint64(b))))
	case 'E':
		return num(float64(math.Float32frombits(binary.BigEndian.Uint32(b))))
	case 'D':
		return num(math.Float64frombits(binary.BigEndian.Uint64(b)))
	}
	return ""
}
