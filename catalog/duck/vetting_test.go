package duck

import (
	"context"
	"database/sql"
	"math"
	"slices"
	"strconv"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// vetSource is one source of the constructed vetting run.
type vetSource struct {
	name     string
	ra, dec  float64
	x, y     float64 // pixel position (the images are 200 x 200 px)
	fpeak    float64
	newType  int32   // -1: not a new source (detected in both images)
	rmsAt    float64 // limits: rms at the position in image 1
	blended  bool
	smajDC   float64
	smajDCEr float64
}

// The constructed run: one band, one sky region centred on (10, 0) with
// xtr_radius 1 deg, 200 x 200 px of 0.002 deg (7.2"), beam rb_smaj 0.01
// deg (FWHM 72" = 10 px), detection threshold 5, sigma margin 1; image 1
// at t0, image 2 at t0 + 15 min. S is a bright steady source in both;
// the others are new in image 2.
//
//   - N, type 1, f_peak 1, rms at its position 0.01: new_high_sigma 100,
//     no flag;
//   - N2, type 0, 0.2 / 0.01 = 20, no flag;
//   - B, type 1, blended, 100" from S (5 Jy): flags blend, neighbour
//     (closer than 2 FWHM = 144" and brighter); 0.5/0.01 = 50;
//   - E, type 1, 5 px from the image edge (< 2 FWHM = 20 px): edge;
//     0.4/0.01 = 40;
//   - X, type 0, smaj_dc 3 +- 0.5 px (6 errors): extended; 30;
//   - L, type 0, 0.05/0.01 = 5 < 5 + 1: low_sigma.
func vetSources() []vetSource {
	return []vetSource{
		{name: "S", ra: 10.12778, dec: 0.05, x: 36, y: 125, fpeak: 5, newType: -1},
		{name: "N", ra: 10, dec: 0, x: 100, y: 100, fpeak: 1, newType: 1, rmsAt: 0.01},
		{name: "N2", ra: 10, dec: -0.1, x: 100, y: 50, fpeak: 0.2, newType: 0, rmsAt: 0.01},
		{name: "B", ra: 10.1, dec: 0.05, x: 50, y: 125, fpeak: 0.5, newType: 1, rmsAt: 0.01, blended: true},
		{name: "E", ra: 10.19, dec: 0, x: 5, y: 100, fpeak: 0.4, newType: 1, rmsAt: 0.01},
		{name: "X", ra: 9.9, dec: 0, x: 150, y: 100, fpeak: 0.3, newType: 0, rmsAt: 0.01, smajDC: 3, smajDCEr: 0.5},
		{name: "L", ra: 10, dec: 0.1, x: 100, y: 150, fpeak: 0.05, newType: 0, rmsAt: 0.01},
	}
}

// writeVetRun writes the constructed run and returns the runcat id of
// each source.
func writeVetRun(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var images []catalog.Image
	for id := int64(1); id <= 2; id++ {
		images = append(images, catalog.Image{ID: id, URL: "i" + strconv.FormatInt(id, 10) + ".fits", Band: 1, SkyRegion: 1,
			Timestep: id - 1, Stokes: 1, TauStart: t0.Add(time.Duration(id-1) * 15 * time.Minute), TauTime: 600,
			FreqEff: 150e6, FreqBW: 1e6, RBSmaj: 0.01, RBSmin: 0.01, DeltaX: -0.002, DeltaY: 0.002, NX: 200, NY: 200,
			CentreRA: 10, CentreDec: 0, RMSQC: 0.01, RMSMin: 0.01, RMSMax: 0.02, DetectionThresh: 5, AnalysisThresh: 3})
	}
	unit := func(ra, dec float64) (x, y, z float64) {
		r, d := ra*math.Pi/180, dec*math.Pi/180
		return math.Cos(d) * math.Cos(r), math.Cos(d) * math.Sin(r), math.Sin(d)
	}
	sx, sy, sz := unit(10, 0)
	ids := map[string]int64{}
	var meas []catalog.Measurement
	var assocs []catalog.Association
	var rcs []catalog.Runcat
	var news []catalog.NewSource
	var limits []catalog.Limit
	next := map[int64]int{}
	for _, s := range vetSources() {
		imgs := []int64{2}
		if s.newType < 0 {
			imgs = []int64{1, 2}
		}
		for k, im := range imgs {
			id := catalog.MeasurementID(im, next[im])
			next[im]++
			x, y, z := unit(s.ra, s.dec)
			meas = append(meas, catalog.Measurement{ID: id, Image: im, FitType: catalog.FitGaussian, RA: s.ra, Decl: s.dec,
				X: x, Y: y, Z: z, FPeak: s.fpeak, FPeakErr: 0.01, FInt: s.fpeak, FIntErr: 0.01, DetSigma: s.fpeak / 0.01,
				XPix: s.x, YPix: s.y, Smaj: 5, Smin: 5, SmajDC: s.smajDC, SmajDCErr: s.smajDCEr, Blended: s.blended})
			if k == 0 {
				ids[s.name] = id
				rcs = append(rcs, catalog.Runcat{ID: id, Xtrsrc: id, Datapoints: int64(len(imgs)), WmRA: s.ra, WmDecl: s.dec, X: x, Y: y, Z: z})
			}
			typ := int32(catalog.AssocOneToOne)
			if k == 0 {
				typ = catalog.AssocNewSource
			}
			assocs = append(assocs, catalog.Association{Runcat: ids[s.name], Xtrsrc: id, Type: typ})
		}
		if s.newType >= 0 {
			news = append(news, catalog.NewSource{ID: ids[s.name], Runcat: ids[s.name], TriggerXtrsrc: ids[s.name],
				PreviousLimitsImage: 1, Type: s.newType})
			limits = append(limits, catalog.Limit{Runcat: ids[s.name], Image: 1, XPix: s.x, YPix: s.y, RMS: s.rmsAt,
				RMSFromMap: true, FPeakLimit: 5 * s.rmsAt, SigmaMargin: 1})
		}
	}
	slices.SortFunc(meas, func(a, b catalog.Measurement) int { return int(a.ID - b.ID) })
	for _, err := range []error{
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableImages), images),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableBands), []catalog.Band{{ID: 1, FreqCentral: 150e6}}),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableSkyRegions), []catalog.SkyRegion{{ID: 1, CentreRA: 10, XtrRadius: 1, X: sx, Y: sy, Z: sz}}),
		catalog.WriteFile(rundir.PartPath(dir, catalog.TableMeasurements, 0, "blind", 0), meas),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableAssociations), assocs),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableRuncat), rcs),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableNewSources), news),
		catalog.WriteFile(rundir.TablePath(dir, catalog.TableLimits), limits),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return ids
}

// TestVettingFlags checks each flag of the vetting view on the
// constructed run, and the order and hiding of the transients query.
func TestVettingFlags(t *testing.T) {
	dir := t.TempDir()
	ids := writeVetRun(t, dir)
	db, err := Open(context.Background(), dir, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	name := map[int64]string{}
	for k, v := range ids {
		name[v] = k
	}
	rows, err := db.SQL().Query(`SELECT runcat, ref, flags, new_high_sigma, nn_dist_arcsec, nn_f_peak, edge_dist_pix FROM vetting`)
	if err != nil {
		t.Fatal(err)
	}
	type vet struct {
		ref, flags  string
		hs, nn, nnF sql.NullFloat64
		edge        float64
	}
	got := map[string]vet{}
	for rows.Next() {
		var rc int64
		var v vet
		if err := rows.Scan(&rc, &v.ref, &v.flags, &v.hs, &v.nn, &v.nnF, &v.edge); err != nil {
			t.Fatal(err)
		}
		got[name[rc]] = v
	}
	rows.Close()
	for _, c := range []struct {
		name, ref, flags string
		hs               float64 // 0: null
	}{
		{"S", "brightest", "", 0},
		{"N", "trigger", "", 100},
		{"N2", "trigger", "", 20},
		{"B", "trigger", "blend,neighbour", 50},
		{"E", "trigger", "edge", 40},
		{"X", "trigger", "extended", 30},
		{"L", "trigger", "low_sigma", 5},
	} {
		v, ok := got[c.name]
		if !ok {
			t.Errorf("%s: no vetting row", c.name)
			continue
		}
		if v.ref != c.ref || v.flags != c.flags {
			t.Errorf("%s: ref %q flags %q, want %q %q", c.name, v.ref, v.flags, c.ref, c.flags)
		}
		// new_high_sigma is one division of exact decimals: 1e-12.
		if (c.hs == 0) != !v.hs.Valid || c.hs != 0 && math.Abs(v.hs.Float64-c.hs) > 1e-12*c.hs {
			t.Errorf("%s: new_high_sigma %v, want %v", c.name, v.hs, c.hs)
		}
	}
	// B's neighbour is S, 0.02778 deg = 100" away along the equator.
	if b := got["B"]; !b.nn.Valid || math.Abs(b.nn.Float64-100) > 0.1 || b.nnF.Float64 != 5 {
		t.Errorf("B's nearest neighbour: %v arcsec, %v Jy; want 100 (to 0.1: the 5-digit position), 5", b.nn, b.nnF)
	}
	if e := got["E"]; e.edge != 5 {
		t.Errorf("E's edge distance %v px, want 5", e.edge)
	}

	order := func(all bool) []string {
		q, _ := Lookup("transients")
		var flags []string
		if all {
			flags = []string{"all"}
		}
		s, err := q.BindFlags(nil, flags)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := db.SQL().Query(s)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		tab := dump(t, rows)
		var out []string
		for _, r := range tab[1:] {
			rc, _ := strconv.ParseInt(r[0], 10, 64)
			out = append(out, name[rc])
		}
		return out
	}
	// Unflagged first (type 1 before type 0), then the flagged ones by
	// type and new_high_sigma; hidden without --all.
	if got, want := order(false), []string{"N", "N2"}; !slices.Equal(got, want) {
		t.Errorf("transients: %v, want %v", got, want)
	}
	if got, want := order(true), []string{"N", "N2", "B", "E", "X", "L"}; !slices.Equal(got, want) {
		t.Errorf("transients --all: %v, want %v", got, want)
	}
}
