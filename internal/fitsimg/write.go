package fitsimg

import (
	"bufio"
	"encoding/binary"
	"io"
	"math"
	"strconv"

	"gotrap/internal/rundir"
	"gotrap/kernels"
)

// WriteOptions choose the form of a written image.
type WriteOptions struct {
	// Bitpix is the data type: -32 (the default when 0), -64, or 8, 16,
	// 32, 64 for integers quantised with BScale and BZero.
	Bitpix int
	// BScale and BZero (integer Bitpix only; BScale 0 means 1) give
	// stored = round((value - BZero) / BScale), clamped to the type's
	// range. NaN pixels are stored as the BLANK value: 255 for BITPIX 8,
	// the most negative integer otherwise, which other values avoid.
	BScale, BZero float64
	// Naxis is the number of axes, 2 (the default when 0) or more: axes 3
	// and up have length 1, for headers that describe degenerate frequency
	// and Stokes axes (CTYPE3 = 'FREQ', CTYPE4 = 'STOKES') as LOFAR
	// images do.
	Naxis int
}

// writerKeys are the keywords the writer sets itself; cards with these
// keywords in the header given to it are skipped.
func writerKey(key string) bool {
	switch key {
	case "SIMPLE", "BITPIX", "NAXIS", "EXTEND", "BSCALE", "BZERO", "BLANK",
		"PCOUNT", "GCOUNT", "GROUPS", "XTENSION", "END":
		return true
	}
	if len(key) > 5 && key[:5] == "NAXIS" {
		_, err := strconv.Atoi(key[5:])
		return err == nil
	}
	return false
}

func (o WriteOptions) resolve() (WriteOptions, Scaling) {
	if o.Bitpix == 0 {
		o.Bitpix = -32
	}
	if bytesPerValue(o.Bitpix) == 0 {
		panic(badBitpix)
	}
	if o.Naxis == 0 {
		o.Naxis = 2
	}
	if o.Naxis < 2 || o.Naxis > 999 {
		panic(badNaxis)
	}
	s := Scaling{Bitpix: o.Bitpix, BScale: 1}
	if o.Bitpix > 0 {
		if o.BScale == 0 {
			o.BScale = 1
		}
		if math.IsNaN(o.BScale) || math.IsInf(o.BScale, 0) || math.IsNaN(o.BZero) || math.IsInf(o.BZero, 0) {
			panic(badScaling)
		}
		s.BScale, s.BZero = o.BScale, o.BZero
		s.HasBlank = true
		s.Blank = blankFor(o.Bitpix)
	}
	return o, s
}

func blankFor(bitpix int) int64 {
	switch bitpix {
	case 8:
		return 255
	case 16:
		return math.MinInt16
	case 32:
		return math.MinInt32
	}
	return math.MinInt64
}

// EncodeHeader returns the header that Encode writes for an image of
// nx x ny pixels: the structural cards (SIMPLE, BITPIX, NAXIS, NAXISn,
// and BSCALE, BZERO, BLANK for integer data), then the cards of hdr in
// order except those the writer sets itself, then END, padded with blanks
// to whole blocks. hdr may be nil.
func EncodeHeader(nx, ny int, hdr *Header, o WriteOptions) ([]byte, error) {
	o, s := o.resolve()
	h := NewHeader()
	h.cards = append(h.cards, Card{Key: "SIMPLE", Value: true, Comment: "conforms to the FITS standard"})
	h.Set("BITPIX", o.Bitpix, "array data type")
	h.Set("NAXIS", o.Naxis, "number of array dimensions")
	for i := 1; i <= o.Naxis; i++ {
		n := 1
		switch i {
		case 1:
			n = nx
		case 2:
			n = ny
		}
		h.Set("NAXIS"+strconv.Itoa(i), n, "")
	}
	if o.Bitpix > 0 {
		h.Set("BSCALE", s.BScale, "physical = BZERO + BSCALE * stored")
		h.Set("BZERO", s.BZero, "")
		h.Set("BLANK", s.Blank, "stored value of undefined pixels")
	}
	buf, err := h.AppendCards(nil)
	if err != nil {
		return nil, err
	}
	if hdr != nil {
		for _, c := range hdr.cards {
			if writerKey(c.Key) {
				continue
			}
			if buf, err = appendCard(buf, c); err != nil {
				return nil, err
			}
		}
	}
	buf = appendPadded(buf, "END")
	return padBlock(buf, ' '), nil
}

// Encode writes img (its Rect, row by row, y increasing; Rect.Min is not
// recorded) as a FITS primary image with the cards of hdr (see
// EncodeHeader) to w. It panics if img is nil or empty, or o is invalid.
func Encode(w io.Writer, img *kernels.Image, hdr *Header, o WriteOptions) error {
	if img == nil || img.Rect.Empty() {
		panic(nilImage)
	}
	o, s := o.resolve()
	nx, ny := img.Rect.Dx(), img.Rect.Dy()
	head, err := EncodeHeader(nx, ny, hdr, o)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(head); err != nil {
		return err
	}
	nb := bytesPerValue(o.Bitpix)
	row := make([]byte, nx*nb)
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		encodeTo(row, img.Row(y), s)
		if _, err := bw.Write(row); err != nil {
			return err
		}
	}
	if pad := (BlockLen - (nx*ny*nb)%BlockLen) % BlockLen; pad > 0 {
		if _, err := bw.Write(make([]byte, pad)); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteFile writes img with the cards of hdr to path as a BITPIX -32
// image with two axes. See WriteFileOptions.
func WriteFile(path string, img *kernels.Image, hdr *Header) error {
	return WriteFileOptions(path, img, hdr, WriteOptions{})
}

// WriteFileOptions writes img with the cards of hdr to path (see Encode)
// atomically: into a temporary file in the same directory, synced, then
// renamed over path, so that path never holds a partly written image. The
// file gets mode 0644. Errors are *Error naming path.
func WriteFileOptions(path string, img *kernels.Image, hdr *Header, o WriteOptions) error {
	f, err := rundir.Create(path)
	if err != nil {
		return &Error{Path: path, Err: err}
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = Encode(bw, img, hdr, o)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		f.Abort()
		return &Error{Path: path, Err: err}
	}
	if err := f.Commit(); err != nil {
		return &Error{Path: path, Err: err}
	}
	return nil
}

// encodeTo writes src into dst as big-endian values of s.Bitpix: floats as
// they are, integers quantised as WriteOptions describes.
func encodeTo(dst []byte, src []float32, s Scaling) {
	nb := bytesPerValue(s.Bitpix)
	dst = dst[:nb*len(src)]
	switch s.Bitpix {
	case -32:
		for i, v := range src {
			binary.BigEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
		return
	case -64:
		for i, v := range src {
			binary.BigEndian.PutUint64(dst[8*i:], math.Float64bits(float64(v)))
		}
		return
	}
	lo, hi := intRange(s.Bitpix)
	if s.Blank == lo {
		lo++
	} else {
		hi--
	}
	for i, v := range src {
		q := s.Blank
		if !math.IsNaN(float64(v)) {
			f := math.Round((float64(v) - s.BZero) / s.BScale)
			switch {
			case f <= float64(lo):
				q = lo
			case f >= float64(hi):
				q = hi
			default:
				q = int64(f)
			}
		}
		switch s.Bitpix {
		case 8:
			dst[i] = byte(q)
		case 16:
			binary.BigEndian.PutUint16(dst[2*i:], uint16(q))
		case 32:
			binary.BigEndian.PutUint32(dst[4*i:], uint32(q))
		case 64:
			binary.BigEndian.PutUint64(dst[8*i:], uint64(q))
		}
	}
}

// intRange returns the range of the stored integers of an integer BITPIX.
func intRange(bitpix int) (lo, hi int64) {
	switch bitpix {
	case 8:
		return 0, math.MaxUint8
	case 16:
		return math.MinInt16, math.MaxInt16
	case 32:
		return math.MinInt32, math.MaxInt32
	}
	return math.MinInt64, math.MaxInt64
}
