package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"time"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
)

// Circular polarisation of Stokes I sources (docs/catalog.md
// "circpol"): with [pipeline] circular_polarisation, rank 0 force-fits,
// after the association and the limits, every measurement associated with
// a runcat at its position in the Stokes V plane of its image file (the
// image's plane with the STOKES axis at V), and writes RUN/circpol.parquet.

// circPolStage runs the stage when cfg asks for it (rank me 0 only) and
// logs what it did. run.go calls it after the limits.
func circPolStage(ctx context.Context, run string, plan *Plan, cfg config.Config, xopt extract.Options, read fitsimg.Options, copts []catalog.Option, workers, me int, log *logger) error {
	if me != 0 || !cfg.Pipeline.CircularPolarisation {
		return nil
	}
	t := time.Now()
	rows, noV, err := writeCircPol(ctx, run, plan, xopt, read, copts, workers)
	if err != nil {
		return err
	}
	log.printf("circular polarisation: %d rows, %d images without a Stokes V plane, in %.2f s", rows, noV, time.Since(t).Seconds())
	return nil
}

// writeCircPol computes and writes RUN/circpol.parquet; it returns the
// number of rows and of images with measurements but no Stokes V plane.
func writeCircPol(ctx context.Context, run string, plan *Plan, xopt extract.Options, read fitsimg.Options, copts []catalog.Option, workers int) (int, int, error) {
	files, err := filepath.Glob(rundir.PartGlob(run, catalog.TableMeasurements, ""))
	if err != nil {
		return 0, 0, fmt.Errorf("pipeline: %w", err)
	}
	slices.Sort(files)
	byImage := make([][]catalog.Measurement, plan.Len())
	for _, f := range files {
		ms, err := readStaged[catalog.Measurement](f)
		if err != nil {
			return 0, 0, err
		}
		for _, m := range ms {
			if m.Image >= 1 && m.Image <= int64(plan.Len()) {
				byImage[m.Image-1] = append(byImage[m.Image-1], m)
			}
		}
	}
	assocs, err := readStaged[catalog.Association](rundir.TablePath(run, catalog.TableAssociations))
	if err != nil {
		return 0, 0, err
	}
	// Backward fits' links live in their own part files (option).
	if parts, _ := filepath.Glob(rundir.TablePartGlob(run, catalog.TableAssociations)); len(parts) > 0 {
		for _, p := range parts {
			as, err := readStaged[catalog.Association](p)
			if err != nil {
				return 0, 0, err
			}
			assocs = append(assocs, as...)
		}
	}
	runcats := map[int64][]int64{}
	for _, a := range assocs {
		runcats[a.Xtrsrc] = append(runcats[a.Xtrsrc], a.Runcat)
	}
	per := make([][]catalog.CircPol, plan.Len())
	noV := make([]bool, plan.Len())
	err = forEach(ctx, plan.Len(), workers, func(i int) error {
		ms := slices.DeleteFunc(byImage[i], func(m catalog.Measurement) bool { return len(runcats[m.ID]) == 0 })
		if len(ms) == 0 {
			return nil
		}
		slices.SortFunc(ms, func(a, b catalog.Measurement) int { return cmp.Compare(a.ID, b.ID) })
		img := plan.Image(i)
		opts := img.readOptions(read)
		opts.Stokes = "V"
		pix, meta, err := fitsimg.Read(img.Path, opts)
		if errors.Is(err, fitsimg.ErrNoPlane) {
			noV[i] = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("pipeline: circular polarisation: %w", err)
		}
		pos := make([][2]float64, len(ms))
		for k, m := range ms {
			pos[k] = [2]float64{m.RA, m.Decl}
		}
		w, err := extract.NewWorker(forcedOptions(xopt, pos))
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		r, err := w.Image(pix, meta)
		if err != nil {
			return fmt.Errorf("pipeline: circular polarisation of %s: %w", img.Path, err)
		}
		for _, s := range r.Sources {
			m := &ms[s.ID]
			row := catalog.CircPol{Measurement: m.ID, Image: img.ID, FPeakV: s.Peak, FPeakVErr: s.PeakErr,
				FIntV: s.Flux, FIntVErr: s.FluxErr}
			if s.FluxErr > 0 {
				row.VSigma = s.Flux / s.FluxErr
			}
			if m.FInt != 0 {
				row.CircFrac = s.Flux / m.FInt
				row.CircFracErr = math.Abs(row.CircFrac) * math.Hypot(s.FluxErr/s.Flux, m.FIntErr/m.FInt)
				if s.Flux == 0 {
					row.CircFracErr = s.FluxErr / math.Abs(m.FInt)
				}
				row.CircFracLimit = (math.Abs(s.Flux) + 3*s.FluxErr) / math.Abs(m.FInt)
			}
			for _, rc := range runcats[m.ID] {
				row.Runcat = rc
				per[i] = append(per[i], row)
			}
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	out := slices.Concat(per...)
	if err := catalog.WriteFile(rundir.TablePath(run, catalog.TableCircPol), out, copts...); err != nil {
		return 0, 0, err
	}
	n := 0
	for _, v := range noV {
		if v {
			n++
		}
	}
	return len(out), n, nil
}
