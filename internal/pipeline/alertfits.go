package pipeline

import (
	"context"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/kernels/sphere"
)

// An AlertPoint is the forced fit at an external alert's position in one
// image of a run ("gotrap listen"): the light curve at that position back
// in time, with an upper limit where nothing is detected.
type AlertPoint struct {
	Image    int64     `parquet:"image"`
	Band     int64     `parquet:"band"`
	Timestep int64     `parquet:"timestep"`
	Time     time.Time `parquet:"taustart_ts" unit:"UTC"`
	FreqHz   float64   `parquet:"freq_eff" unit:"Hz"`
	FInt     float64   `parquet:"f_int" unit:"Jy"`
	FIntErr  float64   `parquet:"f_int_err" unit:"Jy"`
	FPeak    float64   `parquet:"f_peak" unit:"Jy/beam"`
	FPeakErr float64   `parquet:"f_peak_err" unit:"Jy/beam"`
	// Sigma is f_int / f_int_err; Detected is Sigma >= the detection
	// significance asked for.
	Sigma    float64 `parquet:"sigma"`
	Detected bool    `parquet:"detected"`
	// Limit is the upper limit where not detected: max(f_int, 0) + 3
	// f_int_err (NaN when detected).
	Limit float64 `parquet:"upper_limit" unit:"Jy"`
}

// AlertFitOptions configures FitAlert.
type AlertFitOptions struct {
	// DetectSigma is the f_int / f_int_err from which a fit counts as a
	// detection (0: 5).
	DetectSigma float64
	// Workers is the number of images fitted at once (0: 1).
	Workers int
}

// FitAlert force-fits a point source at (ra, dec) (degrees) in every
// accepted image of the finished run whose pixel area holds the position,
// with the run's configuration cfg (its [extraction] settings, the fixed-
// position fit of the forced-fit stage, centred exactly on the position).
// Images are read from the paths in the images table. Points come in image
// order. An image that cannot be read is an error naming it.
func FitAlert(ctx context.Context, run string, cfg config.Config, ra, dec float64, opt AlertFitOptions) ([]AlertPoint, error) {
	if opt.DetectSigma <= 0 {
		opt.DetectSigma = 5
	}
	rows, err := readImagesTable(run)
	if err != nil {
		return nil, fmt.Errorf("pipeline: alert fits: %w", err)
	}
	xopt, err := extract.FromConfig(cfg.Extraction)
	if err != nil {
		return nil, fmt.Errorf("pipeline: alert fits: %w", err)
	}
	read := fitsimg.Options{Plane: cfg.Pipeline.Plane, Stokes: cfg.Pipeline.Stokes, Channel: cfg.Pipeline.Channel}
	var cand []catalog.Image
	for _, r := range rows {
		// Cheap test first: within the image's half-diagonal of its centre.
		half := 0.5 * math.Hypot(float64(r.NX)*r.DeltaX, float64(r.NY)*r.DeltaY)
		if r.Rejected || sphere.Sep(ra, dec, r.CentreRA, r.CentreDec) > half*1.01 {
			continue
		}
		cand = append(cand, r)
	}
	out := make([]*AlertPoint, len(cand))
	var pool sync.Pool
	pos := [][2]float64{{ra, dec}}
	err = forEach(ctx, len(cand), max(1, opt.Workers), func(i int) error {
		r := cand[i]
		img := &Image{ID: r.ID, Path: r.URL}
		res, err := fitPositions(run, xopt, read, &pool, img, pos, "alert fits")
		if err != nil {
			return err
		}
		if len(res.Sources) == 0 {
			return nil // outside the pixels, or masked there
		}
		s := res.Sources[0]
		p := &AlertPoint{Image: r.ID, Band: r.Band, Timestep: r.Timestep, Time: r.TauStart.UTC(), FreqHz: r.FreqEff,
			FInt: s.Flux, FIntErr: s.FluxErr, FPeak: s.Peak, FPeakErr: s.PeakErr, Limit: math.NaN()}
		p.Sigma = s.Flux / s.FluxErr
		p.Detected = p.Sigma >= opt.DetectSigma
		if !p.Detected {
			p.Limit = math.Max(s.Flux, 0) + 3*s.FluxErr
		}
		out[i] = p
		return nil
	})
	if err != nil {
		return nil, err
	}
	var pts []AlertPoint
	for _, p := range out {
		if p != nil {
			pts = append(pts, *p)
		}
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].Image < pts[j].Image })
	return pts, nil
}
