package catalogs

import (
	"fmt"
	"math"

	"gotrap/internal/wcs"
	"gotrap/kernels"
)

// Drop is a catalogue row left out of the run, with the reason.
type Drop struct {
	Line      int
	Component string // Selavy component id, "" for PySE
	RA, Dec   float64
	Reason    string
}

// Place returns the sources of c that lie on an nx x ny image with WCS w
// and pixel size pix (degrees, the geometric mean of |CDELT1|, |CDELT2|),
// in catalogue order, with their pixel quantities filled for Selavy rows;
// the other rows are returned as drops. Source IDs are renumbered 0, 1, ...
// in the order returned.
func Place(c *Catalogue, w *wcs.WCS, nx, ny int, pix float64) ([]kernels.Source, []Drop) {
	var srcs []kernels.Source
	var drops []Drop
	scale := pix * 3600 // arcsec per pixel
	for k := range c.Rows {
		r := &c.Rows[k]
		s := r.Src
		drop := func(format string, a ...any) {
			drops = append(drops, Drop{Line: r.Line, Component: r.Component, RA: s.RA, Dec: s.Dec, Reason: fmt.Sprintf(format, a...)})
		}
		if !r.Pixel {
			x, y, err := w.SkyToPix(s.RA, s.Dec)
			if err != nil {
				drop("outside the image (not on its projection: %v)", err)
				continue
			}
			s.X, s.Y = x, y
		}
		if !(s.X >= -0.5 && s.X < float64(nx)-0.5 && s.Y >= -0.5 && s.Y < float64(ny)-0.5) {
			drop("outside the image (pixel %.1f, %.1f of %d x %d)", s.X, s.Y, nx, ny)
			continue
		}
		if !r.Pixel {
			phi, err := northAngle(w, s.RA, s.Dec, s.X, s.Y)
			if err != nil {
				drop("no local north at the position: %v", err)
				continue
			}
			cd := math.Cos(s.Dec * math.Pi / 180)
			s.XErr, s.YErr = s.RAErr*cd*3600/scale, s.DecErr*3600/scale
			s.Smaj, s.Smin = s.SmajAsec/scale, s.SminAsec/scale
			s.SmajErr, s.SminErr = s.SmajAsecErr/scale, s.SminAsecErr/scale
			s.Theta = pyMod(s.ThetaCeles-phi+90, 180) - 90
			s.Theta *= math.Pi / 180
			s.ThetaErr = s.ThetaCelesErr * math.Pi / 180
			s.SmajDC, s.SmajDCErr = r.dcAsec[0]/scale, r.dcAsec[1]/scale
			s.SminDC, s.SminDCErr = r.dcAsec[2]/scale, r.dcAsec[3]/scale
			s.ThetaDC = pyMod(s.ThetaDCCeles-phi+90, 180) - 90
			s.ThetaDCErr = s.ThetaDCCelesErr
			s.PeakPixel.X, s.PeakPixel.Y = int(math.Round(s.X)), int(math.Round(s.Y))
		}
		s.ID = len(srcs)
		srcs = append(srcs, s)
	}
	return srcs, drops
}

// northAngle returns the angle (degrees) of local north at pixel (x, y)
// measured from +y towards -x, the frame of kernels.Source.Theta
// (theta_celes = theta + north angle).
func northAngle(w *wcs.WCS, ra, dec, x, y float64) (float64, error) {
	d := 1.0 / 3600 // 1 arcsec north
	if dec+d > 90 {
		d = -d
	}
	x1, y1, err := w.SkyToPix(ra, dec+d)
	if err != nil {
		return 0, err
	}
	dx, dy := x1-x, y1-y
	if d < 0 {
		dx, dy = -dx, -dy
	}
	return math.Atan2(-dx, dy) * 180 / math.Pi, nil
}
