package assoc

import (
	"errors"
	"slices"
	"testing"

	"gotrap/catalog"
)

// nullRun drives one source through images 1..n of one field, all in band
// 1 at successive timesteps: blind detection in image 1 and in the images
// listed in detect, nothing elsewhere; every null-detection request is
// answered with a fit. With deferred, every AssociateForced comes after
// all blind associations. It returns, per image, whether the source was
// requested.
func nullRun(t *testing.T, n int, detect []int, usable func(ra, dec float64) bool, deferred bool) ([]bool, *Engine) {
	t.Helper()
	e := newEngine(t, DefaultConfig())
	for i := 1; i <= n; i++ {
		im := imageAt(int64(i), i, 150e6, 10, 30)
		im.Usable = usable
		addImage(t, e, im)
	}
	src := meas(1, 0, 10, 30, 1, 0.1)
	requested := make([]bool, n+1)
	var pending []func()
	for i := 1; i <= n; i++ {
		img := int64(i)
		var ms []catalog.Measurement
		if i == 1 || slices.Contains(detect, i) {
			ms = append(ms, meas(img, 0, 10, 30, 1, 0.1))
		}
		res := blind(t, e, img, ms...)
		var fits []catalog.Measurement
		for k, q := range res.Requests {
			if q.Runcat == src.ID {
				requested[i] = true
			}
			fits = append(fits, forcedFit(img, 100+k, q.Runcat, q.RA, q.Dec, 0.5, 0.1))
		}
		do := func() {
			if _, err := e.AssociateForced(img, fits, nil); err != nil {
				t.Fatal(err)
			}
		}
		if deferred {
			pending = append(pending, do)
		} else {
			do()
		}
	}
	for _, do := range pending {
		do()
	}
	return requested, e
}

// TestNullDetectionExpiration: the source is requested in images 2..11
// (forcedfits_count 0..9 < 10), not in 12..14; a blind detection in image
// 15 resets the count, so it is requested again from image 16 on (SPEC
// 6.1).
func TestNullDetectionExpiration(t *testing.T) {
	want := make([]bool, 18)
	for i := 2; i <= 11; i++ {
		want[i] = true
	}
	want[16], want[17] = true, true
	inside := func(ra, dec float64) bool { return true }
	for _, tc := range []struct {
		name     string
		usable   func(ra, dec float64) bool
		deferred bool
	}{
		{"interleaved", nil, false},
		{"interleaved-usable", inside, false},
		{"deferred-usable", inside, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, e := nullRun(t, 17, []int{15}, tc.usable, tc.deferred)
			if !slices.Equal(got, want) {
				t.Errorf("requested %v\nwant      %v", got, want)
			}
			id := catalog.MeasurementID(1, 0)
			rc := mustRuncat(t, e, id)
			// 2 blind points (images 1, 15); forced fits never add
			// datapoints nor move the position; 2 fits after image 15.
			if rc.Datapoints != 2 || rc.WmRA != 10 || rc.WmDecl != 30 || rc.ForcedFitsCount != 2 {
				t.Errorf("runcat %+v", rc)
			}
			var n7 int
			for _, l := range linksOf(e, id) {
				if l.Type == catalog.AssocNullForced {
					n7++
					if l.R != 0 || l.Distance != 0 {
						t.Errorf("type 7 link %+v", l)
					}
				}
			}
			f, _ := e.Flux(id, 1)
			if n7 != 12 || f.FDatapoints != 14 { // 10 + 2 fits, 2 blind points
				t.Errorf("%d type 7 links, f_datapoints %d", n7, f.FDatapoints)
			}
		})
	}
}

// TestNullDetectionOutside: positions outside the usable area do not
// count towards the expiration, so the source is requested in every
// image, both when Usable says so and when the fitter reports it.
func TestNullDetectionOutside(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	for i := 1; i <= 14; i++ {
		addImage(t, e, imageAt(int64(i), i, 150e6, 10, 30))
	}
	src := meas(1, 0, 10, 30, 1, 0.1)
	blind(t, e, 1, src)
	for i := int64(2); i <= 14; i++ {
		res := blind(t, e, i)
		if len(res.Requests) != 1 || res.Requests[0].Runcat != src.ID {
			t.Fatalf("image %d requests %+v", i, res.Requests)
		}
		if _, err := e.AssociateForced(i, nil, []int64{src.ID}); err != nil {
			t.Fatal(err)
		}
	}
	if rc := mustRuncat(t, e, src.ID); rc.ForcedFitsCount != 0 {
		t.Errorf("forcedfits_count = %d, want 0", rc.ForcedFitsCount)
	}
}

// TestNullDetectionConditions: no request in the detecting image, nor in
// another band at the same time (first detection not strictly earlier),
// nor in an image of another field (no assocskyrgn to its region).
func TestNullDetectionConditions(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 10, 30))
	addImage(t, e, imageAt(2, 0, 180e6, 10, 30))
	addImage(t, e, imageAt(3, 1, 150e6, 50, 30)) // far field, region 2
	addImage(t, e, imageAt(4, 1, 180e6, 10, 30))
	src := meas(1, 0, 10, 30, 1, 0.1)
	for i, want := range []int{0, 0, 0, 1} {
		var ms []catalog.Measurement
		if i == 0 {
			ms = append(ms, src)
		}
		res := blind(t, e, int64(i+1), ms...)
		if len(res.Requests) != want {
			t.Errorf("image %d: requests %+v, want %d", i+1, res.Requests, want)
		}
	}
}

// TestForcedFitAfterFork: a deferred forced fit for a runcat that was
// forked in the meantime goes to both forks.
func TestForcedFitAfterFork(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	for i := 1; i <= 3; i++ {
		addImage(t, e, imageAt(int64(i), i, 150e6, 10, 30))
	}
	src := meas(1, 0, 10, 30, 1, 0.1)
	blind(t, e, 1, src)
	res2 := blind(t, e, 2)
	if len(res2.Requests) != 1 {
		t.Fatalf("requests %+v", res2.Requests)
	}
	x1 := meas(3, 0, 10, 30+20*arcsec, 1, 0.1)
	x2 := meas(3, 1, 10, 30-20*arcsec, 1, 0.1)
	blind(t, e, 3, x1, x2)
	fit := forcedFit(2, 0, src.ID, 10, 30, 0.7, 0.1)
	fr, err := e.AssociateForced(2, []catalog.Measurement{fit}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Associations) != 2 || fr.Associations[0].Runcat != x1.ID || fr.Associations[1].Runcat != x2.ID {
		t.Fatalf("links %+v", fr.Associations)
	}
	for _, x := range []int64{x1.ID, x2.ID} {
		f, _ := e.Flux(x, 1)
		rc := mustRuncat(t, e, x)
		// 1 + 1 blind, 1 forced; the forks' counters stay 0 (their blind
		// association came after the request).
		if f.FDatapoints != 3 || rc.ForcedFitsCount != 0 {
			t.Errorf("fork %d: flux %+v runcat %+v", x, f, rc)
		}
	}
}

// TestMonitor: the first monitor fit creates a mon_src runcat (type 8),
// the next adds a type 9 link with datapoints + 1 and the position
// unchanged; blind detections never associate with it (SPEC 6.2).
func TestMonitor(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	addImage(t, e, imageAt(1, 0, 150e6, 20, 40))
	addImage(t, e, imageAt(2, 1, 150e6, 20, 40))
	addImage(t, e, imageAt(3, 2, 150e6, 20, 40))
	if err := e.AddMonitor(7, 20, 40); err != nil {
		t.Fatal(err)
	}
	res := blind(t, e, 1)
	if len(res.MonitorRequests) != 1 || res.MonitorRequests[0] != (Request{Monitor: 7, RA: 20, Dec: 40}) {
		t.Fatalf("monitor requests %+v", res.MonitorRequests)
	}
	f1 := monitorFit(1, 0, 7, 20, 40, 0.005, 0.001)
	fr, err := e.AssociateMonitor(1, []catalog.Measurement{f1})
	if err != nil {
		t.Fatal(err)
	}
	if len(fr.Associations) != 1 || fr.Associations[0] != (catalog.Association{Runcat: f1.ID, Xtrsrc: f1.ID,
		Type: catalog.AssocMonitorNew, FDatapoints: 1}) {
		t.Fatalf("first fit links %+v", fr.Associations)
	}
	if e.MonitorRuncat(7) != f1.ID {
		t.Fatalf("monitor runcat %d", e.MonitorRuncat(7))
	}
	// A blind source at the monitor position makes a new runcat.
	b := meas(2, 0, 20, 40, 0.006, 0.001)
	res2 := blind(t, e, 2, b)
	if len(res2.Associations) != 1 || res2.Associations[0].Type != catalog.AssocNewSource {
		t.Fatalf("blind links %+v", res2.Associations)
	}
	if res2.MonitorRequests[0].Runcat != f1.ID {
		t.Errorf("monitor request %+v", res2.MonitorRequests[0])
	}
	for _, q := range res2.Requests {
		if q.Runcat == f1.ID {
			t.Error("monitor runcat got a null-detection request")
		}
	}
	// Second fit, 3" off: the position is unchanged. Fluxes 0.005 and
	// 0.007, errors 0.001: eta = (1 + 1)/1 = 2, V = 0.001*sqrt2/0.006.
	f2 := monitorFit(2, 1, 7, 20, 40+3*arcsec, 0.007, 0.001)
	fr2, err := e.AssociateMonitor(2, []catalog.Measurement{f2})
	if err != nil {
		t.Fatal(err)
	}
	l := fr2.Associations[0]
	if l.Runcat != f1.ID || l.Type != catalog.AssocMonitorNext || l.FDatapoints != 2 {
		t.Fatalf("link %+v", l)
	}
	checkNear(t, "eta", l.EtaInt, 2, 1e-9) // (0.002/0.001)^2/2 from differences of ~1e-3: cancellation leaves ~1e-12 relative
	checkNear(t, "v", l.VInt, 0.001*1.4142135623730951/0.006, 1e-9)
	rc := mustRuncat(t, e, f1.ID)
	if !rc.MonSrc || rc.Datapoints != 2 || rc.WmRA != 20 || rc.WmDecl != 40 {
		t.Errorf("monitor runcat %+v", rc)
	}
	if _, err := e.AssociateMonitor(1, nil); err == nil {
		t.Error("monitor fits of an image accepted twice")
	}
}

// TestRequestsDropped: the engine keeps an image's request list only
// until its forced fits are associated (or ForgetRequests), so that its
// memory does not grow with the images; a fit after ForgetRequests is
// rejected.
func TestRequestsDropped(t *testing.T) {
	e := newEngine(t, DefaultConfig())
	for id := int64(1); id <= 3; id++ {
		addImage(t, e, imageAt(id, int(id), 150e6, 10, 10))
	}
	blind(t, e, 1, meas(1, 0, 10, 10, 1, 0.1))
	res := blind(t, e, 2)
	if len(res.Requests) != 1 || e.images[2].requests == nil {
		t.Fatalf("requests %v, engine's %v", res.Requests, e.images[2].requests)
	}
	q := res.Requests[0]
	if _, err := e.AssociateForced(2, []catalog.Measurement{forcedFit(2, 0, q.Runcat, q.RA, q.Dec, 1, 0.1)}, nil); err != nil {
		t.Fatal(err)
	}
	if e.images[2].requests != nil {
		t.Error("the request list of image 2 is kept after its forced fits")
	}
	res = blind(t, e, 3)
	if len(res.Requests) != 1 {
		t.Fatalf("requests %v", res.Requests)
	}
	e.ForgetRequests(3)
	q = res.Requests[0]
	if _, err := e.AssociateForced(3, []catalog.Measurement{forcedFit(3, 0, q.Runcat, q.RA, q.Dec, 1, 0.1)}, nil); !errors.Is(err, ErrMeasurement) {
		t.Errorf("a fit after ForgetRequests: %v, want ErrMeasurement", err)
	}
}
