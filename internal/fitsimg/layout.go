package fitsimg

import (
	"fmt"
	"math"
	"strconv"

	"gotrap/kernels"
)

// maxDataBytes bounds the data array a header may declare (1 TiB); any
// larger size is treated as a corrupt header before the file size is even
// looked at.
const maxDataBytes = 1 << 40

// layout is the structure of a primary HDU: where its data array is and
// how to decode it.
type layout struct {
	scaling  Scaling
	axes     []int // NAXIS1 ... NAXISn
	hdrLen   int64 // bytes of the header, padding included: the data offset
	dataLen  int64 // bytes of the data array, padding excluded
	planeLen int64 // bytes of one NAXIS1 x NAXIS2 plane
	planes   int   // product of NAXIS3 ... NAXISn (1 for a 2-D image)
}

// layoutOf checks the structural keywords of a primary header of hdrLen
// bytes in a file of size bytes and returns its layout. The order of the
// checks decides which error a broken file gets: not FITS, bad header, no
// data, not 2-D, then truncated.
func layoutOf(h *Header, hdrLen, size int64) (layout, error) {
	var lay layout
	if h.Len() == 0 || h.Card(0).Key != "SIMPLE" {
		return lay, fmt.Errorf("%w: the first card is not SIMPLE", ErrNotFITS)
	}
	if simple, ok := h.Card(0).Value.(bool); !ok || !simple {
		return lay, fmt.Errorf("%w: SIMPLE is not T (the file does not conform to the standard)", ErrNotFITS)
	}
	bitpix, ok := h.Int("BITPIX")
	if !ok {
		return lay, fmt.Errorf("%w: BITPIX is missing or not an integer", ErrBadHeader)
	}
	nb := 0
	if bitpix > math.MinInt32 && bitpix < math.MaxInt32 {
		nb = bytesPerValue(int(bitpix))
	}
	if nb == 0 {
		return lay, fmt.Errorf("%w: BITPIX = %d is not one of 8, 16, 32, 64, -32, -64", ErrBadHeader, bitpix)
	}
	naxis, ok := h.Int("NAXIS")
	if !ok {
		return lay, fmt.Errorf("%w: NAXIS is missing or not an integer", ErrBadHeader)
	}
	if naxis < 0 || naxis > 999 {
		return lay, fmt.Errorf("%w: NAXIS = %d is outside 0 to 999", ErrBadHeader, naxis)
	}
	if naxis == 0 {
		return lay, fmt.Errorf("%w: NAXIS = 0", ErrNoImage)
	}
	axes := make([]int, naxis)
	elems := int64(1)
	empty := 0 // the first axis of length 0, 1-based
	for i := range axes {
		key := "NAXIS" + strconv.Itoa(i+1)
		n, ok := h.Int(key)
		if !ok {
			return lay, fmt.Errorf("%w: %s is missing or not an integer", ErrBadHeader, key)
		}
		if n < 0 || n > math.MaxInt32 {
			return lay, fmt.Errorf("%w: %s = %d is outside 0 to %d", ErrBadHeader, key, n, math.MaxInt32)
		}
		if n == 0 && empty == 0 {
			empty = i + 1
		}
		axes[i] = int(n)
		if n > 0 && elems > maxDataBytes/n {
			return lay, fmt.Errorf("%w: the axes declare more than %d bytes of data", ErrBadHeader, int64(maxDataBytes))
		}
		elems *= max(n, 1)
	}
	if elems*int64(nb) > maxDataBytes {
		return lay, fmt.Errorf("%w: the axes declare more than %d bytes of data", ErrBadHeader, int64(maxDataBytes))
	}
	if empty != 0 {
		if g, _ := h.Bool("GROUPS"); g && empty == 1 {
			return lay, fmt.Errorf("%w: random-groups (uv) data, not an image", ErrNoImage)
		}
		return lay, fmt.Errorf("%w: NAXIS%d = 0 (the data array is empty)", ErrNoImage, empty)
	}
	if naxis < 2 {
		return lay, fmt.Errorf("%w: NAXIS = %d", ErrNot2D, naxis)
	}
	if axes[0] < 2 || axes[1] < 2 {
		return lay, fmt.Errorf("%w: NAXIS1 x NAXIS2 = %d x %d (both image axes must be at least 2 pixels long)", ErrNot2D, axes[0], axes[1])
	}
	if int64(axes[0])*int64(axes[1]) > kernels.MaxPixels {
		return lay, fmt.Errorf("%w: %d x %d pixels exceeds the limit of %d", ErrBadHeader, axes[0], axes[1], int64(kernels.MaxPixels))
	}
	lay.axes = axes
	lay.hdrLen = hdrLen
	lay.dataLen = elems * int64(nb)
	lay.planeLen = int64(axes[0]) * int64(axes[1]) * int64(nb)
	lay.planes = int(elems / (int64(axes[0]) * int64(axes[1])))
	if avail := size - hdrLen; avail < lay.dataLen {
		return lay, fmt.Errorf("%w: the header declares %d bytes of data (BITPIX %d, axes %v) but only %d follow it",
			ErrTruncated, lay.dataLen, bitpix, axes, max(avail, 0))
	}

	lay.scaling = Scaling{Bitpix: int(bitpix), BScale: 1}
	if v, ok := h.Get("BSCALE"); ok {
		f, isNum := h.Float("BSCALE")
		if !isNum || f == 0 {
			return lay, fmt.Errorf("%w: BSCALE = %v", ErrBadHeader, v)
		}
		lay.scaling.BScale = f
	}
	if v, ok := h.Get("BZERO"); ok {
		f, isNum := h.Float("BZERO")
		if !isNum {
			return lay, fmt.Errorf("%w: BZERO = %v", ErrBadHeader, v)
		}
		lay.scaling.BZero = f
	}
	if bitpix > 0 {
		// BLANK applies to integer data only; float data mark undefined
		// pixels with NaN (FITS 4.0 section 5.3).
		if v, ok := h.Get("BLANK"); ok {
			b, isInt := v.(int64)
			if !isInt {
				return lay, fmt.Errorf("%w: BLANK = %v is not an integer", ErrBadHeader, v)
			}
			lay.scaling.Blank, lay.scaling.HasBlank = b, true
		}
	}
	return lay, nil
}

// planeIndex returns the 0-based index along each axis beyond the second
// (NAXIS3 first) of the flat plane number p.
func (lay layout) planeIndex(p int) []int {
	idx := make([]int, max(len(lay.axes)-2, 0))
	for k := range idx {
		n := lay.axes[k+2]
		idx[k] = p % n
		p /= n
	}
	return idx
}
