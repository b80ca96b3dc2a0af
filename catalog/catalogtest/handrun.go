// Package catalogtest writes a small hand-made run directory whose query
// answers were worked out by hand, for the golden tests of catalog/duck
// and of "gotrap query", and for trying the queries out.
//
// # The hand-made run
//
// Two bands (1: 150 MHz, 2: 180 MHz), one sky region centred on RA 0,
// Dec 30, and eight images at four timesteps 15 minutes apart from
// 2024-01-01T00:00:00Z, band 1 then band 2 at each: ids 1..8 in that
// order. Image 6 (t2, band 2) is rejected (reason 0, RMS invalid). Every
// accepted image has rms 1 mJy to 2 mJy and detection threshold 5 except
// images 1 (1-3 mJy) and 2 (1-4 mJy). Peak and integrated fluxes are
// equal (point sources), errors equal for both.
//
// Sources (runcat id = id of the creating measurement):
//
//   - A at RA 359.95, Dec 30: band 1 blind 1, 2, 3 Jy (images 1, 3, 5, error
//     1 Jy) and a null-detection forced fit of 2 Jy in image 7; band 2 blind
//     2, 2, 2 Jy (images 2, 4, 8; error 0.5). Band 1: mean 2, weighted mean
//     2, chi^2 = 1+0+1+0 = 2, eta = 2/3, s = sqrt(2/3), V = sqrt(2/3)/2 =
//     0.40825. Band 2: eta = V = 0.
//   - B at RA 0.05, Dec 30.02: new in image 3 (band 1) with 0.02 Jy;
//     previous image 1 has rms 1-3 mJy and threshold 5, margin 1, so limits
//     0.006 and 0.018 Jy: 0.02 > 0.018 makes it type 1 (likely),
//     sigma_rms_min = 0.02/0.001 = 20, sigma_rms_max = 0.02/0.003 = 6.667.
//     Then 0.01 and 0.03 Jy in images 5 and 7 (error 0.005): mean 0.02,
//     eta = (0.01^2+0+0.01^2)/0.005^2/2 = 4, V = 0.01/0.02 = 0.5.
//   - C at RA 10, Dec 30: new in image 4 (band 2) with 0.012 Jy, peak
//     0.010; previous image 2 (rms 1-4 mJy): limits 0.006 and 0.024, so
//     type 0 (possible), sigma_rms_min = 12, sigma_rms_max = 3. Forced fit
//     0.001 Jy in image 8 (errors 0.002): mean 0.0065, eta =
//     2*0.0055^2/0.002^2 = 15.125, V = (0.011/sqrt 2)/0.0065 = 1.19665.
//   - M, a monitor position at RA 5, Dec 31: monitor fits of 0.005 and
//     0.007 Jy (error 0.001) in images 1 and 3: eta = 2, V = 0.23570.
//   - V1..V9 and X at RA 20+0.1k, Dec 40, band 2, blind in images 2 and 4
//     with fluxes 1 and 1+d Jy, error 1: eta = d^2/2 and
//     V = (d/sqrt 2)/(1+d/2). V1..V9 have d = sqrt 2 (eta 1, V 0.585786);
//     X has d = sqrt 2000 (eta 1000, V 1.353675).
//
// Every measurement sits at pixel (512, 512) (the pixel columns are not
// tied to the sky positions; the vetting view reads them only for the
// edge distance: 511 px from the outermost pixel centres, no edge flag).
// The limits table holds B's and C's earlier images (timestep 0): B in
// images 1 (rms 1.5 mJy) and 2 (2 mJy), C in images 1 (1 mJy) and 2 (2.5
// mJy), f_peak_limit 5 x rms, margin 1. Vetting of the triggers: B's band
// 1 has image 1 only, new_high_sigma = 0.02/0.0015 = 13.333 >= 5 + 1, no
// flag; C's band 2 has image 2, new_high_sigma = 0.010/0.0025 = 4 < 6:
// low_sigma. The nearest neighbour of B's trigger (image 3) is A, at
// sqrt((0.1 cos 30)^2 + 0.02^2) = 319.94 arcsec (great circle), 2 Jy;
// C's (image 4) is A too, farther than two beams (2 x 72 arcsec): no
// neighbour flag. So transients lists B only, and B then C with --all.
//
// The variables query (Gaussian fits per band to log10 eta and log10 V of
// sources with eta > 0, V > 0, more than one point and no newsource, as
// MLE mean and population standard deviation): band 2 holds V1..V9 and X.
// log10 eta is nine 0s and one 3: mean 0.3, sd 0.9, threshold at n = 2
// 10^2.1 = 125.89. log10 V is nine -0.2322365 and one 0.1315087 (gap g =
// 0.3637452): mean -0.195862, sd 0.3g = 0.1091236, threshold
// 10^0.0223852 = 1.052887. Only X passes both. In general one outlier among N equal values
// has z = sqrt(N-1) = 3 here. Band 1 holds A and M: with two values z is
// at most 1, so nothing passes.
package catalogtest

import (
	"cmp"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"time"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// T0 is the start time of the first timestep.
var T0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

type point struct {
	image       int64
	flux, err   float64
	peak        float64 // 0: same as flux
	extractType int32
}

type source struct {
	name    string
	ra, dec float64
	monitor bool
	points  []point
}

// Sources returns the hand-made sources by name, for tests that need
// their ids: the runcat id of each.
func Sources() map[string]int64 {
	out := map[string]int64{}
	ids := layout()
	for _, s := range handSources() {
		out[s.name] = ids.first[s.name]
	}
	return out
}

func handSources() []source {
	srcs := []source{
		{name: "A", ra: 359.95, dec: 30, points: []point{
			{image: 1, flux: 1, err: 1}, {image: 2, flux: 2, err: 0.5}, {image: 3, flux: 2, err: 1},
			{image: 4, flux: 2, err: 0.5}, {image: 5, flux: 3, err: 1},
			{image: 7, flux: 2, err: 1, extractType: catalog.ExtractForced}, {image: 8, flux: 2, err: 0.5},
		}},
		{name: "B", ra: 0.05, dec: 30.02, points: []point{
			{image: 3, flux: 0.02, err: 0.005}, {image: 5, flux: 0.01, err: 0.005}, {image: 7, flux: 0.03, err: 0.005},
		}},
		{name: "C", ra: 10, dec: 30, points: []point{
			{image: 4, flux: 0.012, peak: 0.010, err: 0.002},
			{image: 8, flux: 0.001, err: 0.002, extractType: catalog.ExtractForced},
		}},
		{name: "M", ra: 5, dec: 31, monitor: true, points: []point{
			{image: 1, flux: 0.005, err: 0.001, extractType: catalog.ExtractMonitor},
			{image: 3, flux: 0.007, err: 0.001, extractType: catalog.ExtractMonitor},
		}},
	}
	for k := range 10 {
		d, name := math.Sqrt2, fmt.Sprintf("V%d", k+1)
		if k == 9 {
			d, name = math.Sqrt(2000), "X"
		}
		srcs = append(srcs, source{name: name, ra: 20 + 0.1*float64(k), dec: 40, points: []point{
			{image: 2, flux: 1, err: 1}, {image: 4, flux: 1 + d, err: 1},
		}})
	}
	return srcs
}

type ids struct {
	meas  map[string][]int64 // measurement id of each point
	first map[string]int64   // runcat id
}

// layout numbers the measurements of each image in source order.
func layout() ids {
	next := map[int64]int{}
	out := ids{meas: map[string][]int64{}, first: map[string]int64{}}
	for _, s := range handSources() {
		for _, p := range s.points {
			id := catalog.MeasurementID(p.image, next[p.image])
			next[p.image]++
			out.meas[s.name] = append(out.meas[s.name], id)
		}
		out.first[s.name] = out.meas[s.name][0]
	}
	return out
}

func bandOf(image int64) int64 { return 2 - image%2 }

// WriteHandRun writes the hand-made run into dir (which need not exist):
// every table but varmetric, which the tests compute. Measurements are
// split over two ranks' part files.
func WriteHandRun(dir string) error {
	bands := []catalog.Band{
		{ID: 1, FreqCentral: 150e6, FreqLow: 145e6, FreqHigh: 155e6},
		{ID: 2, FreqCentral: 180e6, FreqLow: 175e6, FreqHigh: 185e6},
	}
	sky := []catalog.SkyRegion{{ID: 1, CentreRA: 0, CentreDec: 30, XtrRadius: 15, X: math.Cos(math.Pi / 6), Y: 0, Z: 0.5}}
	var images []catalog.Image
	for id := int64(1); id <= 8; id++ {
		im := catalog.Image{
			ID: id, URL: fmt.Sprintf("obs/t%d-b%d.fits", (id-1)/2, bandOf(id)), Band: bandOf(id), SkyRegion: 1,
			Timestep: (id - 1) / 2, Stokes: 1, TauStart: T0.Add(time.Duration((id-1)/2) * 15 * time.Minute),
			TauTime: 900, FreqEff: bands[bandOf(id)-1].FreqCentral, FreqBW: 10e6,
			RBSmaj: 0.01, RBSmin: 0.008, RBPA: 10, DeltaX: -0.002, DeltaY: 0.002, NX: 1024, NY: 1024,
			CentreRA: 0, CentreDec: 30, RMSQC: 0.0012, RMSMin: 0.001, RMSMax: 0.002,
			DetectionThresh: 5, AnalysisThresh: 3,
		}
		switch id {
		case 1:
			im.RMSMax = 0.003
		case 2:
			im.RMSMax = 0.004
		case 6:
			im.Rejected, im.RejectReason, im.RejectComment = true, sql.NullInt64{Int64: catalog.RejectRMS, Valid: true}, "rms_qc 0.5 Jy above the limit"
			im.RMSMin, im.RMSMax, im.DetectionThresh, im.AnalysisThresh = 0, 0, 0, 0
		}
		images = append(images, im)
	}

	ly := layout()
	var meas [2][]catalog.Measurement // by rank: images 1-4 on rank 0, 5-8 on rank 1
	var assocs []catalog.Association
	var runcats []catalog.Runcat
	var fluxes []catalog.RuncatFlux
	var news []catalog.NewSource
	for _, s := range handSources() {
		rc := ly.first[s.name]
		peak, integ := map[int64]*catalog.FluxStats{}, map[int64]*catalog.FluxStats{}
		var bandOrder []int64
		blind := 0
		for i, p := range s.points {
			id := ly.meas[s.name][i]
			fp := p.peak
			if fp == 0 {
				fp = p.flux
			}
			m := catalog.Measurement{
				ID: id, Image: p.image, ExtractType: p.extractType, FitType: catalog.FitGaussian,
				RA: s.ra, Decl: s.dec, RAFitErr: 1e-4, DeclFitErr: 1e-4, RAErr: 0.003, DeclErr: 0.003,
				UncertEW: 0.003, UncertNS: 0.003, EWSysErr: 10, NSSysErr: 10, ErrRadius: 2,
				Zone: int32(math.Floor(s.dec)), FPeak: fp, FPeakErr: p.err, FInt: p.flux, FIntErr: p.err,
				DetSigma: fp / 0.001, ChiSq: 1, ReducedChiSq: 1,
				Smaj: 5, Smin: 4, SemiMajor: 36, SemiMinor: 28.8, PA: 10, XPix: 512, YPix: 512,
			}
			dr, dd := s.ra*math.Pi/180, s.dec*math.Pi/180
			m.X, m.Y, m.Z, m.RACosDecl = math.Cos(dd)*math.Cos(dr), math.Cos(dd)*math.Sin(dr), math.Sin(dd), s.ra*math.Cos(dd)
			switch p.extractType {
			case catalog.ExtractForced:
				m.FFRuncat = sql.NullInt64{Int64: rc, Valid: true}
			case catalog.ExtractMonitor:
				m.FFMonitor = sql.NullInt64{Int64: 1, Valid: true}
			default:
				blind++
			}
			rank := 0
			if p.image > 4 {
				rank = 1
			}
			meas[rank] = append(meas[rank], m)

			b := bandOf(p.image)
			if integ[b] == nil {
				integ[b], peak[b] = &catalog.FluxStats{}, &catalog.FluxStats{}
				bandOrder = append(bandOrder, b)
			}
			integ[b].Add(p.flux, p.err)
			peak[b].Add(fp, p.err)
			a := catalog.Association{Runcat: rc, Xtrsrc: id, Type: catalog.AssocOneToOne,
				VInt: integ[b].V(), EtaInt: integ[b].Eta(), FDatapoints: integ[b].N}
			switch {
			case i == 0 && s.monitor:
				a.Type = catalog.AssocMonitorNew
			case i == 0:
				a.Type = catalog.AssocNewSource
			case s.monitor:
				a.Type = catalog.AssocMonitorNext
			case p.extractType == catalog.ExtractForced:
				a.Type = catalog.AssocNullForced
			}
			assocs = append(assocs, a)
		}
		runcats = append(runcats, catalog.Runcat{
			ID: rc, Xtrsrc: rc, Datapoints: int64(blind), Zone: int32(math.Floor(s.dec)),
			WmRA: s.ra, WmDecl: s.dec, WmUncertEW: 0.003, WmUncertNS: 0.003, AvgRAErr: 0.003, AvgDeclErr: 0.003,
			MonSrc: s.monitor,
		})
		for _, b := range bandOrder {
			p, f := peak[b], integ[b]
			fluxes = append(fluxes, catalog.RuncatFlux{Runcat: rc, Band: b, Stokes: 1, FDatapoints: f.N,
				AvgFPeak: p.Avg, AvgFPeakSq: p.AvgSq, AvgFPeakWeight: p.AvgWeight, AvgWeightedFPeak: p.AvgWeighted, AvgWeightedFPeakSq: p.AvgWeightedSq,
				AvgFInt: f.Avg, AvgFIntSq: f.AvgSq, AvgFIntWeight: f.AvgWeight, AvgWeightedFInt: f.AvgWeighted, AvgWeightedFIntSq: f.AvgWeightedSq})
		}
	}
	news = append(news,
		catalog.NewSource{ID: ly.first["B"], Runcat: ly.first["B"], TriggerXtrsrc: ly.first["B"], PreviousLimitsImage: 1, Type: catalog.NewSourceLikely},
		catalog.NewSource{ID: ly.first["C"], Runcat: ly.first["C"], TriggerXtrsrc: ly.first["C"], PreviousLimitsImage: 2, Type: catalog.NewSourcePossible},
	)

	lim := func(rc, image int64, rms float64) catalog.Limit {
		return catalog.Limit{Runcat: rc, Image: image, XPix: 512, YPix: 512, RMS: rms, RMSFromMap: true,
			FPeakLimit: 5 * rms, SigmaMargin: 1}
	}
	limits := []catalog.Limit{
		lim(ly.first["B"], 1, 0.0015), lim(ly.first["B"], 2, 0.002),
		lim(ly.first["C"], 1, 0.001), lim(ly.first["C"], 2, 0.0025),
	}
	slices.SortStableFunc(limits, func(a, b catalog.Limit) int { return cmp.Compare(a.Runcat, b.Runcat) })

	opts := []catalog.Option{catalog.WithConfigHash("hand-made"), catalog.WithSeed(1)}
	for _, err := range []error{
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableBands), bands, opts...),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableSkyRegions), sky, opts...),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableImages), images, opts...),
		catalog.WriteFile(rundir.PartPath(dir, catalog.TableMeasurements, 0, "blind", 0), meas[0], opts...),
		catalog.WriteFile(rundir.PartPath(dir, catalog.TableMeasurements, 1, "blind", 0), meas[1], opts...),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableAssociations), assocs, opts...),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableRuncat), runcats, opts...),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableRuncatFlux), fluxes, opts...),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableNewSources), news, opts...),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableLimits), limits, opts...),
	} {
		if err != nil {
			return fmt.Errorf("catalogtest: %w", err)
		}
	}
	return nil
}
