package assoc

import (
	"cmp"
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"gotrap/catalog"
)

func TestOneToOne(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	addImage(t, e, imageAt(2, 1, 150e6, 10, 30))
	a := meas(1, 0, 10, 30, 1, 1)
	res1 := blind(t, e, 1, a)
	if len(res1.Associations) != 1 || res1.Associations[0].Type != catalog.AssocNewSource {
		t.Fatalf("image 1 links = %+v, want one type 4", res1.Associations)
	}
	// The second point is 5 arcsec north: r = 5/14.142 = 0.35355,
	// distance 5 arcsec.
	b := meas(2, 0, 10, 30+5*arcsec, 3, 1)
	res2 := blind(t, e, 2, b)
	if len(res2.Associations) != 1 {
		t.Fatalf("image 2 links = %+v", res2.Associations)
	}
	l := res2.Associations[0]
	if l.Runcat != a.ID || l.Xtrsrc != b.ID || l.Type != catalog.AssocOneToOne || l.FDatapoints != 2 {
		t.Fatalf("link = %+v", l)
	}
	checkNear(t, "r", l.R, 5/math.Sqrt(200), 1e-9) // 5 arcsec over 1e-9 relative: chord rounding ~1e-16/1e-5 rad
	checkNear(t, "distance", l.Distance, 5, 1e-9)  // idem
	// Fluxes 1 and 3 with errors 1: mean 2, s = sqrt 2, V = sqrt(2)/2;
	// eta = ((1-2)^2 + (3-2)^2)/1 / (2-1) = 2.
	checkNear(t, "v_int", l.VInt, math.Sqrt2/2, ulpTol)
	checkNear(t, "eta_int", l.EtaInt, 2, ulpTol)
	rc := mustRuncat(t, e, a.ID)
	// Equal weights: the mean is 2.5 arcsec north; the uncertainty
	// 1/sqrt(2/sigma^2) = sigma/sqrt 2.
	if rc.Datapoints != 2 || rc.ForcedFitsCount != 0 || rc.Xtrsrc != a.ID {
		t.Errorf("runcat = %+v", rc)
	}
	checkNear(t, "wm_decl", rc.WmDecl, 30+2.5*arcsec, ulpTol)
	checkNear(t, "wm_ra", rc.WmRA, 10, ulpTol)
	checkNear(t, "wm_uncertainty_ns", rc.WmUncertNS, sigma1/math.Sqrt2, ulpTol)
	checkNear(t, "avg_wra/avg_weight_ra", rc.AvgWRA/rc.AvgWeightRA, rc.WmRA, ulpTol)
	f, ok := e.Flux(a.ID, 1)
	if !ok || f.FDatapoints != 2 {
		t.Fatalf("flux = %+v", f)
	}
	checkNear(t, "avg_f_int", f.AvgFInt, 2, ulpTol)
	checkNear(t, "avg_f_int_sq", f.AvgFIntSq, 5, ulpTol) // (1 + 9)/2
	if !slices.Equal(res2.Changed, []int64{a.ID}) || len(res2.Deleted) != 0 {
		t.Errorf("changed %v deleted %v", res2.Changed, res2.Deleted)
	}
}

// TestForkKeepsEveryBand: a runcat R seen in bands 1 and 2 at t0 meets two
// measurements in band 1 at t1, each a candidate of R only, so R has two
// active pairs (X_multi is empty, nothing is trimmed) and forks (SPEC
// 5.4.2 with decision 4).
func TestForkKeepsEveryBand(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30)) // band 1
	addImage(t, e, imageAt(2, 0, 180e6, 10, 30)) // band 2
	addImage(t, e, imageAt(3, 1, 150e6, 10, 30)) // band 1
	addImage(t, e, imageAt(4, 2, 150e6, 10, 30)) // band 1
	// Previous-image limits for image 3 come from image 1: 0.001*(5+1) =
	// 0.006 and 0.018 Jy. R is bright, so it is a new source only in
	// image 1 with no previous image: no newsource row.
	r := meas(1, 0, 10, 30, 2, 0.5)
	blind(t, e, 1, r)
	res2 := blind(t, e, 2, meas(2, 0, 10, 30, 4, 0.5))
	if len(res2.Associations) != 1 || res2.Associations[0].Type != catalog.AssocOneToOne {
		t.Fatalf("band 2 link %+v", res2.Associations)
	}
	old := linksOf(e, r.ID)
	oldFlux2, _ := e.Flux(r.ID, 2)
	// x1, x2 lie 20 arcsec north and south: both candidates of R only.
	x1 := meas(3, 0, 10, 30+20*arcsec, 1, 0.5)
	x2 := meas(3, 1, 10, 30-20*arcsec, 3, 0.5)
	res := blind(t, e, 3, x2, x1)
	if !slices.Equal(res.Deleted, []int64{r.ID}) || !slices.Equal(e.ForkedInto(r.ID), []int64{x1.ID, x2.ID}) {
		t.Fatalf("deleted %v forks %v", res.Deleted, e.ForkedInto(r.ID))
	}
	if _, ok := e.Runcat(r.ID); ok {
		t.Fatal("forked runcat still live")
	}
	if len(res.Associations) != 2*(len(old)+1) {
		t.Fatalf("got %d links, want 2 * (%d copies + 1 base)", len(res.Associations), len(old))
	}
	for _, x := range []catalog.Measurement{x1, x2} {
		rc := mustRuncat(t, e, x.ID)
		if rc.Xtrsrc != x.ID || rc.Datapoints != 3 || rc.MonSrc {
			t.Errorf("fork %d = %+v", x.ID, rc)
		}
		// Candidate position: (2*avg_wdecl + decl/sigma^2)/(2 W + 1/sigma^2)
		// with equal weights is the mean of 30, 30 and 30 +- 20".
		dd := x.Decl - 30
		checkNear(t, "fork wm_decl", rc.WmDecl, 30+dd/3, ulpTol)
		links := linksOf(e, x.ID)
		if len(links) != len(old)+1 {
			t.Fatalf("fork %d has %d links", x.ID, len(links))
		}
		for i, l := range old {
			c := links[i]
			if c.Type != catalog.AssocForkCopy || c.Xtrsrc != l.Xtrsrc || c.R != l.R || c.VInt != l.VInt ||
				c.EtaInt != l.EtaInt || c.FDatapoints != l.FDatapoints || c.Distance != l.Distance {
				t.Errorf("copy %d = %+v, want copy of %+v", i, c, l)
			}
		}
		base := links[len(old)]
		if base.Type != catalog.AssocForkBase || base.Xtrsrc != x.ID || base.FDatapoints != 2 {
			t.Errorf("base = %+v", base)
		}
		checkNear(t, "base distance", base.Distance, 20, 1e-9) // 20" over chord rounding
		// Band 2 history is copied unchanged (decision 4).
		f2, ok := e.Flux(x.ID, 2)
		f2.Runcat = oldFlux2.Runcat
		if !ok || f2 != oldFlux2 {
			t.Errorf("band 2 flux %+v, want %+v", f2, oldFlux2)
		}
		// Band 1: fluxes 2 and x's (1 or 3), errors 0.5: mean (2+f)/2,
		// V = |f-2|/sqrt 2 / mean, eta = 2 (f-2)^2/4 / 0.25 / 1 =
		// (f-2)^2 * 2.
		f1, _ := e.Flux(x.ID, 1)
		checkNear(t, "band 1 mean", f1.AvgFInt, (2+x.FInt)/2, ulpTol)
		checkNear(t, "base v", base.VInt, math.Abs(x.FInt-2)/math.Sqrt2/((2+x.FInt)/2), ulpTol)
		checkNear(t, "base eta", base.EtaInt, 2*(x.FInt-2)*(x.FInt-2), ulpTol)
	}
	regs := e.AssocSkyRegions()
	if len(regs) != 2 || regs[0].Runcat != x1.ID || regs[1].Runcat != x2.ID || regs[0].SkyRegion != 1 {
		t.Errorf("assocskyrgn = %+v, want region 1 for each fork", regs)
	}
	// A null-detection fit of image 3 for R cannot exist (R had a link in
	// image 3), but the forks are requested in image 4: their first
	// detection (image 3, t1) is earlier.
	res4 := blind(t, e, 4)
	if len(res4.Requests) != 2 || res4.Requests[0].Runcat != x1.ID || res4.Requests[1].Runcat != x2.ID {
		t.Errorf("requests = %+v", res4.Requests)
	}
}

// TestManyToOne: R1, R2 are 40" apart; x midway is a candidate of both,
// each of which has one candidate, so R_multi is empty and both links
// are type 3 (SPEC 5.4.3).
func TestManyToOne(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	addImage(t, e, imageAt(2, 1, 150e6, 10, 30))
	r1 := meas(1, 0, 10, 30, 1, 1)
	r2 := meas(1, 1, 10, 30+40*arcsec, 1, 1)
	res1 := blind(t, e, 1, r1, r2)
	if len(res1.Associations) != 2 {
		t.Fatalf("image 1: %+v", res1.Associations)
	}
	x := meas(2, 0, 10, 30+20*arcsec, 1, 1)
	res := blind(t, e, 2, x)
	if len(res.Associations) != 2 {
		t.Fatalf("links %+v", res.Associations)
	}
	for i, want := range []int64{r1.ID, r2.ID} {
		l := res.Associations[i]
		if l.Runcat != want || l.Xtrsrc != x.ID || l.Type != catalog.AssocOneToOne {
			t.Errorf("link %d = %+v", i, l)
		}
		checkNear(t, "r", l.R, 20/math.Sqrt(200), 1e-9) // 20"/14.142"; chord rounding
	}
	if len(e.Runcats()) != 2 {
		t.Errorf("runcats %+v", e.Runcats())
	}
}

// TestManyToManyTrim: R1 at dec 0, R2 at 40" north; x1 10" and x2 30"
// north. All four pairs are candidates; X_multi = {x1, x2}, R_multi =
// {R1, R2}; each x keeps its smaller r: x1-R1 and x2-R2 (SPEC 5.4.1).
func TestManyToManyTrim(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 0))
	addImage(t, e, imageAt(2, 1, 150e6, 10, 0))
	r1 := meas(1, 0, 10, 0, 1, 1)
	r2 := meas(1, 1, 10, 40*arcsec, 1, 1)
	blind(t, e, 1, r1, r2)
	x1 := meas(2, 0, 10, 10*arcsec, 1, 1)
	x2 := meas(2, 1, 10, 30*arcsec, 1, 1)
	res := blind(t, e, 2, x1, x2)
	want := [][2]int64{{r1.ID, x1.ID}, {r2.ID, x2.ID}}
	if len(res.Associations) != 2 || len(res.Deleted) != 0 {
		t.Fatalf("links %+v deleted %v", res.Associations, res.Deleted)
	}
	for i, w := range want {
		l := res.Associations[i]
		if l.Runcat != w[0] || l.Xtrsrc != w[1] || l.Type != catalog.AssocOneToOne {
			t.Errorf("link %d = %+v, want %v", i, l, w)
		}
	}
}

// TestTrimTieLowestID: x lies exactly midway (in binary-exact RAs) between
// R1 and R2, which each have a second, private candidate. Both pairs of x
// are in the restricted set with equal r; decision 13 keeps the one with
// the lower runcat id, R1, which then forks into x and x1, while R2
// keeps x2 only (1-to-1). Without the tie-break both would fork with x
// and take the same id.
func TestTrimTieLowestID(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 0))
	addImage(t, e, imageAt(2, 1, 150e6, 10, 0))
	const h = 1.0 / 64 // 56.25", exact in binary
	r1 := meas(1, 0, 10-h, 0, 1, 1)
	r2 := meas(1, 1, 10+h, 0, 1, 1)
	blind(t, e, 1, r1, r2)
	// x: r = 56.25/14.142 = 3.98 from both. x1: 14" south of R1, 113"
	// from R2 (r = 8 > 5.68); x2 likewise for R2.
	x := meas(2, 0, 10, 0, 1, 1)
	x1 := meas(2, 1, 10-h, -1.0/256, 1, 1)
	x2 := meas(2, 2, 10+h, -1.0/256, 1, 1)
	res := blind(t, e, 2, x, x1, x2)
	if !slices.Equal(res.Deleted, []int64{r1.ID}) {
		t.Fatalf("deleted %v, want [%d]", res.Deleted, r1.ID)
	}
	if got := e.ForkedInto(r1.ID); !slices.Equal(got, []int64{x.ID, x1.ID}) {
		t.Errorf("forks %v", got)
	}
	l := linksOf(e, r2.ID)
	if len(l) != 2 || l[1].Xtrsrc != x2.ID || l[1].Type != catalog.AssocOneToOne {
		t.Errorf("R2 links %+v", l)
	}
	ids := []int64{}
	for _, rc := range e.Runcats() {
		ids = append(ids, rc.ID)
	}
	if !slices.Equal(ids, []int64{r2.ID, x.ID, x1.ID}) {
		t.Errorf("runcats %v", ids)
	}
}

// TestNewSourceSignificance checks SPEC 8.1: previous images of image 3
// in band 1 and region 1 are image 1 (rms 1-3 mJy, threshold 5: limits
// 0.001*6 = 0.006 and 0.003*6 = 0.018 Jy with margin 1) and image 2
// (rejected, rms 0.1 mJy: excluded). Image 4 is the first of band 2.
func TestNewSourceSignificance(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	im2 := imageAt(2, 1, 150e6, 10, 30)
	im2.Quality = Quality{Rejected: true, RMSMin: 0.0001, RMSMax: 0.0001, DetectionThresh: 5}
	addImage(t, e, im2)
	addImage(t, e, imageAt(3, 2, 150e6, 10, 30))
	addImage(t, e, imageAt(4, 2, 180e6, 10, 30))
	blind(t, e, 1)
	if _, err := e.AssociateBlind(2, nil); err == nil {
		t.Fatal("rejected image associated")
	}
	likely := meas(3, 0, 10, 30, 0.02, 0.001)     // 0.02 > 0.018: type 1
	possible := meas(3, 1, 10.5, 30, 0.01, 0.001) // 0.006 < 0.01 <= 0.018: type 0
	faint := meas(3, 2, 11, 30, 0.006, 0.001)     // not > 0.006: none
	edge := meas(3, 3, 10, 30.5, 0.018, 0.001)    // not > 0.018: type 0
	res := blind(t, e, 3, likely, possible, faint, edge)
	want := map[int64]int32{likely.ID: catalog.NewSourceLikely, possible.ID: catalog.NewSourcePossible,
		edge.ID: catalog.NewSourcePossible}
	if len(res.NewSources) != len(want) {
		t.Fatalf("newsources %+v", res.NewSources)
	}
	for _, ns := range res.NewSources {
		if w, ok := want[ns.Runcat]; !ok || ns.Type != w || ns.PreviousLimitsImage != 1 ||
			ns.TriggerXtrsrc != ns.Runcat || ns.ID != ns.Runcat {
			t.Errorf("newsource %+v", ns)
		}
	}
	// Band 2 has no earlier image: a first-time survey, no rows.
	res4 := blind(t, e, 4, meas(4, 0, 12, 30, 1, 0.001))
	if len(res4.NewSources) != 0 {
		t.Errorf("band 2 newsources %+v", res4.NewSources)
	}
}

// TestNewSourcePreviousChoice: two previous images; the one with the
// smaller low limit wins, ties broken by the smaller high limit.
func TestNewSourcePreviousChoice(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	a := imageAt(1, 0, 150e6, 10, 30)
	a.Quality = Quality{RMSMin: 0.002, RMSMax: 0.002, DetectionThresh: 5} // 0.012, 0.012
	b := imageAt(2, 1, 150e6, 10, 30)
	b.Quality = Quality{RMSMin: 0.002, RMSMax: 0.001, DetectionThresh: 5} // 0.012, 0.006
	c := imageAt(3, 2, 150e6, 10, 30)
	for _, im := range []ImageInfo{a, b, c} {
		addImage(t, e, im)
	}
	blind(t, e, 1)
	blind(t, e, 2)
	// f_peak 0.01 is not above low 0.012: none. 0.013 > 0.012 and > high
	// 0.006 of image 2: type 1 from image 2.
	res := blind(t, e, 3, meas(3, 0, 10, 30, 0.01, 0.001), meas(3, 1, 10.3, 30, 0.013, 0.001))
	if len(res.NewSources) != 1 || res.NewSources[0].PreviousLimitsImage != 2 || res.NewSources[0].Type != 1 {
		t.Errorf("newsources %+v", res.NewSources)
	}
}

func TestPrepare(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 60))
	m := meas(1, 0, 10, 60, 1, 0.1)
	m.RAFitErr, m.DeclFitErr = 0.001, 0.002
	m.ErrRadius = math.Inf(1)
	bad := meas(1, 1, 11, 60, 1, math.Inf(1))
	res := blind(t, e, 1, m, bad)
	if len(res.Measurements) != 1 || !slices.Equal(res.Dropped, []int64{bad.ID}) {
		t.Fatalf("kept %d dropped %v", len(res.Measurements), res.Dropped)
	}
	p := res.Measurements[0]
	// alpha(10", 60) = asin(sin(10")/cos 60) ~ 20"; error_radius inf ->
	// 360"; uncertainty = sqrt(10^2 + 360^2)".
	a := math.Asin(math.Sin(10*arcsec*deg2rad)/0.5) * rad2deg
	checkNear(t, "ra_err", p.RAErr, math.Sqrt(1e-6+a*a), 1e-12) // alpha's atan form vs asin: ~1e-15 relative
	checkNear(t, "decl_err", p.DeclErr, math.Sqrt(4e-6+sigma1*sigma1), ulpTol)
	checkNear(t, "uncertainty_ew", p.UncertEW, math.Sqrt(100+360*360)/3600, ulpTol)
	if p.ErrRadius != 360 || p.Zone != 60 || p.EWSysErr != 10 || p.NSSysErr != 10 {
		t.Errorf("prepared %+v", p)
	}
	checkNear(t, "racosdecl", p.RACosDecl, 5, ulpTol) // 10 * cos 60
	checkNear(t, "z", p.Z, math.Sqrt(3)/2, ulpTol)
}

func TestErrors(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 1, 150e6, 10, 30))
	addImage(t, e, imageAt(2, 0, 150e6, 10, 30))
	if _, _, err := e.AddImage(imageAt(1, 0, 150e6, 10, 30)); err == nil {
		t.Error("duplicate image accepted")
	}
	m := meas(1, 0, 10, 30, 1, 1)
	if _, err := e.AssociateBlind(1, []catalog.Measurement{m, m}); err == nil {
		t.Error("duplicate measurement accepted")
	}
	if _, err := e.AssociateBlind(1, []catalog.Measurement{meas(2, 0, 10, 30, 1, 1)}); err == nil {
		t.Error("measurement of another image accepted")
	}
	blind(t, e, 1, m)
	if _, err := e.AssociateBlind(1, nil); err == nil {
		t.Error("image associated twice")
	}
	if _, err := e.AssociateBlind(2, nil); err == nil {
		t.Error("earlier image associated after a later one")
	}
	if _, err := e.AssociateForced(1, []catalog.Measurement{forcedFit(1, 5, 99, 10, 30, 1, 1)}, nil); err == nil {
		t.Error("unrequested forced fit accepted")
	}
	if _, err := New(Config{}); err == nil {
		t.Error("zero config accepted")
	}
}

// TestJournal: with Journal on, applying each TakeJournal in turn to a
// table (append the links added, then drop every link of the runcats
// deleted) gives Associations() after each step, through a fork (the
// forked runcat's links go, its copies come) and with spilled blocks
// reused.
func TestJournal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SpillDir = t.TempDir()
	e := newEngine(t, cfg)
	e.links.block = 2 // spill (and reuse) blocks at once
	e.Journal()
	var table []catalog.Association
	step := func(what string) {
		t.Helper()
		added, deleted := e.TakeJournal()
		table = append(table, added...)
		table = slices.DeleteFunc(table, func(a catalog.Association) bool { return slices.Contains(deleted, a.Runcat) })
		want, err := e.Associations()
		if err != nil {
			t.Fatal(err)
		}
		got := slices.Clone(table)
		slices.SortFunc(got, func(a, b catalog.Association) int {
			return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.Xtrsrc, b.Xtrsrc))
		})
		if !slices.Equal(got, want) {
			t.Fatalf("%s: journal table %+v\nwant %+v", what, got, want)
		}
	}
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	addImage(t, e, imageAt(2, 1, 150e6, 10, 30))
	addImage(t, e, imageAt(3, 2, 150e6, 10, 30))
	addImage(t, e, imageAt(4, 3, 150e6, 10, 30))
	r := meas(1, 0, 10, 30, 2, 0.5)
	blind(t, e, 1, r)
	step("image 1")
	blind(t, e, 2, meas(2, 0, 10, 30, 2.1, 0.5))
	step("image 2")
	x1 := meas(3, 0, 10, 30+20*arcsec, 1, 0.5)
	x2 := meas(3, 1, 10, 30-20*arcsec, 3, 0.5)
	if res := blind(t, e, 3, x2, x1); !slices.Equal(res.Deleted, []int64{r.ID}) {
		t.Fatalf("no fork: deleted %v", res.Deleted)
	}
	step("image 3 (fork)")
	blind(t, e, 4, meas(4, 0, 10, 30+20*arcsec, 1.1, 0.5), meas(4, 1, 10, 30-20*arcsec, 3.1, 0.5))
	step("image 4")
	if len(e.links.free) == 0 && e.links.off == 0 {
		t.Error("nothing spilled: the test does not reach the file")
	}
}

// TestRetire: an engine that forgets each image once associated (Retire,
// as a live run does after each commit) gives the new-source rows of one
// that keeps every image, over timesteps of two bands (two images with
// the same start time each) with random noise levels, rejected images and
// new sources of random brightness; and it keeps only the images that do
// not yet start before the last associated one.
func TestRetire(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	keep, forget := newEngine(t, DefaultConfig()), newEngine(t, DefaultConfig())
	var id int64
	for k := range 40 {
		var ims []ImageInfo
		for _, f := range []float64{150e6, 180e6} {
			id++
			im := imageAt(id, k, f, 10, 30)
			im.Quality = Quality{RMSMin: 0.001 + 0.004*rng.Float64(), DetectionThresh: 4 + 4*rng.Float64(), Rejected: k > 0 && rng.IntN(6) == 0}
			im.RMSMax = im.RMSMin * (1 + 2*rng.Float64())
			ims = append(ims, im)
			addImage(t, keep, im)
			addImage(t, forget, im)
		}
		for _, im := range ims {
			if im.Rejected {
				forget.Retire(im.ID)
				continue
			}
			var ms []catalog.Measurement
			for j := range 3 {
				// A new source at a new position each time, 0.005-0.06 Jy:
				// about the limits, so both types and none occur.
				ms = append(ms, meas(im.ID, j, 10+0.3*float64(j), 29.5+0.02*float64(k), 0.005+0.055*rng.Float64(), 0.001))
			}
			a, b := blind(t, keep, im.ID, ms...), blind(t, forget, im.ID, ms...)
			if !reflect.DeepEqual(a.NewSources, b.NewSources) {
				t.Fatalf("image %d: new sources %+v with every image, %+v with retired ones", im.ID, a.NewSources, b.NewSources)
			}
			forget.Retire(im.ID)
		}
		// The images of this timestep start with the last associated
		// one: they wait; every earlier one is forgotten.
		if len(forget.images) > 2 {
			t.Fatalf("timestep %d: %d images kept, want at most 2", k, len(forget.images))
		}
	}
	if got := len(keep.NewSources()); got == 0 || got != len(forget.NewSources()) {
		t.Errorf("%d new sources with every image, %d with retired ones (want equal, > 0)", got, len(forget.NewSources()))
	}
	if !reflect.DeepEqual(keep.NewSources(), forget.NewSources()) {
		t.Error("new-source rows differ")
	}
	if _, err := forget.AssociateBlind(1, nil); !errors.Is(err, ErrImage) {
		t.Errorf("a retired image associated again: %v, want ErrImage", err)
	}
}
