package pipeline

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/respond"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
	"gotrap/kernels"
	"gotrap/kernels/sphere"
)

// TestCircularPolarisation: the simulator's Stokes I and Stokes V images
// of one sky (tiny preset with the Stokes V test's sources: half the
// generated ones and four bright user sources circularly polarised,
// both signs) written as two-plane cubes (STOKES axis I, V), run with
// circular_polarisation: every association of a measurement of a
// polarised source whose V S/N is at least 10 in an accepted image has a
// circpol row whose circ_frac is within 5 of its errors of the truth
// circ_pol (so with its sign); bright unpolarised sources (I S/N >= 50)
// give a fraction within 5 errors of 0; both signs are measured. Sources
// with a neighbour of more than 5% of their flux within 300" (about two
// beams at 120 MHz: the measurement holds some of the neighbour's I and
// V) are left out (blended).
func TestCircularPolarisation(t *testing.T) {
	src := filepath.Join(t.TempDir(), "sources.csv")
	if err := os.WriteFile(src, []byte(stokesVSources), 0o644); err != nil {
		t.Fatal(err)
	}
	dataI := pipetest.Simulate(t, "tiny", 1, "circular_frac", "0.5", "sources", src)
	dataV := pipetest.Simulate(t, "tiny", 1, "circular_frac", "0.5", "sources", src, "stokes", "V")
	cubes := filepath.Join(t.TempDir(), "cubes")
	if err := os.MkdirAll(cubes, 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join(dataI, "images", "*.fits"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no images: %v", err)
	}
	for _, p := range names {
		base := filepath.Base(p)
		pi, mi, err := fitsimg.Read(p, fitsimg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		pv, mv, err := fitsimg.Read(filepath.Join(dataV, "images", base), fitsimg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if mi.Stokes != "I" || mv.Stokes != "V" {
			t.Fatalf("%s: Stokes %s and %s, want I and V", base, mi.Stokes, mv.Stokes)
		}
		hdr := mi.Header.Clone()
		hdr.Set("CDELT4", 3.0, "") // 1 = I, 4 = V
		writeCubeAxis(t, filepath.Join(cubes, base), []*kernels.Image{pi, pv}, hdr, 4)
	}
	cfg := testConfig()
	cfg.Pipeline.CircularPolarisation = true
	run := runInputs(t, cubes, cfg)

	c := pipetest.ReadCatalogue(t, run)
	f, err := os.Open(rundir.TablePath(run, catalog.TableCircPol))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := catalog.Read[catalog.CircPol](f)
	if err != nil {
		t.Fatal(err)
	}
	byM := map[int64][]catalog.CircPol{}
	for _, r := range rows {
		byM[r.Measurement] = append(byM[r.Measurement], r)
	}
	imgs := map[int64]catalog.Image{}
	for _, im := range c.Images {
		imgs[im.ID] = im
	}
	// The truth: each source's circ_pol, and its V and I S/N per image.
	pol := map[int]float64{}
	for _, r := range testutil.ReadCSV(t, filepath.Join(dataV, "truth", "sources.csv")) {
		id, _ := strconv.Atoi(r["source_id"])
		pol[id], _ = strconv.ParseFloat(r["circ_pol"], 64)
	}
	type key struct {
		src   int
		image string
	}
	snrV := map[key]float64{}
	for _, fl := range pipetest.ReadTruth(t, dataV).Fluxes {
		snrV[key{fl.Source, filepath.Base(fl.Image)}] = fl.SNR
	}
	truthI := pipetest.ReadTruth(t, dataI)
	snrI := map[key]float64{}
	for _, fl := range truthI.Fluxes {
		snrI[key{fl.Source, filepath.Base(fl.Image)}] = fl.SNR
	}
	var checked, zero int
	signs := map[bool]int{}
	for _, m := range c.Measurements {
		im := imgs[m.Image]
		if im.Rejected {
			continue
		}
		// The nearest truth source within the matching radius.
		src, best := 0, pipetest.MatchArcsec
		for id, s := range truthI.Sources {
			if d := sphere.Sep(s.RA, s.Dec, m.RA, m.Decl) * 3600; d <= best {
				src, best = id, d
			}
		}
		k := key{src, filepath.Base(im.URL)}
		switch {
		case src == 0 || blended(truthI, src):
			continue
		case pol[src] != 0 && math.Abs(snrV[k]) >= 10:
			if len(byM[m.ID]) == 0 {
				t.Errorf("measurement %d (source %d, V S/N %.1f): no circpol row", m.ID, src, snrV[k])
				continue
			}
			r := byM[m.ID][0]
			if math.Abs(r.CircFrac-pol[src]) > 5*r.CircFracErr {
				t.Errorf("measurement %d (source %d): circ_frac %.4f +- %.4f, truth %.4f; V %v +- %v, I %v +- %v type %d, peak I %v; image %s", m.ID, src, r.CircFrac, r.CircFracErr, pol[src], r.FIntV, r.FIntVErr, m.FInt, m.FIntErr, m.ExtractType, m.FPeak, im.URL)
			}
			checked++
			signs[r.CircFrac > 0]++
		case pol[src] == 0 && snrI[k] >= 50 && len(byM[m.ID]) > 0:
			r := byM[m.ID][0]
			if math.Abs(r.CircFrac) > 5*r.CircFracErr {
				t.Errorf("measurement %d (unpolarised source %d): circ_frac %.4f +- %.4f", m.ID, src, r.CircFrac, r.CircFracErr)
			}
			zero++
		}
	}
	if checked == 0 || zero == 0 || signs[true] == 0 || signs[false] == 0 {
		t.Fatalf("checked %d polarised (%d positive, %d negative) and %d unpolarised measurements: want some of each", checked, signs[true], signs[false], zero)
	}
	t.Logf("%d circpol rows; %d polarised measurements (%d positive, %d negative) and %d unpolarised checked", len(rows), checked, signs[true], signs[false], zero)

	// The events carry the circular polarisation of their measurement.
	evs, err := respond.Events(context.Background(), run, cfg, respond.All)
	if err != nil {
		t.Fatal(err)
	}
	with := 0
	for _, e := range evs {
		cp, ok := byM[e.Measurement]
		if !ok {
			if e.CircFrac.Valid {
				t.Errorf("event %s has circ_frac %v but its measurement no circpol row", e.ID, e.CircFrac.Float64)
			}
			continue
		}
		with++
		if !e.CircFrac.Valid || e.CircFrac.Float64 != cp[0].CircFrac || e.CircFracLimit.Float64 != cp[0].CircFracLimit {
			t.Errorf("event %s: circ_frac %+v, limit %+v; circpol %v, %v", e.ID, e.CircFrac, e.CircFracLimit, cp[0].CircFrac, cp[0].CircFracLimit)
		}
	}
	if with == 0 {
		t.Errorf("none of %d events has a measurement with circular polarisation", len(evs))
	}
}

// blended reports whether truth source id has a neighbour of more than 5%
// of its flux within 300".
func blended(t *pipetest.Truth, id int) bool {
	s := t.Sources[id]
	for o, n := range t.Sources {
		if o != id && n.Flux > 0.05*s.Flux && sphere.Sep(n.RA, n.Dec, s.RA, s.Dec)*3600 < 300 {
			return true
		}
	}
	return false
}
