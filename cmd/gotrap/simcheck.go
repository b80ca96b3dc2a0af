package main

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"

	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
)

// The figures of "gotrap simulate --check FILE...": how real a simulated
// image looks next to a real one (docs/simulate.md "How real are the
// images").

// checkSettings are the --check parameters.
type checkSettings struct {
	detection   float64 // source-finder detection threshold, sigma
	maskBeams   float64 // mask radius around each detection, beam FWHM
	brightSNR   float64 // a detection this significant is bright
	nearBeams   float64 // near a bright detection: within this many beam FWHM
	matchBeams  float64 // a detection matches a truth source within this many beam semi-major axes
	truthMinSNR float64 // truth sources fainter than this are not matched
}

var defaultCheck = checkSettings{detection: 5, maskBeams: 3, brightSNR: 50, nearBeams: 5, matchBeams: 1, truthMinSNR: 2}

// checkRow is one image's figures.
type checkRow struct {
	name string
	acf  sim.ACF
	dets int
	max  float64 // largest detection significance
	near sim.NearBright
}

// truthRows returns fluxes.csv's rows of image path when path lies in
// DIR/images of a simulated data set (DIR/truth/fluxes.csv exists), and
// whether the image is bad in images.csv; nil otherwise.
type truthPos struct{ x, y, snr float64 }

func simTruth(path string) (rows []truthPos, bad bool, ok bool, err error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, false, false, err
	}
	dir := filepath.Dir(filepath.Dir(abs))
	rel := filepath.ToSlash(filepath.Join(filepath.Base(filepath.Dir(abs)), filepath.Base(abs)))
	read := func(name string, fn func(rec map[string]string) error) error {
		f, err := os.Open(filepath.Join(dir, "truth", name))
		if err != nil {
			return err
		}
		defer f.Close()
		r := csv.NewReader(f)
		head, err := r.Read()
		if err != nil {
			return fmt.Errorf("%s: %w", f.Name(), err)
		}
		for {
			rec, err := r.Read()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("%s: %w", f.Name(), err)
			}
			m := make(map[string]string, len(head))
			for i, h := range head {
				if i < len(rec) {
					m[h] = rec[i]
				}
			}
			if err := fn(m); err != nil {
				return fmt.Errorf("%s: %w", f.Name(), err)
			}
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "truth", "fluxes.csv")); err != nil {
		return nil, false, false, nil
	}
	err = read("images.csv", func(m map[string]string) error {
		if m["image"] == rel && m["bad"] != "" {
			bad = true
		}
		return nil
	})
	if err != nil {
		return nil, false, false, err
	}
	err = read("fluxes.csv", func(m map[string]string) error {
		if m["image"] != rel {
			return nil
		}
		var v [3]float64
		for i, k := range []string{"x", "y", "snr"} {
			f, err := strconv.ParseFloat(m[k], 64)
			if err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
			v[i] = f
		}
		rows = append(rows, truthPos{v[0], v[1], v[2]})
		return nil
	})
	return rows, bad, true, err
}

// checkImages computes the figures of each file; bad simulated images
// are skipped.
func checkImages(paths []string, cs checkSettings, threads int) ([]checkRow, error) {
	opt := extract.Default()
	opt.Detect.DetectionThr = cs.detection
	opt.Maps = false
	var out []checkRow
	err := extract.Run(context.Background(), paths, opt, threads, func(i int, r *extract.Result, err error) error {
		if err != nil {
			return err
		}
		truth, bad, isSim, err := simTruth(paths[i])
		if err != nil {
			return fmt.Errorf("%s: truth: %w", paths[i], err)
		}
		if bad {
			return nil
		}
		// The extraction consumed its copy of the pixels: read them again.
		img, meta, err := fitsimg.Read(paths[i], fitsimg.Options{})
		if err != nil {
			return err
		}
		bp := meta.BeamPx
		beam := sim.CheckBeam{SMaj: bp.SMaj, SMin: bp.SMin, Theta: bp.Theta}
		row := checkRow{name: paths[i], dets: len(r.Sources)}
		dets := make([]sim.Detection, len(r.Sources))
		pos := make([][2]float64, len(r.Sources))
		for k, s := range r.Sources {
			dets[k] = sim.Detection{X: s.X, Y: s.Y, SNR: s.Sig}
			row.max = math.Max(row.max, s.Sig)
			pos[k] = [2]float64{s.X, s.Y}
		}
		row.acf = sim.NoiseACF(img, sim.SourceMask(img, pos, beam, cs.maskBeams), beam)
		var match func(k int) bool
		if isSim {
			match = func(k int) bool {
				for _, t := range truth {
					if t.snr >= cs.truthMinSNR && math.Hypot(t.x-dets[k].X, t.y-dets[k].Y) <= cs.matchBeams*bp.SMaj {
						return true
					}
				}
				return false
			}
		}
		row.near = sim.CountNearBright(dets, match, img.Rect.Dx(), img.Rect.Dy(), beam, cs.brightSNR, cs.nearBeams)
		out = append(out, row)
		return nil
	})
	return out, err
}

// writeCheck prints the rows and, for several, their total (ACF figures
// averaged, counts summed).
func writeCheck(w io.Writer, rows []checkRow, cs checkSettings) {
	fmt.Fprintf(w, "noise autocorrelation with detections (%g sigma) masked %g beams wide; detections near (0.5-%g beam FWHM) sources above %g sigma\n",
		cs.detection, cs.maskBeams, cs.nearBeams, cs.brightSNR)
	fmt.Fprintf(w, "%-40s %8s %7s %7s %7s %7s %6s %5s %7s %6s %5s %6s %8s\n",
		"image", "pixels", "rho1", "rho2", "side", "min", "edge", "dets", "maxsnr", "bright", "near", "false", "expected")
	var tot checkRow
	tot.near.False = -1
	var sums [5]float64
	for _, r := range rows {
		name := r.name
		if len(name) > 40 {
			name = "…" + name[len(name)-39:]
		}
		fmt.Fprintf(w, "%-40s %8d %7.4f %7.4f %7.4f %7.4f %6.2f %5d %7.1f %6d %5d %6s %8.1f\n", name, r.acf.Pixels,
			r.acf.Rho1, r.acf.Rho2, r.acf.SideRMS, r.acf.Min, r.acf.EdgeRatio, r.dets, r.max, r.near.Bright, r.near.Near,
			falseCol(r.near.False), r.near.Expected)
		for k, v := range []float64{r.acf.Rho1, r.acf.Rho2, r.acf.SideRMS, r.acf.Min, r.acf.EdgeRatio} {
			sums[k] += v
		}
		tot.acf.Pixels += r.acf.Pixels
		tot.dets += r.dets
		tot.max = math.Max(tot.max, r.max)
		tot.near.Bright += r.near.Bright
		tot.near.Near += r.near.Near
		tot.near.Expected += r.near.Expected
		if r.near.False >= 0 {
			tot.near.False = max(tot.near.False, 0) + r.near.False
		}
	}
	if len(rows) > 1 {
		n := float64(len(rows))
		fmt.Fprintf(w, "%-40s %8d %7.4f %7.4f %7.4f %7.4f %6.2f %5d %7.1f %6d %5d %6s %8.1f\n", fmt.Sprintf("all %d images", len(rows)),
			tot.acf.Pixels, sums[0]/n, sums[1]/n, sums[2]/n, sums[3]/n, sums[4]/n, tot.dets, tot.max, tot.near.Bright, tot.near.Near,
			falseCol(tot.near.False), tot.near.Expected)
	}
	if tot.near.Bright > 0 {
		fmt.Fprintf(w, "per bright source: %.2f detections near, %.2f expected from the density elsewhere", float64(tot.near.Near)/float64(tot.near.Bright),
			tot.near.Expected/float64(tot.near.Bright))
		if tot.near.False >= 0 {
			fmt.Fprintf(w, ", %.2f not in the truth", float64(tot.near.False)/float64(tot.near.Bright))
		}
		fmt.Fprintln(w)
	}
}

func falseCol(n int) string {
	if n < 0 {
		return "-"
	}
	return strconv.Itoa(n)
}
