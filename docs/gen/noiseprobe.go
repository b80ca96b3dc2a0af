//go:build ignore

// noiseprobe measures, on one FITS image, how the flux errors of fits of
// fixed shape compare with their scatter (the table of
// docs/variability.md "The flux errors: what was wrong"):
//
//	go run docs/gen/noiseprobe.go [-error-model pyse|gotrap] IMAGE.fits
//
// It extracts the image at 5 sigma, then
//   - fits the beam at a grid of blank positions (4 beam semi-major axes
//     apart, at least 6 from every detection, within 35% of the size
//     from the centre): the scatter of peak/peak_err is that of any
//     fixed-shape fit's error in units of its reported error;
//   - measures the noise autocorrelation over the same region and the
//     variance factor of an unweighted fixed-shape fit it implies,
//     sum_u (g*g)(u) rho(u) / (sum g^2)^2 (4/3 for a beam-shaped rho);
//   - injects beam-shaped sources of 30 rms_qc on a grid 10 semi-major
//     axes apart, extracts blindly and prints the scatter of
//     (measured - true)/error for the peak and the integrated flux.
package main

import (
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"gotrap/internal/config"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
)

func main() {
	model := flag.String("error-model", "pyse", "error_model of the fits: pyse (PySE's and TraP's) or gotrap")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: go run docs/gen/noiseprobe.go [-error-model pyse|gotrap] IMAGE.fits")
		os.Exit(2)
	}
	if err := probe(flag.Arg(0), *model); err != nil {
		fmt.Fprintln(os.Stderr, "noiseprobe:", err)
		os.Exit(1)
	}
}

func probe(path, model string) error {
	cfg := config.DefaultExtraction()
	cfg.DetectionThreshold = 5
	cfg.ErrorModel = model
	opt, err := extract.FromConfig(cfg)
	if err != nil {
		return err
	}
	img, meta, err := fitsimg.Read(path, fitsimg.Options{})
	if err != nil {
		return err
	}
	bm := meta.BeamPx
	fmt.Printf("%s: %dx%d px, beam semi-axes %.2f x %.2f px, error model %s\n", path, meta.Naxis1, meta.Naxis2, bm.SMaj, bm.SMin, model)
	run := func(o extract.Options, pix []float32) (*extract.Result, error) {
		w, err := extract.NewWorker(o)
		if err != nil {
			return nil, err
		}
		cp := *img
		cp.Pix = pix
		return w.Image(&cp, meta)
	}
	blind, err := run(opt, append([]float32(nil), img.Pix...))
	if err != nil {
		return err
	}
	nx, ny := meta.Naxis1, meta.Naxis2
	rmax := 0.35 * float64(min(nx, ny))
	far := 6 * bm.SMaj
	clear := func(x, y float64) bool {
		for _, s := range blind.Sources {
			if math.Hypot(s.X-x, s.Y-y) < far {
				return false
			}
		}
		return true
	}
	// The beam (HWHM semi-axes; theta from +y towards -x).
	beam := func(dx, dy float64) float64 {
		s, c := math.Sincos(bm.Theta)
		u, v := -dx*s+dy*c, dx*c+dy*s
		return math.Exp(-math.Ln2 * (u*u/(bm.SMaj*bm.SMaj) + v*v/(bm.SMin*bm.SMin)))
	}
	rng := rand.New(rand.NewPCG(1, 2))

	// Forced fits at blank positions.
	var pos [][2]float64
	gs := 4 * bm.SMaj
	for gy := float64(ny)/2 - rmax; gy < float64(ny)/2+rmax; gy += gs {
		for gx := float64(nx)/2 - rmax; gx < float64(nx)/2+rmax; gx += gs {
			x, y := gx+rng.Float64()-0.5, gy+rng.Float64()-0.5
			if !clear(x, y) {
				continue
			}
			if ra, dec, err := meta.WCS.PixToSky(x, y); err == nil {
				pos = append(pos, [2]float64{ra, dec})
			}
		}
	}
	fo := opt
	fo.Positions = pos
	forced, err := run(fo, append([]float32(nil), img.Pix...))
	if err != nil {
		return err
	}
	var zp []float64
	for _, s := range forced.Sources {
		zp = append(zp, s.Peak/s.PeakErr)
	}
	_, sd := meanSD(zp)
	fmt.Printf("forced fits at %d blank positions: sd(peak/peak_err) %.3f +- %.3f\n", len(zp), sd, sd/math.Sqrt(2*float64(len(zp))))

	// Noise autocorrelation over the clear pixels of the region.
	x0, x1 := int(float64(nx)/2-rmax), int(float64(nx)/2+rmax)
	y0, y1 := int(float64(ny)/2-rmax), int(float64(ny)/2+rmax)
	ok := make([]bool, nx*ny)
	var mean, n float64
	at := func(x, y int) float64 { return float64(img.Pix[y*img.Stride+x]) }
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			if ok[y*nx+x] = clear(float64(x), float64(y)) && !math.IsNaN(at(x, y)); ok[y*nx+x] {
				mean += at(x, y)
				n++
			}
		}
	}
	mean /= n
	L := int(math.Ceil(4 * bm.SMaj))
	G := int(math.Ceil(5 * bm.SMaj))
	var sg2 float64
	for y := -G; y <= G; y++ {
		for x := -G; x <= G; x++ {
			sg2 += beam(float64(x), float64(y)) * beam(float64(x), float64(y))
		}
	}
	var v0, num, numBeam float64
	acf := map[[2]int]float64{}
	for dy := -L; dy <= L; dy++ {
		for dx := -L; dx <= L; dx++ {
			var s, c float64
			for y := max(y0, y0-dy); y < min(y1, y1-dy); y++ {
				for x := max(x0, x0-dx); x < min(x1, x1-dx); x++ {
					if ok[y*nx+x] && ok[(y+dy)*nx+x+dx] {
						s += (at(x, y) - mean) * (at(x+dx, y+dy) - mean)
						c++
					}
				}
			}
			acf[[2]int{dx, dy}] = s / c
		}
	}
	v0 = acf[[2]int{0, 0}]
	for d, a := range acf {
		var gg float64
		for y := -G; y <= G; y++ {
			for x := -G; x <= G; x++ {
				gg += beam(float64(x), float64(y)) * beam(float64(x+d[0]), float64(y+d[1]))
			}
		}
		num += gg * a / v0
		numBeam += gg * beam(float64(d[0]), float64(d[1]))
	}
	fmt.Printf("noise autocorrelation at 1, 2, 3 px along x: %.3f %.3f %.3f (beam %.3f %.3f %.3f); along y: %.3f %.3f %.3f (beam %.3f %.3f %.3f)\n",
		acf[[2]int{1, 0}]/v0, acf[[2]int{2, 0}]/v0, acf[[2]int{3, 0}]/v0, beam(1, 0), beam(2, 0), beam(3, 0),
		acf[[2]int{0, 1}]/v0, acf[[2]int{0, 2}]/v0, acf[[2]int{0, 3}]/v0, beam(0, 1), beam(0, 2), beam(0, 3))
	fmt.Printf("unweighted fixed-shape fit, peak scatter / sigma_n: %.3f from the measured autocorrelation, %.3f for the beam's\n",
		math.Sqrt(num/(sg2*sg2)), math.Sqrt(numBeam/(sg2*sg2)))

	// Injected sources, blind fits.
	inj := append([]float32(nil), img.Pix...)
	amp := 30 * blind.RMSQC
	var truth [][2]float64
	sp := int(10 * bm.SMaj)
	for y := ny/2 - int(rmax); y <= ny/2+int(rmax); y += sp {
		for x := nx/2 - int(rmax); x <= nx/2+int(rmax); x += sp {
			if !clear(float64(x), float64(y)) {
				continue
			}
			fx, fy := float64(x)+rng.Float64()-0.5, float64(y)+rng.Float64()-0.5
			truth = append(truth, [2]float64{fx, fy})
			for yy := max(0, y-G); yy <= min(ny-1, y+G); yy++ {
				for xx := max(0, x-G); xx <= min(nx-1, x+G); xx++ {
					inj[yy*img.Stride+xx] += float32(amp * beam(float64(xx)-fx, float64(yy)-fy))
				}
			}
		}
	}
	ri, err := run(opt, inj)
	if err != nil {
		return err
	}
	var zz, zi []float64
	for _, tr := range truth {
		for _, s := range ri.Sources {
			if math.Hypot(s.X-tr[0], s.Y-tr[1]) < bm.SMaj {
				zz = append(zz, (s.Peak-amp)/s.PeakErr)
				zi = append(zi, (s.Flux-amp)/s.FluxErr)
			}
		}
	}
	_, si := meanSD(zz)
	_, sf := meanSD(zi)
	fmt.Printf("%d of %d injected 30 sigma sources found: sd((peak-true)/peak_err) %.3f +- %.3f, sd((flux-true)/flux_err) %.3f\n",
		len(zz), len(truth), si, si/math.Sqrt(2*float64(len(zz))), sf)
	return nil
}

func meanSD(v []float64) (float64, float64) {
	var s, ss float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)-1))
}
