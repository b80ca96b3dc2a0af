package pipeline

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/fitsimg"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
	"gotrap/kernels/sphere"
)

// backwardZMax bounds |f_peak / f_peak_err| of a backward fit where the
// truth says the transient was off: the fit is then pure noise, and with
// calibrated errors f/err is a standard normal, so 5 (a two-sided
// probability of 6e-7 per fit, for the few dozen fits of tiny) fails only
// when the fit is biased (a position, id or image mix-up would put real
// flux or another source under the box) or its error is badly wrong.
const backwardZMax = 5

// backwardZMeanMax bounds the mean of f_peak/f_peak_err over those fits:
// for N unbiased standard-normal values the mean has sd 1/sqrt(N) (N is
// checked to be at least 10 below), so 3/sqrt(10) ~ 0.95 is 3 sd at the
// smallest N; the test uses 1.
const backwardZMeanMax = 1

// backwardAssocs reads RUN/associations/backward-00000.parquet.
func backwardAssocs(t *testing.T, run string) []catalog.Association {
	t.Helper()
	as, err := readStaged[catalog.Association](backwardAssocFile(run))
	if err != nil {
		t.Fatal(err)
	}
	return as
}

// TestBackwardFits: with [forced_fits] backward = true, every runcat
// but the monitor's gets a backward fit in each accepted image of an
// earlier timestep than its first association that holds its position,
// and nowhere else; the simulated transients of tiny get them in every
// earlier accepted image that holds them (the truth's fluxes list), with
// fluxes consistent with zero where they were off. The stage gives the
// same rows on 1 and 2 ranks, changes no other table, and a run with the
// option off has no trace of it.
func TestBackwardFits(t *testing.T) {
	data := tiny(t)
	truth := pipetest.ReadTruth(t, data)
	off := config.Default()
	off.Monitor.Positions = [][2]float64{{150.2, 53.3}}
	on := off
	on.ForcedFits.Backward = true

	run1, sum1 := runRanks(t, data, on, 1)
	c := pipetest.ReadCatalogue(t, run1)
	bas := backwardAssocs(t, run1)

	// The tables of the association are those of a run without backward
	// fits, row for row; that run has no backward files at all.
	runOff, _ := runRanks(t, data, off, 1)
	cOff := sortedCatalogue(t, runOff)
	cOn := sortedCatalogue(t, run1)
	var backMs []catalog.Measurement
	cOn.Measurements = slices.DeleteFunc(cOn.Measurements, func(m catalog.Measurement) bool {
		if m.ExtractType == catalog.ExtractBackward {
			backMs = append(backMs, m)
			return true
		}
		return false
	})
	equalTables(t, "backward on vs off", cOff, cOn)
	for _, p := range []string{rundir.StepDir(runOff, StageBackward), filepath.Join(runOff, catalog.TableAssociations),
		rundir.PartPath(runOff, catalog.TableMeasurements, 0, StageBackward, 0)} {
		if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("backward = false: %s exists (%v)", p, err)
		}
	}
	if m, err := rundir.ReadManifest(runOff); err != nil || m.Done(StageBackward) || slices.ContainsFunc(m.Stages, func(s rundir.Stage) bool { return s.Name == StageBackward }) {
		t.Errorf("backward = false: manifest lists the backward stage (%v)", err)
	}
	if sum1.Backward != len(backMs) || len(backMs) == 0 || len(bas) != len(backMs) {
		t.Fatalf("%d backward measurements, %d associations, summary %d: want equal and > 0", len(backMs), len(bas), sum1.Backward)
	}

	// Ids, types and links.
	images := map[int64]*catalog.Image{}
	for i := range c.Images {
		images[c.Images[i].ID] = &c.Images[i]
	}
	byID := map[int64]catalog.Measurement{}
	for _, m := range c.Measurements {
		if _, dup := byID[m.ID]; dup {
			t.Fatalf("measurement id %d twice", m.ID)
		}
		byID[m.ID] = m
	}
	first := map[int64]int64{} // runcat -> earliest timestep of its associations
	for _, a := range c.Associations {
		ts := images[byID[a.Xtrsrc].Image].Timestep
		if f, ok := first[a.Runcat]; !ok || ts < f {
			first[a.Runcat] = ts
		}
	}
	runcats := map[int64]catalog.Runcat{}
	for _, r := range c.Runcats {
		runcats[r.ID] = r
	}
	got := map[[2]int64]catalog.Measurement{} // (runcat, image) -> fit
	for k, a := range bas {
		m, ok := byID[a.Xtrsrc]
		img, idx := catalog.SplitMeasurementID(a.Xtrsrc)
		rc, rok := runcats[a.Runcat]
		switch {
		case !ok || !rok:
			t.Fatalf("association %+v: measurement or runcat missing", a)
		case a.Type != catalog.AssocBackward || a.FDatapoints != 0 || a.VInt != 0 || a.EtaInt != 0:
			t.Errorf("association %+v: want type %d and no flux statistics", a, catalog.AssocBackward)
		case m.ExtractType != catalog.ExtractBackward || !m.FFRuncat.Valid || m.FFRuncat.Int64 != a.Runcat || m.Image != img || idx < backwardIndex:
			t.Errorf("measurement %+v of association %+v", m, a)
		case rc.MonSrc:
			t.Errorf("monitor runcat %d has a backward fit", a.Runcat)
		case images[img].Rejected || images[img].Timestep >= first[a.Runcat]:
			t.Errorf("runcat %d: backward fit in image %d (timestep %d, rejected %v), first association at timestep %d",
				a.Runcat, img, images[img].Timestep, images[img].Rejected, first[a.Runcat])
		case (sphere.Sep(m.RA, m.Decl, rc.WmRA, rc.WmDecl) * 3600) > 1e-6:
			// The fitter reports the position back through the WCS
			// (sky -> pixel -> sky), which moves it by a few ulp
			// (1e-14 deg); 1e-6 arcsec is far below that of any real
			// mix-up and far above the round trip.
			t.Errorf("runcat %d: fitted at (%v, %v), want its final position (%v, %v)", a.Runcat, m.RA, m.Decl, rc.WmRA, rc.WmDecl)
		case k > 0 && (bas[k-1].Runcat > a.Runcat || bas[k-1].Runcat == a.Runcat && bas[k-1].Xtrsrc >= a.Xtrsrc):
			t.Errorf("associations not sorted by (runcat, xtrsrc) at row %d", k)
		}
		got[[2]int64{a.Runcat, img}] = m
	}

	// The simulated transients: the runcat of each (nearest within
	// pipetest.MatchArcsec) has a fit in every accepted image of an
	// earlier timestep than its first association that the truth lists
	// the transient in, and where the truth flux is 0, a flux consistent
	// with zero.
	urlOf := map[string]*catalog.Image{}
	for i := range c.Images {
		urlOf[c.Images[i].URL] = &c.Images[i]
	}
	var zs []float64
	checked := 0
	for _, s := range truth.Sources {
		if s.Class != "transient" {
			continue
		}
		var rc *catalog.Runcat
		best := pipetest.MatchArcsec
		for i, r := range c.Runcats {
			if d := (sphere.Sep(s.RA, s.Dec, r.WmRA, r.WmDecl) * 3600); d < best && !r.MonSrc {
				rc, best = &c.Runcats[i], d
			}
		}
		if rc == nil {
			continue
		}
		f := first[rc.ID]
		if f == 0 {
			t.Errorf("transient %d (runcat %d) associated in the first timestep", s.ID, rc.ID)
			continue
		}
		checked++
		want := 0
		for _, fl := range truth.Fluxes {
			img := urlOf[filepath.Join(data, fl.Image)]
			if fl.Source != s.ID || img == nil || img.Rejected || img.Timestep >= f {
				continue
			}
			want++
			m, ok := got[[2]int64{rc.ID, img.ID}]
			if !ok {
				t.Errorf("transient %d (runcat %d, first at timestep %d): no backward fit in image %d (timestep %d)", s.ID, rc.ID, f, img.ID, img.Timestep)
				continue
			}
			if fl.Flux == 0 {
				z := m.FPeak / m.FPeakErr
				zs = append(zs, z)
				if !(math.Abs(z) < backwardZMax) {
					t.Errorf("transient %d off in image %d: f_peak %.4g +- %.4g (%.2f sigma)", s.ID, img.ID, m.FPeak, m.FPeakErr, z)
				}
			}
		}
		n := 0
		for k := range got {
			if k[0] == rc.ID {
				n++
			}
		}
		if n != want {
			t.Errorf("transient %d (runcat %d): %d backward fits, want %d", s.ID, rc.ID, n, want)
		}
	}
	if checked < 2 || len(zs) < 10 {
		t.Fatalf("%d transients with backward fits, %d fits where off: the test needs at least 2 and 10", checked, len(zs))
	}
	mean := 0.0
	for _, z := range zs {
		mean += z / float64(len(zs))
	}
	if math.Abs(mean) > backwardZMeanMax {
		t.Errorf("mean f_peak/f_peak_err of %d off-transient fits = %.3f", len(zs), mean)
	}
	withFits := map[int64]bool{}
	for _, a := range bas {
		withFits[a.Runcat] = true
	}
	t.Logf("%d backward fits of %d runcats; %d transients checked, %d fits where off: mean z %.3f, max |z| %.3f",
		len(bas), len(withFits), checked, len(zs), mean, slices.Max(absAll(zs)))

	// Two ranks: the same rows.
	run2, _ := runRanks(t, data, on, 2)
	equalTables(t, "2 ranks", sortedCatalogue(t, run1), sortedCatalogue(t, run2))
	cmpRows(t, "2 ranks: backward associations", bas, backwardAssocs(t, run2))
	// Both ranks fitted images (the LPT split of the images with
	// requests).
	for r := range 2 {
		ms, err := readStaged[catalog.Measurement](rundir.PartPath(run2, catalog.TableMeasurements, r, StageBackward, 0))
		if err != nil || len(ms) == 0 {
			t.Errorf("2 ranks: rank %d wrote %d backward fits (%v), want some", r, len(ms), err)
		}
	}
}

func absAll(v []float64) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = math.Abs(x)
	}
	return out
}

// TestBackwardResume: a run stopped after the association resumes on
// another number of ranks, removes the backward part an earlier attempt
// on more ranks left, and gives the uninterrupted run's catalogue; a
// resume of a finished run reuses the stage.
func TestBackwardResume(t *testing.T) {
	data := tiny(t)
	cfg := config.Default()
	cfg.ForcedFits.Backward = true
	ref, _ := runRanks(t, data, cfg, 1)

	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(t.TempDir(), "run")
	stop := errors.New("stop")
	_, err = RunRanks(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, CPUs: 2,
		AfterStage: func(s string) error {
			if s == StageTables {
				return stop
			}
			return nil
		}}, 3)
	if !errors.Is(err, stop) {
		t.Fatalf("error %v, want %v", err, stop)
	}
	stale := rundir.PartPath(run, catalog.TableMeasurements, 5, StageBackward, 0)
	if err := catalog.WriteFile(stale, []catalog.Measurement{{ID: 1, Image: 1, ExtractType: catalog.ExtractBackward}}); err != nil {
		t.Fatal(err)
	}
	sum, err := RunRanks(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, CPUs: 2, Resume: true}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale part %s left (%v)", stale, err)
	}
	equalTables(t, "resumed", sortedCatalogue(t, ref), sortedCatalogue(t, run))
	cmpRows(t, "resumed: backward associations", backwardAssocs(t, ref), backwardAssocs(t, run))
	n := sum.Backward
	if n == 0 {
		t.Fatal("no backward fits")
	}
	var text strings.Builder
	sum.Format(&text)
	if want := fmt.Sprintf(", %d backward forced fits\n", n); !strings.Contains(text.String(), want) {
		t.Errorf("summary does not say %q:\n%s", want, text.String())
	}
	// Again: every stage is done; the count comes from the parts.
	sum, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Resume: true, Workers: 2})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Backward != n || len(sum.Stages) != 1 || sum.Stages[0].Name != StagePlan {
		var names []string
		for _, s := range sum.Stages {
			names = append(names, s.Name)
		}
		t.Errorf("second resume: %d backward fits (want %d), stages %s (want plan only)", sum.Backward, n, strings.Join(names, ","))
	}
}

// TestBackwardRequests: the requests of each image are the sources of a
// later first timestep whose position is on an accepted image (the
// fitter's pixel bounds) and, with extraction_radius_pix set, inside the
// circle of that radius around the image centre; by runcat id, the
// same for every band.
func TestBackwardRequests(t *testing.T) {
	data := tiny(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(context.Background(), inputs, fitsimg.Options{}, time.Second, assocConfig(config.Default()), 2)
	if err != nil {
		t.Fatal(err)
	}
	w := plan.Image(0).Meta.WCS
	sky := func(x, y float64) (float64, float64) {
		ra, dec, err := w.PixToSky(x, y)
		if err != nil {
			t.Fatal(err)
		}
		return ra, dec
	}
	rows := make([]catalog.Image, plan.Len())
	rows[2].Rejected = true // image 3 (timestep 1) takes no part
	var srcs []backSource
	add := func(id int64, x, y float64, first int64) {
		ra, dec := sky(x, y)
		srcs = append(srcs, backSource{runcat: id, ra: ra, dec: dec, first: first})
	}
	add(10, 128, 128, 3)   // the centre: requested in timesteps 0-2
	add(20, 5, 5, 2)       // a corner, 174 px from the centre: timesteps 0-1, without a radius
	add(30, -10, 128, 7)   // off the image: never
	add(40, 128, 100, 0)   // first detected in the first timestep: never
	add(50, 255.4, 0.2, 1) // the last pixel: timestep 0
	for _, radius := range []float64{0, 50} {
		reqs, err := backwardRequests(context.Background(), plan, rows, srcs, radius, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i := range plan.Len() {
			img := plan.Image(i)
			var want []int64
			if i != 2 {
				for _, s := range srcs {
					inCircle := radius == 0 || s.runcat == 10
					if s.first > img.Timestep && s.runcat != 30 && s.runcat != 40 && inCircle {
						want = append(want, s.runcat)
					}
				}
			}
			var got []int64
			for _, q := range reqs[i].null {
				got = append(got, q.Runcat)
			}
			if !slices.Equal(got, want) || len(reqs[i].mon) != 0 {
				t.Errorf("radius %v: image %d (timestep %d): requests %v, want %v", radius, img.ID, img.Timestep, got, want)
			}
		}
	}
}

// TestBackwardFailure: a panic in a backward fit stops every rank; the
// error names the rank and the image.
func TestBackwardFailure(t *testing.T) {
	data := tiny(t)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	victim := injectFault(t, StageBackward)
	cfg := config.Default()
	cfg.ForcedFits.Backward = true
	_, err = RunRanks(context.Background(), Options{Run: filepath.Join(t.TempDir(), "run"), Inputs: inputs, Config: cfg, CPUs: 2}, 2)
	img := victim.Load()
	if img == nil {
		t.Fatalf("no backward fit ran; error %v", err)
	}
	checkImageFailure(t, err, img, StageBackward)
}
