package decomp

import "image"

// PixelTile is one tile of an image for parallel work inside a rank
// (STYLE 3): Core tiles partition the image, and Halo is Core grown by
// the overlap and clipped to the image.
type PixelTile struct {
	Core, Halo image.Rectangle
}

// PixelTiles splits bounds into size×size cores in row-major order (the
// last row and column may be smaller), each with a halo of overlap pixels.
// A source belongs to the tile whose Core contains its rounded peak pixel,
// so none is counted twice. It returns nil for empty bounds and panics if
// size < 1 or overlap < 0.
func PixelTiles(bounds image.Rectangle, size, overlap int) []PixelTile {
	if size < 1 || overlap < 0 {
		panic(badPixTile)
	}
	if bounds.Empty() {
		return nil
	}
	var out []PixelTile
	for y := bounds.Min.Y; y < bounds.Max.Y; y += size {
		for x := bounds.Min.X; x < bounds.Max.X; x += size {
			core := image.Rect(x, y, min(x+size, bounds.Max.X), min(y+size, bounds.Max.Y))
			halo := core.Inset(-overlap).Intersect(bounds)
			out = append(out, PixelTile{Core: core, Halo: halo})
		}
	}
	return out
}
