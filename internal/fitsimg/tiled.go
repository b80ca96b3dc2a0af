package fitsimg

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"math/bits"
	"strconv"
	"strings"
	"sync"
)

// The tiled image convention (FITS 4.0 section 10): a compressed image is
// a BINTABLE extension with ZIMAGE = T after an empty primary HDU; each
// row holds one tile, its compressed bytes in the heap (column
// COMPRESSED_DATA, a P or Q array descriptor), and for quantised floats
// its ZSCALE and ZZERO.

// tiledImage is an open tile-compressed image.
type tiledImage struct {
	f        io.ReaderAt
	size     int64
	dataOff  int64 // the table's data (rows); the heap follows at heapOff
	heapOff  int64
	rowLen   int
	rows     int
	zaxes    []int // ZNAXISn
	ztile    []int // ZTILEn
	zbitpix  int
	cmp      string // ZCMPTYPE
	blocks   int    // RICE BLOCKSIZE
	bytepix  int    // RICE BYTEPIX
	quantize string // "", NO_DITHER, SUBTRACTIVE_DITHER_1, SUBTRACTIVE_DITHER_2
	dither0  int64
	cols     map[string]tcol
	zblank   int64
	hasBlank bool
	scaling  Scaling      // the image's own BSCALE/BZERO/BLANK (integer images)
	zr       *gzip.Reader // reused across tiles (Reset)
}

// tcol is a column of the tile table: its offset in a row and TFORM.
type tcol struct {
	off   int
	code  byte // B, I, J, K, E, D, P, Q
	array byte // element type of a P/Q descriptor
}

// maxTileValues bounds one tile (2^28 values).
const maxTileValues = 1 << 28

// openTiled opens the tile-compressed image in f, whose primary header of
// hdrLen bytes holds no data, and returns a FITS header for the image (the
// extension's, with the Z keywords as the standard ones) and its planes.
func openTiled(f io.ReaderAt, size int64, closeFn func() error) (*source, error) {
	ph, hdrLen, err := headerAt(f, 0, size)
	if err != nil {
		return nil, err
	}
	if n, _ := ph.Int("NAXIS"); n != 0 {
		return nil, fmt.Errorf("%w: NAXIS = %d", ErrNoImage, n)
	}
	xh, xLen, err := headerAt(f, int64(hdrLen), size)
	if err != nil {
		if int64(hdrLen) >= size {
			return nil, fmt.Errorf("%w: NAXIS = 0", ErrNoImage)
		}
		return nil, fmt.Errorf("%w: NAXIS = 0 and no readable extension follows (%v)", ErrNoImage, err)
	}
	if z, _ := xh.Bool("ZIMAGE"); !z {
		return nil, fmt.Errorf("%w: NAXIS = 0 and the first extension is not a compressed image (ZIMAGE = T)", ErrNoImage)
	}
	t := &tiledImage{f: f, size: size, dataOff: int64(hdrLen) + int64(xLen)}
	h, err := t.parse(xh)
	if err != nil {
		return nil, err
	}
	lay, err := layoutOf(h, 0, math.MaxInt64)
	if err != nil {
		return nil, err
	}
	t.scaling = lay.scaling
	return &source{h: h, lay: lay, read: t.readPlane, close: closeFn}, nil
}

// headerAt reads the header starting at off.
func headerAt(r io.ReaderAt, off, size int64) (*Header, int, error) {
	var buf []byte
	for len(buf) < MaxHeaderBytes && off+int64(len(buf)) < size {
		n := min(int64(headerChunk), size-off-int64(len(buf)))
		start := len(buf)
		buf = append(buf, make([]byte, n)...)
		k, err := r.ReadAt(buf[start:], off+int64(start))
		if k < int(n) && err != nil && err != io.EOF {
			return nil, 0, fmt.Errorf("cannot read a header: %w", err)
		}
		buf = buf[:start+k]
		if hasEnd(buf[start-start%CardLen:]) {
			break
		}
	}
	if off > 0 && !bytes.HasPrefix(buf, []byte("XTENSION")) {
		return nil, 0, fmt.Errorf("%w: no XTENSION header at byte %d", ErrBadHeader, off)
	}
	return ParseHeader(buf)
}

// zkeys are the keywords of the tile table that do not describe the image.
func zkey(k string) bool {
	switch {
	case k == "XTENSION" || k == "PCOUNT" || k == "GCOUNT" || k == "TFIELDS" || k == "THEAP" ||
		k == "NAXIS" || k == "NAXIS1" || k == "NAXIS2" || k == "BITPIX" || k == "EXTNAME" || k == "EXTEND":
		return true
	case strings.HasPrefix(k, "TTYPE") || strings.HasPrefix(k, "TFORM") || strings.HasPrefix(k, "TUNIT") ||
		strings.HasPrefix(k, "TSCAL") || strings.HasPrefix(k, "TZERO") || strings.HasPrefix(k, "TDIM") ||
		strings.HasPrefix(k, "TNULL") || strings.HasPrefix(k, "TDISP"):
		return true
	case len(k) > 1 && k[0] == 'Z':
		return true
	}
	return false
}

// parse reads the tile table's header xh and returns the image header.
func (t *tiledImage) parse(xh *Header) (*Header, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: tile-compressed image: %s", ErrBadHeader, fmt.Sprintf(format, a...))
	}
	if x, _ := xh.String("XTENSION"); strings.TrimSpace(x) != "BINTABLE" {
		return nil, bad("XTENSION = %q, not BINTABLE", x)
	}
	rowLen, ok1 := xh.Int("NAXIS1")
	rows, ok2 := xh.Int("NAXIS2")
	pcount, _ := xh.Int("PCOUNT")
	if !ok1 || !ok2 || rowLen < 0 || rows < 0 || pcount < 0 || rowLen > 1<<20 || rows > 1<<31 {
		return nil, bad("table of %d rows of %d bytes", rows, rowLen)
	}
	t.rowLen, t.rows = int(rowLen), int(rows)
	heap := rowLen * rows
	if th, ok := xh.Int("THEAP"); ok {
		heap = th
	}
	t.heapOff = t.dataOff + heap
	if end := t.dataOff + rowLen*rows + pcount; end > t.size || heap < rowLen*rows {
		return nil, fmt.Errorf("%w: the tile table needs %d bytes, the file has %d", ErrTruncated, end, t.size)
	}
	zb, ok := xh.Int("ZBITPIX")
	if !ok || bytesPerValue(int(zb)) == 0 {
		return nil, bad("ZBITPIX missing or invalid")
	}
	t.zbitpix = int(zb)
	zn, ok := xh.Int("ZNAXIS")
	if !ok || zn < 1 || zn > 999 {
		return nil, bad("ZNAXIS missing or invalid")
	}
	t.zaxes = make([]int, zn)
	t.ztile = make([]int, zn)
	for i := range t.zaxes {
		n := strconv.Itoa(i + 1)
		v, ok := xh.Int("ZNAXIS" + n)
		if !ok || v < 0 || v > math.MaxInt32 {
			return nil, bad("ZNAXIS%s missing or invalid", n)
		}
		t.zaxes[i] = int(v)
		tl, ok := xh.Int("ZTILE" + n)
		switch {
		case !ok && i == 0:
			tl = v
		case !ok:
			tl = 1
		}
		if tl < 1 || tl > max(v, 1) {
			return nil, bad("ZTILE%s = %d", n, tl)
		}
		t.ztile[i] = int(tl)
	}
	ntile := int64(1)
	for i := range t.zaxes {
		ntile *= int64(t.ztile[i])
	}
	if ntile > maxTileValues {
		return nil, bad("tiles of %v values", t.ztile)
	}
	tiles := int64(1)
	for i := range t.zaxes {
		tiles *= int64((t.zaxes[i] + t.ztile[i] - 1) / t.ztile[i])
	}
	if tiles != rows {
		return nil, bad("%d rows for %d tiles of %v in %v", rows, tiles, t.ztile, t.zaxes)
	}
	cmp, _ := xh.String("ZCMPTYPE")
	t.cmp = strings.TrimSpace(cmp)
	switch t.cmp {
	case "RICE_1", "RICE_ONE", "GZIP_1", "GZIP_2", "NOCOMPRESS":
	default:
		return nil, fmt.Errorf("%w: compression %q (read: RICE_1, GZIP_1, GZIP_2)", ErrBadCompression, t.cmp)
	}
	t.blocks, t.bytepix = 32, 4
	for i := 1; i < 1000; i++ {
		name, ok := xh.String("ZNAME" + strconv.Itoa(i))
		if !ok {
			break
		}
		v, _ := xh.Int("ZVAL" + strconv.Itoa(i))
		switch strings.TrimSpace(strings.ToUpper(name)) {
		case "BLOCKSIZE":
			t.blocks = int(v)
		case "BYTEPIX":
			t.bytepix = int(v)
		}
	}
	if t.blocks < 1 || t.blocks > 1<<16 || (t.bytepix != 1 && t.bytepix != 2 && t.bytepix != 4 && t.bytepix != 8) {
		return nil, bad("RICE block size %d, bytes per pixel %d", t.blocks, t.bytepix)
	}
	if t.cmp == "RICE_1" || t.cmp == "RICE_ONE" {
		switch {
		case t.zbitpix < 0:
			t.bytepix = 4 // quantised floats are coded as 32-bit integers
		case t.zbitpix > 0 && t.bytepix > t.zbitpix/8:
			t.bytepix = t.zbitpix / 8
		}
	}
	q, _ := xh.String("ZQUANTIZ")
	t.quantize = strings.TrimSpace(q)
	t.dither0, _ = xh.Int("ZDITHER0")
	if b, ok := xh.Int("ZBLANK"); ok {
		t.zblank, t.hasBlank = b, true
	}
	// Columns.
	nf, _ := xh.Int("TFIELDS")
	t.cols = map[string]tcol{}
	off := 0
	for i := 1; i <= int(nf) && i < 1000; i++ {
		n := strconv.Itoa(i)
		name, _ := xh.String("TTYPE" + n)
		form, _ := xh.String("TFORM" + n)
		c, width, err := parseTForm(strings.TrimSpace(form))
		if err != nil {
			return nil, bad("TFORM%s = %q: %v", n, form, err)
		}
		c.off = off
		off += width
		t.cols[strings.ToUpper(strings.TrimSpace(name))] = c
	}
	if off > t.rowLen {
		return nil, bad("columns of %d bytes in rows of %d", off, t.rowLen)
	}
	if _, ok := t.cols["COMPRESSED_DATA"]; !ok {
		return nil, bad("no COMPRESSED_DATA column")
	}
	// The image header: SIMPLE, the Z structural keywords, the rest.
	h := NewHeader()
	h.Set("SIMPLE", true, "decompressed by gotrap from a tile-compressed image")
	h.Set("BITPIX", t.zbitpix, "")
	h.Set("NAXIS", len(t.zaxes), "")
	for i, n := range t.zaxes {
		h.Set("NAXIS"+strconv.Itoa(i+1), n, "")
	}
	for _, c := range xh.cards {
		if zkey(c.Key) || c.Key == "SIMPLE" || c.Key == "END" {
			continue
		}
		if isCommentary(c.Key) || c.Key == "CONTINUE" || c.Key == "" {
			h.cards = append(h.cards, c)
			continue
		}
		h.cards = append(h.cards, c)
	}
	h.reindex()
	return h, nil
}

// parseTForm reads a binary table TFORM (rT or rPt(max)/rQt(max)) and
// returns the column and its width in bytes.
func parseTForm(s string) (tcol, int, error) {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	r := 1
	if i > 0 {
		v, err := strconv.Atoi(s[:i])
		if err != nil || v > 1<<20 {
			return tcol{}, 0, fmt.Errorf("repeat count")
		}
		r = v
	}
	if i >= len(s) {
		return tcol{}, 0, fmt.Errorf("no type")
	}
	c := tcol{code: s[i]}
	size := map[byte]int{'L': 1, 'X': 0, 'B': 1, 'I': 2, 'J': 4, 'K': 8, 'A': 1, 'E': 4, 'D': 8, 'C': 8, 'M': 16, 'P': 8, 'Q': 16}
	w, ok := size[c.code]
	if !ok {
		return tcol{}, 0, fmt.Errorf("type %q", c.code)
	}
	if c.code == 'X' {
		return c, (r + 7) / 8, nil
	}
	if c.code == 'P' || c.code == 'Q' {
		if i+1 >= len(s) {
			return tcol{}, 0, fmt.Errorf("descriptor without a type")
		}
		c.array = s[i+1]
	}
	return c, r * w, nil
}

// readPlane decodes plane of the image into dst: every tile that
// intersects the plane is decompressed and its part of the plane copied.
func (t *tiledImage) readPlane(dst []float32, plane int) error {
	// The plane's index along the axes beyond the second.
	idx := make([]int, len(t.zaxes))
	p := plane
	for k := 2; k < len(t.zaxes); k++ {
		idx[k] = p % t.zaxes[k]
		p /= t.zaxes[k]
	}
	ntiles := make([]int, len(t.zaxes))
	for k := range t.zaxes {
		ntiles[k] = (t.zaxes[k] + t.ztile[k] - 1) / t.ztile[k]
	}
	nx, ny := t.zaxes[0], t.zaxes[1]
	var vals []float64
	for ty := range ntiles[1] {
		for tx := range ntiles[0] {
			// The tile's row number (Fortran order over tiles) and shape.
			row, stride := 0, 1
			tpos := make([]int, len(t.zaxes))
			tpos[0], tpos[1] = tx, ty
			for k := 2; k < len(t.zaxes); k++ {
				tpos[k] = idx[k] / t.ztile[k]
			}
			shape := make([]int, len(t.zaxes))
			n := 1
			for k := range t.zaxes {
				row += tpos[k] * stride
				stride *= ntiles[k]
				shape[k] = min(t.ztile[k], t.zaxes[k]-tpos[k]*t.ztile[k])
				n *= shape[k]
			}
			if row >= t.rows {
				return fmt.Errorf("%w: tile %d of a table of %d rows", ErrTruncated, row, t.rows)
			}
			var err error
			if vals, err = t.tile(vals[:0], row, n); err != nil {
				return fmt.Errorf("tile %d: %w", row+1, err)
			}
			// The slab of the plane inside the tile.
			slab := 0
			for k := len(t.zaxes) - 1; k >= 2; k-- {
				slab = slab*shape[k] + (idx[k] - tpos[k]*t.ztile[k])
			}
			slab *= shape[0] * shape[1]
			x0, y0 := tx*t.ztile[0], ty*t.ztile[1]
			for j := range shape[1] {
				out := dst[(y0+j)*nx+x0:]
				in := vals[slab+j*shape[0]:]
				for i := range shape[0] {
					out[i] = float32(in[i])
				}
			}
		}
	}
	_ = ny
	return nil
}

// field returns the bytes of column c in row.
func (t *tiledImage) field(row int, c tcol, width int) ([]byte, error) {
	b := make([]byte, width)
	if _, err := t.f.ReadAt(b, t.dataOff+int64(row)*int64(t.rowLen)+int64(c.off)); err != nil {
		return nil, fmt.Errorf("%w: the tile table ends early", ErrTruncated)
	}
	return b, nil
}

// scalar reads the numeric scalar column name of row (ok false without
// the column).
func (t *tiledImage) scalar(row int, name string) (float64, bool, error) {
	c, ok := t.cols[name]
	if !ok {
		return 0, false, nil
	}
	switch c.code {
	case 'D':
		b, err := t.field(row, c, 8)
		return math.Float64frombits(binary.BigEndian.Uint64(b)), err == nil, err
	case 'E':
		b, err := t.field(row, c, 4)
		return float64(math.Float32frombits(binary.BigEndian.Uint32(b))), err == nil, err
	case 'J':
		b, err := t.field(row, c, 4)
		return float64(int32(binary.BigEndian.Uint32(b))), err == nil, err
	case 'K':
		b, err := t.field(row, c, 8)
		return float64(int64(binary.BigEndian.Uint64(b))), err == nil, err
	}
	return 0, false, fmt.Errorf("%w: column %s of type %c", ErrBadHeader, name, c.code)
}

// heapBytes returns the heap bytes of the descriptor column name in row
// (nil when the column is absent or the array empty).
func (t *tiledImage) heapBytes(row int, name string) ([]byte, byte, error) {
	c, ok := t.cols[name]
	if !ok || (c.code != 'P' && c.code != 'Q') {
		return nil, 0, nil
	}
	var n, off int64
	if c.code == 'P' {
		b, err := t.field(row, c, 8)
		if err != nil {
			return nil, 0, err
		}
		n, off = int64(binary.BigEndian.Uint32(b)), int64(binary.BigEndian.Uint32(b[4:]))
	} else {
		b, err := t.field(row, c, 16)
		if err != nil {
			return nil, 0, err
		}
		n, off = int64(binary.BigEndian.Uint64(b)), int64(binary.BigEndian.Uint64(b[8:]))
	}
	es := map[byte]int64{'B': 1, 'I': 2, 'J': 4, 'K': 8, 'E': 4, 'D': 8}[c.array]
	if es == 0 {
		return nil, 0, fmt.Errorf("%w: column %s holds arrays of type %c", ErrBadHeader, name, c.array)
	}
	if n < 0 || off < 0 || n > t.size || t.heapOff+off+n*es > t.size {
		return nil, 0, fmt.Errorf("%w: the tile's %d bytes at heap offset %d pass the end of the file", ErrTruncated, n*es, off)
	}
	b := make([]byte, n*es)
	if _, err := t.f.ReadAt(b, t.heapOff+off); err != nil && len(b) > 0 {
		return nil, 0, fmt.Errorf("%w: the heap ends early", ErrTruncated)
	}
	return b, c.array, nil
}

// tile decompresses tile row (n values) and appends its physical values.
func (t *tiledImage) tile(out []float64, row, n int) ([]float64, error) {
	raw, _, err := t.heapBytes(row, "COMPRESSED_DATA")
	if err != nil {
		return nil, err
	}
	if len(raw) == 0 {
		// A tile that could not be compressed (or quantised) is stored
		// losslessly in GZIP_COMPRESSED_DATA or UNCOMPRESSED_DATA.
		if g, _, err := t.heapBytes(row, "GZIP_COMPRESSED_DATA"); err != nil {
			return nil, err
		} else if len(g) > 0 {
			b, err := t.gunzip(g, n*bytesPerValue(t.zbitpix))
			if err != nil {
				return nil, err
			}
			return t.rawValues(out, b, n)
		}
		u, typ, err := t.heapBytes(row, "UNCOMPRESSED_DATA")
		if err != nil {
			return nil, err
		}
		if len(u) == 0 || int(map[byte]int{'B': 1, 'I': 2, 'J': 4, 'K': 8, 'E': 4, 'D': 8}[typ])*n != len(u) {
			return nil, fmt.Errorf("%w: no data for the tile", ErrBadCompression)
		}
		return t.rawValues(out, u, n)
	}
	quantised := t.zbitpix < 0 && t.quantize != "NONE"
	if _, ok := t.cols["ZSCALE"]; t.zbitpix < 0 && !ok {
		quantised = false
	}
	ints := make([]int64, n)
	isize := bytesPerValue(t.zbitpix)
	if quantised {
		isize = 4
	}
	switch t.cmp {
	case "RICE_1", "RICE_ONE":
		if err := riceDecode(ints, raw, t.blocks, t.bytepix); err != nil {
			return nil, err
		}
	case "GZIP_1", "GZIP_2":
		b, err := t.gunzip(raw, n*isize)
		if err != nil {
			return nil, err
		}
		if t.cmp == "GZIP_2" {
			b = unshuffle(b, isize)
		}
		if !quantised && t.zbitpix < 0 {
			return t.rawValues(out, b, n)
		}
		for i := range ints {
			ints[i] = beInt(b[i*isize:], isize)
		}
	case "NOCOMPRESS":
		if len(raw) != n*isize {
			return nil, fmt.Errorf("%w: an uncompressed tile of %d bytes, want %d", ErrBadCompression, len(raw), n*isize)
		}
		if !quantised && t.zbitpix < 0 {
			return t.rawValues(out, raw, n)
		}
		for i := range ints {
			ints[i] = beInt(raw[i*isize:], isize)
		}
	}
	if !quantised {
		s := t.scaling
		for _, v := range ints {
			if s.HasBlank && v == s.Blank {
				out = append(out, math.NaN())
			} else {
				out = append(out, s.BZero+s.BScale*float64(v))
			}
		}
		return out, nil
	}
	scale, _, err := t.scalar(row, "ZSCALE")
	if err != nil {
		return nil, err
	}
	zero, _, err := t.scalar(row, "ZZERO")
	if err != nil {
		return nil, err
	}
	blank, hasBlank := t.zblank, t.hasBlank
	if b, ok, err := t.scalar(row, "ZBLANK"); err != nil {
		return nil, err
	} else if ok {
		blank, hasBlank = int64(b), true
	}
	return t.unquantise(out, ints, row, scale, zero, blank, hasBlank), nil
}

// rawValues appends n big-endian values of ZBITPIX from b.
func (t *tiledImage) rawValues(out []float64, b []byte, n int) ([]float64, error) {
	nb := bytesPerValue(t.zbitpix)
	if len(b) != n*nb {
		return nil, fmt.Errorf("%w: a tile of %d bytes, want %d", ErrBadCompression, len(b), n*nb)
	}
	v := make([]float32, n)
	DecodeTo(v, b, t.scaling)
	for _, x := range v {
		out = append(out, float64(x))
	}
	return out, nil
}

// zeroValue codes an exact 0.0 with SUBTRACTIVE_DITHER_2.
const zeroValue = -2147483646

// unquantise turns the quantised integers of tile row into floats (FITS
// 4.0 section 10.2): F = (I - R + 0.5) * ZSCALE + ZZERO with the dither
// sequence R of the tile, F = I * ZSCALE + ZZERO without dithering; the
// null value gives NaN, and with SUBTRACTIVE_DITHER_2 zeroValue gives 0.
func (t *tiledImage) unquantise(out []float64, ints []int64, row int, scale, zero float64, blank int64, hasBlank bool) []float64 {
	dither := t.quantize == "SUBTRACTIVE_DITHER_1" || t.quantize == "SUBTRACTIVE_DITHER_2"
	var iseed, next int
	var rv *[randCount]float32
	if dither {
		rv = randValues()
		iseed = int((int64(row) + t.dither0 - 1) % randCount)
		if iseed < 0 {
			iseed += randCount
		}
		next = int(rv[iseed] * 500)
	}
	for _, v := range ints {
		switch {
		case hasBlank && v == blank:
			out = append(out, math.NaN())
		case t.quantize == "SUBTRACTIVE_DITHER_2" && v == zeroValue:
			out = append(out, 0)
		case dither:
			out = append(out, float64(float32((float64(v)-float64(rv[next])+0.5)*scale+zero)))
		default:
			out = append(out, float64(float32(float64(v)*scale+zero)))
		}
		if dither {
			next++
			if next == randCount {
				iseed = (iseed + 1) % randCount
				next = int(rv[iseed] * 500)
			}
		}
	}
	return out
}

// randCount is the length of the dither sequence.
const randCount = 10000

// randValues returns the dither sequence of FITS 4.0 section 10.2.2:
// the Park-Miller generator (a = 16807, m = 2^31 - 1, seed 1), each
// value seed/m stored as a 32-bit float, as the reference implementation
// keeps it. It is computed on first use, not at start-up: most runs read
// no dithered image, and a 40 KB table filled by every process's
// initialisers costs ten page faults (docs/performance.md "Session 9").
var randValues = sync.OnceValue(func() *[randCount]float32 {
	r := new([randCount]float32)
	const a, m = 16807.0, 2147483647.0
	seed := 1.0
	for i := range r {
		tmp := a * seed
		seed = tmp - m*math.Floor(tmp/m)
		r[i] = float32(seed / m)
	}
	return r
})

// beInt reads a big-endian signed integer of n bytes.
func beInt(b []byte, n int) int64 {
	switch n {
	case 1:
		return int64(b[0]) // BITPIX 8 is unsigned
	case 2:
		return int64(int16(binary.BigEndian.Uint16(b)))
	case 4:
		return int64(int32(binary.BigEndian.Uint32(b)))
	default:
		return int64(binary.BigEndian.Uint64(b))
	}
}

// gunzip decompresses a gzip stream that must hold exactly want bytes.
func (t *tiledImage) gunzip(b []byte, want int) ([]byte, error) {
	var err error
	if t.zr == nil {
		t.zr, err = gzip.NewReader(bytes.NewReader(b))
	} else {
		err = t.zr.Reset(bytes.NewReader(b))
	}
	if err != nil {
		t.zr = nil
		return nil, fmt.Errorf("%w: gzip: %v", ErrBadCompression, err)
	}
	zr := t.zr
	out := make([]byte, want)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("%w: the tile decompresses to fewer than %d bytes (%v)", ErrBadCompression, want, err)
	}
	// Reading to the end checks the stream's CRC.
	if n, err := zr.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		if err == nil || err == io.EOF {
			return nil, fmt.Errorf("%w: the tile decompresses to more than %d bytes", ErrBadCompression, want)
		}
		return nil, fmt.Errorf("%w: gzip: %v", ErrBadCompression, err)
	}
	return out, nil
}

// unshuffle undoes GZIP_2's byte shuffling: the first bytes of every
// value, then the second bytes, and so on.
func unshuffle(b []byte, size int) []byte {
	n := len(b) / size
	out := make([]byte, len(b))
	for k := range size {
		for i := range n {
			out[i*size+k] = b[k*n+i]
		}
	}
	return out
}

// riceDecode decodes Rice-compressed values (FITS 4.0 section 10.4.1;
// White et al.): the first value raw, then blocks of nblock differences,
// each block a code of fsbits bits (the number of low bits, minus one)
// followed by the differences, each as a unary high part and fs low bits
// (or raw, or all zero for the two special codes). The differences are
// zig-zag mapped. bytepix is 1, 2 or 4.
func riceDecode(out []int64, in []byte, nblock, bytepix int) error {
	var fsbits, fsmax, bbits int
	switch bytepix {
	case 1:
		fsbits, fsmax, bbits = 3, 6, 8
	case 2:
		fsbits, fsmax, bbits = 4, 14, 16
	case 4:
		fsbits, fsmax, bbits = 5, 25, 32
	default:
		return fmt.Errorf("%w: RICE with %d bytes per pixel", ErrBadCompression, bytepix)
	}
	br := bitReader{b: in}
	last := uint32(br.read(bbits))
	mask := uint32(1<<bbits - 1)
	if bbits == 32 {
		mask = math.MaxUint32
	}
	for i := 0; i < len(out); {
		fs := int(br.read(fsbits)) - 1
		end := min(i+nblock, len(out))
		switch {
		case fs < 0:
			for ; i < end; i++ {
				out[i] = signed(last, bbits)
			}
		case fs == fsmax:
			for ; i < end; i++ {
				d := uint32(br.read(bbits))
				last = (last + unzig(d)) & mask
				out[i] = signed(last, bbits)
			}
		default:
			for ; i < end; i++ {
				z := br.zeros()
				d := uint32(z)<<fs | uint32(br.read(fs))
				last = (last + unzig(d)) & mask
				out[i] = signed(last, bbits)
			}
		}
		if br.err {
			return fmt.Errorf("%w: the RICE data end before %d values", ErrBadCompression, len(out))
		}
	}
	return nil
}

// unzig undoes the zig-zag mapping of a difference.
func unzig(d uint32) uint32 {
	if d&1 == 0 {
		return d >> 1
	}
	return ^(d >> 1)
}

// signed interprets the low bits of v as a signed integer (unsigned for 8
// bits, as BITPIX 8).
func signed(v uint32, bits int) int64 {
	switch bits {
	case 8:
		return int64(uint8(v))
	case 16:
		return int64(int16(v))
	}
	return int64(int32(v))
}

// bitReader reads bits most significant first; reading past the end sets
// err and gives zeros. Reads of up to 32 bits take one 64-bit load while
// 8 bytes remain.
type bitReader struct {
	b   []byte
	pos int // bit position
	err bool
}

func (r *bitReader) read(n int) uint64 {
	if n == 0 {
		return 0
	}
	if k := r.pos >> 3; n <= 32 && k+8 <= len(r.b) {
		w := binary.BigEndian.Uint64(r.b[k:]) << uint(r.pos&7)
		r.pos += n
		return w >> uint(64-n)
	}
	var v uint64
	for range n {
		if r.pos>>3 >= len(r.b) {
			r.err = true
			return 0
		}
		bit := r.b[r.pos>>3] >> (7 - r.pos&7) & 1
		v = v<<1 | uint64(bit)
		r.pos++
	}
	return v
}

// zeros counts zero bits up to and including the next one bit.
func (r *bitReader) zeros() int {
	n := 0
	for {
		if k := r.pos >> 3; k+8 <= len(r.b) {
			sh := r.pos & 7
			w := binary.BigEndian.Uint64(r.b[k:]) << uint(sh)
			if lz := bits.LeadingZeros64(w); lz < 64-sh {
				r.pos += lz + 1
				return n + lz
			}
			n += 64 - sh
			r.pos += 64 - sh
			continue
		}
		if r.pos>>3 >= len(r.b) {
			r.err = true
			return 0
		}
		if r.b[r.pos>>3]>>(7-r.pos&7)&1 == 1 {
			r.pos++
			return n
		}
		n++
		r.pos++
	}
}
