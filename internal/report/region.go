package report

import (
	"bufio"
	"fmt"
	"io"
	"math"

	"gotrap/kernels"
)

// RegionSystem selects the coordinates of a region file.
type RegionSystem int

const (
	RegionFK5   RegionSystem = iota // sky: RA, Dec (deg), arcsec, PA east of north + 90
	RegionImage                     // image: FITS pixels, pixels, angle from +x
)

// WriteRegions writes srcs as a DS9 region file (version 4.1) with one
// ellipse per source, labelled with its id, in the coordinate system sys
// (see the package documentation). Sources with a non-finite position or
// shape are skipped. color is a DS9 colour name ("green" when empty).
func WriteRegions(w io.Writer, srcs []kernels.Source, sys RegionSystem, color string) error {
	if color == "" {
		color = "green"
	}
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "# Region file format: DS9 version 4.1\n")
	fmt.Fprintf(bw, "global color=%s dashlist=8 3 width=1 font=\"helvetica 10 normal roman\" select=1 highlite=1 dash=0 fixed=0 edit=1 move=1 delete=1 include=1 source=1\n", color)
	switch sys {
	case RegionImage:
		fmt.Fprintln(bw, "image")
	default:
		fmt.Fprintln(bw, "fk5")
	}
	for i := range srcs {
		s := &srcs[i]
		var a, b, c, d, e float64
		var unit string
		if sys == RegionImage {
			a, b, c, d, e = s.X+1, s.Y+1, s.Smaj, s.Smin, s.Theta*180/math.Pi+90
		} else {
			a, b, c, d, e, unit = s.RA, s.Dec, s.SmajAsec, s.SminAsec, s.ThetaCeles+90, `"`
		}
		if !finite(a, b, c, d, e) {
			continue
		}
		e = math.Mod(e, 360)
		if e < 0 {
			e += 360
		}
		fmt.Fprintf(bw, "ellipse(%.8f,%.8f,%.4f%s,%.4f%s,%.4f) # text={%d}\n", a, b, c, unit, d, unit, e, s.ID)
	}
	return bw.Flush()
}

func finite(v ...float64) bool {
	for _, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return false
		}
	}
	return true
}
