package pipeline

import (
	"bytes"
	"encoding/binary"
	"image"
	"math"
	"os"

	"gotrap/internal/rundir"
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
// The file is little-endian: the magic gridsMagic, then int64 Frame
// (min x, min y, max x, max y), CellX, CellY, NX, NY and the image's
// width and height, then NX*NY float64 Mean and NX*NY float64 RMS.
const gridsMagic = "GTGRID01"

// gridsSuffix is the staged file's suffix.
const gridsSuffix = "grids.bin"

// encodeGrids encodes g of an image of rect.
func encodeGrids(g *kernels.BackgroundGrids, rect image.Rectangle) []byte {
	var b bytes.Buffer
	b.WriteString(gridsMagic)
	for _, v := range []int{g.Frame.Min.X, g.Frame.Min.Y, g.Frame.Max.X, g.Frame.Max.Y, g.CellX, g.CellY, g.NX, g.NY, rect.Dx(), rect.Dy()} {
		b.Write(binary.LittleEndian.AppendUint64(nil, uint64(int64(v))))
	}
	for _, s := range [][]float64{g.Mean, g.RMS} {
		for _, v := range s {
			b.Write(binary.LittleEndian.AppendUint64(nil, math.Float64bits(v)))
		}
	}
	return b.Bytes()
}

// decodeGrids decodes the grids of an image of rect, or returns nil when
// b is not a complete grids file of a w x h image.
func decodeGrids(b []byte, rect image.Rectangle) *kernels.BackgroundGrids {
	const nint = 10
	if len(b) < len(gridsMagic)+8*nint || string(b[:len(gridsMagic)]) != gridsMagic {
		return nil
	}
	b = b[len(gridsMagic):]
	var v [nint]int64
	for i := range v {
		v[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
	}
	b = b[8*nint:]
	nx, ny := v[6], v[7]
	if v[8] != int64(rect.Dx()) || v[9] != int64(rect.Dy()) || nx <= 0 || ny <= 0 || nx > 1<<20 || ny > 1<<20 ||
		int64(len(b)) != 16*nx*ny {
		return nil
	}
	n := int(nx * ny)
	g := &kernels.BackgroundGrids{
		Frame: image.Rect(int(v[0]), int(v[1]), int(v[2]), int(v[3])),
		CellX: int(v[4]), CellY: int(v[5]), NX: int(nx), NY: int(ny),
		Mean: make([]float64, n), RMS: make([]float64, n),
	}
	// The frame must lie in the image and hold its cells (it did when
	// the extraction staged it).
	if !g.Frame.In(rect) || g.Frame.Dx() < 2 || g.Frame.Dy() < 2 {
		return nil
	}
	for i := range n {
		g.Mean[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		g.RMS[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*(n+i):]))
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
