package assoc

import (
	"fmt"
	"math"
	"testing"

	"gotrap/catalog"
)

// TestPrepareMatchesEngine: Prepare returns exactly the engine's
// Measurements and Dropped for blind, forced and monitor measurements,
// including a dropped one (infinite flux error) and an infinite
// error_radius, in shuffled input order.
func TestPrepareMatchesEngine(t *testing.T) {
	cfg := DefaultConfig()
	cfg.EWSysErr, cfg.NSSysErr = 7, 3
	e := newEngine(t, cfg)
	if err := e.AddMonitor(1, 10.01, 30.01); err != nil {
		t.Fatal(err)
	}
	for i := int64(1); i <= 2; i++ {
		addImage(t, e, imageAt(i, int(i), 150e6, 10, 30))
	}
	b1 := []catalog.Measurement{meas(1, 2, 10.2, 30.1, 1, 0.1), meas(1, 0, 10, 30, 2, 0.1), meas(1, 1, 359.9+10, 29.5, 1, math.Inf(1))}
	b1[0].ErrRadius = math.Inf(1)
	res := blind(t, e, 1, b1...)
	if len(res.Dropped) != 1 {
		t.Fatalf("engine dropped %v, want one measurement", res.Dropped)
	}
	same(t, "blind", cfg, 1, catalog.ExtractBlind, b1, res.Measurements, res.Dropped)
	res = blind(t, e, 2)
	var fits []catalog.Measurement
	for k, q := range res.Requests {
		fits = append(fits, forcedFit(2, 10+k, q.Runcat, q.RA, q.Dec, 0.5, 0.1))
	}
	if len(fits) == 0 {
		t.Fatal("no null-detection requests in image 2")
	}
	fr, err := e.AssociateForced(2, fits, nil)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "forced", cfg, 2, catalog.ExtractForced, fits, fr.Measurements, fr.Dropped)
	mon := []catalog.Measurement{monitorFit(2, 20, 1, 10.01, 30.01, 0.3, 0.1)}
	mr, err := e.AssociateMonitor(2, mon)
	if err != nil {
		t.Fatal(err)
	}
	same(t, "monitor", cfg, 2, catalog.ExtractMonitor, mon, mr.Measurements, mr.Dropped)
	if _, _, err := Prepare(cfg, 3, catalog.ExtractBlind, b1); err == nil {
		t.Error("Prepare accepted measurements of another image")
	}
}

func same(t *testing.T, what string, cfg Config, image int64, typ int32, in, want []catalog.Measurement, wantDropped []int64) {
	t.Helper()
	got, dropped, err := Prepare(cfg, image, typ, in)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if fmt.Sprintf("%+v %v", got, dropped) != fmt.Sprintf("%+v %v", want, wantDropped) {
		t.Errorf("%s: Prepare\n%+v %v\nengine\n%+v %v", what, got, dropped, want, wantDropped)
	}
	if len(got) == 0 {
		t.Errorf("%s: nothing kept", what)
	}
}
