//go:build ignore

// varplot draws the steady-source calibration plots of
// docs/variability.md from rsm-mini runs and their truth tables:
//
//	go run docs/gen/varplot.go TRUTH OUTDIR LABEL=RUN [LABEL=RUN...]
//
// TRUTH is the data set of "gotrap simulate" (its truth/sources.csv),
// each RUN a "gotrap run" of it. It writes OUTDIR/variability-eta-steady.png
// (the eta histogram of the steady sources above 20 sigma at the most
// common number of degrees of freedom, against the chi-square
// expectation) and OUTDIR/variability-pvalues-steady.png (their
// false-alarm probabilities against the uniform distribution they follow
// when the flux errors are right), and prints the figures.
package main

import (
	"context"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"gonum.org/v1/gonum/stat/distuv"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
)

type row struct {
	dof       int
	eta, logp float64
}

// steady returns the steady sources above 20 sigma of run: truth class
// steady within 45" of the runcat, mean peak over the band's median
// rms_qc at least 20, more than one point.
func steady(run, truth string) ([]row, error) {
	vc, err := config.RunVariability(run)
	if err != nil {
		return nil, err
	}
	db, err := duck.Open(context.Background(), run, duck.Options{FluxErrorFloor: vc.FluxErrorFloor})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	q := fmt.Sprintf(`WITH s AS (SELECT * FROM read_csv_auto('%s') WHERE class = 'steady'),
rms AS (SELECT band, median(rms_qc) AS rms FROM images GROUP BY band),
m AS (SELECT DISTINCT r.id FROM runcat r JOIN s
      ON abs(r.wm_decl - s.dec) < 45/3600.0 AND abs((r.wm_ra - s.ra) * cos(radians(s.dec))) < 45/3600.0)
SELECT v.dof, v.eta_int, gotrap_chi2_log10_sf(v.chi2_int, v.dof)
FROM varmetric v JOIN rms ON rms.band = v.band
WHERE v.runcat IN (SELECT id FROM m) AND v.dof >= 1 AND v.f_peak_mean / rms.rms >= 20
ORDER BY v.runcat, v.band`, filepath.Join(truth, "truth", "sources.csv"))
	rs, err := db.SQL().Query(q)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []row
	for rs.Next() {
		var r row
		if err := rs.Scan(&r.dof, &r.eta, &r.logp); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

var colors = []color.Color{color.RGBA{200, 60, 40, 255}, color.RGBA{30, 100, 200, 255}, color.RGBA{40, 150, 60, 255}}

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: go run docs/gen/varplot.go TRUTH OUTDIR LABEL=RUN...")
		os.Exit(2)
	}
	truth, out := os.Args[1], os.Args[2]
	type set struct {
		label string
		rows  []row
	}
	var sets []set
	for _, a := range os.Args[3:] {
		label, run, ok := strings.Cut(a, "=")
		if !ok {
			fmt.Fprintf(os.Stderr, "varplot: %q is not LABEL=RUN\n", a)
			os.Exit(2)
		}
		rows, err := steady(run, truth)
		if err != nil {
			fmt.Fprintf(os.Stderr, "varplot: %s: %v\n", run, err)
			os.Exit(1)
		}
		sets = append(sets, set{label, rows})
	}
	// The most common dof of the first set.
	cnt := map[int]int{}
	for _, r := range sets[0].rows {
		cnt[r.dof]++
	}
	mode := 0
	for d, c := range cnt {
		if c > cnt[mode] || c == cnt[mode] && d < mode {
			mode = d
		}
	}
	// Histogram of eta at that dof.
	p := plot.New()
	p.Title.Text = fmt.Sprintf("eta of steady sources above 20 sigma, %d degrees of freedom", mode)
	p.X.Label.Text = "eta (integrated flux)"
	p.Y.Label.Text = "density"
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	const bins, emax = 40, 4.0
	for k, s := range sets {
		h := make([]float64, bins)
		n := 0
		var etas []float64
		for _, r := range s.rows {
			if r.dof != mode {
				continue
			}
			n++
			etas = append(etas, r.eta)
			if b := int(r.eta / emax * bins); b >= 0 && b < bins {
				h[b]++
			}
		}
		sort.Float64s(etas)
		xy := make(plotter.XYs, 0, 2*bins)
		for b := range h {
			y := h[b] / float64(n) / (emax / bins)
			xy = append(xy, plotter.XY{X: float64(b) * emax / bins, Y: y}, plotter.XY{X: float64(b+1) * emax / bins, Y: y})
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			panic(err)
		}
		l.Color, l.Width = colors[k%len(colors)], vg.Points(1.5)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (%d, median %.2f)", s.label, n, etas[len(etas)/2]), l)
		fmt.Printf("%s: %d steady sources above 20 sigma at dof %d: eta median %.3f, mean %.3f, 99th percentile %.3f\n",
			s.label, n, mode, etas[len(etas)/2], mean(etas), etas[int(0.99*float64(len(etas)-1))])
	}
	chi := distuv.ChiSquared{K: float64(mode)}
	var xy plotter.XYs
	for i := 1; i <= 400; i++ {
		e := emax * float64(i) / 400
		xy = append(xy, plotter.XY{X: e, Y: chi.Prob(e*float64(mode)) * float64(mode)})
	}
	l, err := plotter.NewLine(xy)
	if err != nil {
		panic(err)
	}
	l.Color, l.Width = color.Black, vg.Points(1)
	l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	p.Legend.Add(fmt.Sprintf("chi-square/dof, %d dof (right errors)", mode), l)
	p.Add(l)
	p.X.Min, p.X.Max = 0, emax
	if err := p.Save(18*vg.Centimeter, 11*vg.Centimeter, filepath.Join(out, "variability-eta-steady.png")); err != nil {
		panic(err)
	}
	// Q-Q of the false-alarm probabilities, every dof.
	q := plot.New()
	q.Title.Text = "false-alarm probability of steady sources above 20 sigma"
	q.X.Label.Text = "expected -log10 p (uniform)"
	q.Y.Label.Text = "observed -log10 p"
	q.Add(plotter.NewGrid())
	q.Legend.Top, q.Legend.Left = true, true
	top := 0.0
	for k, s := range sets {
		lp := make([]float64, len(s.rows))
		for i, r := range s.rows {
			lp[i] = -r.logp
		}
		sort.Float64s(lp)
		n := len(lp)
		xy := make(plotter.XYs, n)
		below := 0
		for i, v := range lp {
			xy[i] = plotter.XY{X: -math.Log10((float64(n-i) - 0.5) / float64(n)), Y: v}
			top = math.Max(top, math.Max(xy[i].X, v))
			if v >= 2 {
				below++
			}
		}
		sc, err := plotter.NewScatter(xy)
		if err != nil {
			panic(err)
		}
		sc.Color = colors[k%len(colors)]
		sc.Radius = vg.Points(1.5)
		q.Add(sc)
		q.Legend.Add(s.label, sc)
		fmt.Printf("%s: %d steady (source, band) above 20 sigma, all dof: %.2f%% with p < 0.01 (1%% expected)\n", s.label, n, 100*float64(below)/float64(n))
	}
	l, err = plotter.NewLine(plotter.XYs{{X: 0, Y: 0}, {X: top, Y: top}})
	if err != nil {
		panic(err)
	}
	l.Color = color.Black
	q.Add(l)
	q.Legend.Add("right errors", l)
	if err := q.Save(14*vg.Centimeter, 12*vg.Centimeter, filepath.Join(out, "variability-pvalues-steady.png")); err != nil {
		panic(err)
	}
}

func mean(v []float64) float64 {
	var s float64
	for _, x := range v {
		s += x
	}
	return s / float64(len(v))
}
