package kernels

import (
	"errors"
	"fmt"
	"image"
	"math"
)

// MaxPixels bounds the number of pixels of one image (2^31, an 8 GiB
// float32 plane). Larger dimensions in a header are treated as corrupt.
const MaxPixels = 1 << 31

// ErrImageSize reports image dimensions that are negative, overflow or
// exceed MaxPixels.
var ErrImageSize = errors.New("kernels: invalid image size")

// Image is a flat, strided float32 image addressed by a half-open
// rectangle. See the package documentation for the layout.
type Image struct {
	Pix    []float32
	Stride int
	Rect   image.Rectangle
}

// NewImage allocates a zeroed image covering r. It returns an error wrapping
// ErrImageSize when r is not well formed or holds more than MaxPixels
// pixels, so that dimensions read from a file can be passed unchecked.
func NewImage(r image.Rectangle) (*Image, error) {
	return NewImageFrom(nil, r)
}

// NewImageFrom is NewImage with the pixels' storage from p (nil: the Go
// heap); FreeImage gives it back.
func NewImageFrom(p Planes, r image.Rectangle) (*Image, error) {
	w, h := r.Dx(), r.Dy()
	if r.Min.X > r.Max.X || r.Min.Y > r.Max.Y || w < 0 || h < 0 {
		return nil, fmt.Errorf("%w: %v", ErrImageSize, r)
	}
	if h != 0 && w > MaxPixels/h {
		return nil, fmt.Errorf("%w: %d x %d pixels exceeds the limit of %d", ErrImageSize, w, h, MaxPixels)
	}
	return &Image{Pix: makePlane[float32](p, w*h), Stride: w, Rect: r}, nil
}

// FreeImage gives the storage of m, an image of NewImageFrom(p, ...), back
// to p; m (and any view of it) must not be used after. It does nothing
// for m or p nil, or for storage that p did not supply.
func FreeImage(p Planes, m *Image) {
	if m != nil {
		freePlane(p, m.Pix)
	}
}

// Bounds returns the image's rectangle.
func (m *Image) Bounds() image.Rectangle { return m.Rect }

// PixOffset returns the index in Pix of the pixel at (x, y).
func (m *Image) PixOffset(x, y int) int {
	return (y-m.Rect.Min.Y)*m.Stride + (x - m.Rect.Min.X)
}

// At returns the pixel at (x, y), or NaN outside Rect.
func (m *Image) At(x, y int) float32 {
	if !(image.Point{x, y}.In(m.Rect)) {
		return float32(math.NaN())
	}
	return m.Pix[m.PixOffset(x, y)]
}

// Set sets the pixel at (x, y); outside Rect it does nothing.
func (m *Image) Set(x, y int, v float32) {
	if !(image.Point{x, y}.In(m.Rect)) {
		return
	}
	m.Pix[m.PixOffset(x, y)] = v
}

// Row returns the pixels of row y inside Rect, sharing Pix.
// It panics if y is outside Rect.
func (m *Image) Row(y int) []float32 {
	if y < m.Rect.Min.Y || y >= m.Rect.Max.Y {
		panic(badRow)
	}
	o := m.PixOffset(m.Rect.Min.X, y)
	return m.Pix[o : o+m.Rect.Dx() : o+m.Rect.Dx()]
}

// SubImage returns a view of the part of m inside r, sharing Pix.
// The result may be empty.
func (m *Image) SubImage(r image.Rectangle) *Image {
	r = r.Intersect(m.Rect)
	if r.Empty() {
		return &Image{}
	}
	i := m.PixOffset(r.Min.X, r.Min.Y)
	return &Image{Pix: m.Pix[i:], Stride: m.Stride, Rect: r}
}
