package assoc

import "gotrap/catalog"

// Prepare returns, without an engine, the Measurements and Dropped that
// AssociateBlind (extract = catalog.ExtractBlind), AssociateForced
// (ExtractForced) or AssociateMonitor (ExtractMonitor) of an engine with
// cfg return for image's measurements ms: a sorted copy with SPEC 5.1's
// insert-time columns filled, those with a non-finite flux error dropped.
// They depend on cfg and ms only, not on the engine's state, so a rank
// that does not run the engine (distributed pipeline) can write the
// measurements of its own images. It checks what prepareAll checks
// (image, extract type, unique ids, finite positions), not the requests.
func Prepare(cfg Config, image int64, extract int32, ms []catalog.Measurement) (kept []catalog.Measurement, dropped []int64, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	e := &Engine{cfg: cfg}
	return e.prepareAll(image, extract, ms)
}
