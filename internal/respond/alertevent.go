package respond

import (
	"fmt"
	"gotrap/internal/rundir"
	"math"
	"time"
)

// AlertFlux is one point of the light curve force-fitted at an alert's
// position (pipeline.FitAlert's points, as respond needs them).
type AlertFlux struct {
	Image, Band, Timestep int64
	Time                  time.Time
	FreqHz, FInt, FIntErr float64
	Detected              bool
}

// AlertEvent is the event of alert a whose position was force-fitted in
// the images of a run (lc, in image order): type "alert", at the run's
// last timestep in lc, at the alert's position and time. Significance
// is the largest f_int / f_int_err of the light curve, Value its flux,
// Reference the alert's error radius (degrees); Measurement is the image
// of that point, NPoints the number of images fitted.
func AlertEvent(a *Alert, lc []AlertFlux) Event {
	e := Event{ID: "alert-" + a.Name(), Type: TypeAlert, RA: a.RA, Decl: a.Dec, Time: a.Time.UTC(),
		Significance: math.NaN(), Value: math.NaN(), Reference: a.ErrRadius, FInt: math.NaN(), FIntErr: math.NaN(),
		NPoints: int64(len(lc)), NewsourceType: -1}
	det := 0
	for _, p := range lc {
		e.Timestep = max(e.Timestep, p.Timestep)
		if p.Detected {
			det++
		}
		if s := p.FInt / p.FIntErr; math.IsNaN(e.Significance) || s > e.Significance {
			e.Significance, e.Value, e.FInt, e.FIntErr = s, p.FInt, p.FInt, p.FIntErr
			e.Image, e.Band, e.FreqHz, e.Measurement = p.Image, p.Band, p.FreqHz, p.Image
		}
	}
	e.Detail = fmt.Sprintf("external alert %s: position (%.5f, %.5f) +- %.3g deg fitted in %d images, detected in %d",
		a.IVORN, a.RA, a.Dec, a.ErrRadius, len(lc), det)
	return e
}

// AddEvent puts e into RUN/events.parquet (replacing an event with its
// id), written atomically. A live run's events parts stay as they are:
// they hold the events of its commits, never an alert's.
func AddEvent(run string, e Event) error {
	old, err := readEventsFile(rundir.EventsPath(run))
	if err != nil {
		return err
	}
	all := make([]Event, 0, len(old)+1)
	for _, o := range old {
		if o.ID != e.ID {
			all = append(all, o)
		}
	}
	all = append(all, e)
	sortEvents(all)
	return writeBase(run, all)
}
