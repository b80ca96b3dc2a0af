package duck

import (
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
	"math"
	"math/rand/v2"
	"time"

	"gotrap/catalog"
)

type wantVar struct {
	n            int64
	incEta, incV float64 // SPEC 7.1 incremental, as stored on the last association
	eta, v       float64 // direct two-pass
}

// writeRandomRun writes a run with nSrc sources observed in nTime
// timesteps of two bands (images: odd ids band 1, even band 2), each
// source seen in a random subset of images with fluxes scattered by at
// least 10% around its mean. It returns the expected varmetric values per
// (runcat, band).
func writeRandomRun(dir string, nSrc, nTime int, seed uint64) (map[[2]int64]wantVar, error) {
	rng := rand.New(rand.NewPCG(seed, 1))
	var images []catalog.Image
	for id := int64(1); id <= int64(2*nTime); id++ {
		images = append(images, catalog.Image{ID: id, Band: 2 - id%2, SkyRegion: 1, Timestep: (id - 1) / 2,
			TauStart: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration((id-1)/2) * time.Minute),
			RMSMin:   0.001, RMSMax: 0.002, DetectionThresh: 5})
	}
	next := map[int64]int{}
	var meas []catalog.Measurement
	var assocs []catalog.Association
	want := map[[2]int64]wantVar{}
	for range nSrc {
		mean := math.Exp(rng.NormFloat64())
		scatter := mean * (0.1 + 0.5*rng.Float64())
		var rc int64 = -1
		stats := map[int64]*catalog.FluxStats{}
		xs, ss := map[int64][]float64{}, map[int64][]float64{}
		for _, im := range images {
			if rng.IntN(3) == 0 {
				continue
			}
			id := catalog.MeasurementID(im.ID, next[im.ID])
			next[im.ID]++
			if rc < 0 {
				rc = id
			}
			x := mean + scatter*rng.NormFloat64()
			s := scatter * (0.3 + rng.Float64())
			et := int32(catalog.ExtractBlind)
			if rng.IntN(5) == 0 {
				et = catalog.ExtractForced
			}
			meas = append(meas, catalog.Measurement{ID: id, Image: im.ID, ExtractType: et,
				FInt: x, FIntErr: s, FPeak: x * 1.1, FPeakErr: s})
			b := im.Band
			if stats[b] == nil {
				stats[b] = &catalog.FluxStats{}
			}
			stats[b].Add(x, s)
			xs[b], ss[b] = append(xs[b], x), append(ss[b], s)
			assocs = append(assocs, catalog.Association{Runcat: rc, Xtrsrc: id, Type: catalog.AssocOneToOne,
				VInt: stats[b].V(), EtaInt: stats[b].Eta(), FDatapoints: stats[b].N})
		}
		for b, st := range stats {
			eta, v := testutil.EtaV(xs[b], ss[b])
			last := assocs[len(assocs)-1]
			for i := len(assocs) - 1; i >= 0; i-- { // the last association in band b
				if assocs[i].Runcat == rc && imageBand(assocs[i].Xtrsrc) == b {
					last = assocs[i]
					break
				}
			}
			want[[2]int64{rc, b}] = wantVar{n: st.N, incEta: last.EtaInt, incV: last.VInt, eta: eta, v: v}
		}
	}
	for _, err := range []error{
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableImages), images),
		catalog.WriteFile(rundir.PartPath(dir, catalog.TableMeasurements, 0, "blind", 0), meas[:len(meas)/2]),
		catalog.WriteFile(rundir.PartPath(dir, catalog.TableMeasurements, 1, "blind", 0), meas[len(meas)/2:]),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableAssociations), assocs),
	} {
		if err != nil {
			return nil, err
		}
	}
	return want, nil
}

func imageBand(xtrsrc int64) int64 {
	im, _ := catalog.SplitMeasurementID(xtrsrc)
	return 2 - im%2
}
