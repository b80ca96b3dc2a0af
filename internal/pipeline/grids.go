package pipeline

import (
	"image"
	"os"

	"gotrap/internal/rundir"
	"gotrap/internal/wire"
	"gotrap/kernels"
)

// The extraction stage stages each extracted image's background grids
// (after the median filter) in RUN/work/extract/ID.grids.bin, before the
// image's completion mark, so that the forced stage rebuilds the
// background-subtracted and rms maps only inside its fit boxes
// (extract.Worker.ForcedGrids) instead of estimating the background of the
// whole image again: the fits are the same bits. An image without the
// file (no background, supplied maps, a run directory staged by an older
// gotrap, or extracted on another rank without a shared run directory)
// has its maps recomputed in full, with the same result.
//
// The file is encoded with package wire: the magic gridsMagic (raw),
// then Int Frame (min x, min y, max x, max y), CellX, CellY, NX, NY and
// the image's width and height, then NX*NY Float64 Mean and NX*NY
// Float64 RMS.
const gridsMagic = "GTGRID01"

// gridsSuffix is the staged file's suffix.
const gridsSuffix = "grids.bin"

// encodeGrids encodes g of an image of rect.
func encodeGrids(g *kernels.BackgroundGrids, rect image.Rectangle) []byte {
	e := wire.NewEncoder(make([]byte, 0, len(gridsMagic)+8*(10+2*len(g.Mean))))
	e.Raw([]byte(gridsMagic))
	for _, v := range []int{g.Frame.Min.X, g.Frame.Min.Y, g.Frame.Max.X, g.Frame.Max.Y, g.CellX, g.CellY, g.NX, g.NY, rect.Dx(), rect.Dy()} {
		e.Int(v)
	}
	for _, s := range [][]float64{g.Mean, g.RMS} {
		for _, v := range s {
			e.Float64(v)
		}
	}
	return e.Data()
}

// decodeGrids decodes the grids of an image of rect, or returns nil when
// b is not a complete grids file of a w x h image.
func decodeGrids(b []byte, rect image.Rectangle) *kernels.BackgroundGrids {
	d := wire.NewDecoder(b)
	if string(d.Raw(len(gridsMagic))) != gridsMagic {
		return nil
	}
	var v [10]int
	for i := range v {
		v[i] = d.Int()
	}
	nx, ny := v[6], v[7]
	if d.Err() != nil || v[8] != rect.Dx() || v[9] != rect.Dy() || nx <= 0 || ny <= 0 || nx > 1<<20 || ny > 1<<20 ||
		d.Remaining() != 16*nx*ny {
		return nil
	}
	n := nx * ny
	g := &kernels.BackgroundGrids{
		Frame: image.Rect(v[0], v[1], v[2], v[3]),
		CellX: v[4], CellY: v[5], NX: nx, NY: ny,
		Mean: make([]float64, n), RMS: make([]float64, n),
	}
	// The frame must lie in the image and hold its cells (it did when
	// the extraction staged it).
	if !g.Frame.In(rect) || g.Frame.Dx() < 2 || g.Frame.Dy() < 2 {
		return nil
	}
	for _, s := range [][]float64{g.Mean, g.RMS} {
		for i := range s {
			s[i] = d.Float64()
		}
	}
	if d.Done() != nil {
		return nil
	}
	return g
}

// stagedGrids returns image id's staged grids for an image of rect, or
// nil when there are none.
func stagedGrids(run string, id int64, rect image.Rectangle) *kernels.BackgroundGrids {
	b, err := os.ReadFile(rundir.StagedPath(run, StepExtract, id, gridsSuffix))
	if err != nil {
		return nil
	}
	return decodeGrids(b, rect)
}
