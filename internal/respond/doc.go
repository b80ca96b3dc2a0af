// Package respond is gotrap's response system: it detects events in a
// run's catalogue, matches them against the rules of the job
// configuration ([[response]]) and delivers them (VOEvent over VTP,
// email, webhook, exec), keeping a delivery log so that nothing is
// delivered twice (docs/responses.md).
//
// # Events
//
// Events computes, for a range of timesteps, the events of those
// timesteps from the run's Parquet catalogue (read with DuckDB through
// catalog/duck): each from the data of its own and earlier timesteps only,
// so that the events of a run made in one go equal those of the same run
// grown by appends. It folds the run in windows of successive timesteps
// through a Stream (what a live run does commit by commit), so that
// DuckDB's memory follows a window, not the run. WriteEvents writes
// RUN/events.parquet atomically; a Stream adds a live run's later
// commits' events as parts beside it, merged in levels (files.go), and
// matches the rules over each commit's part alone.
// Event ids are deterministic (TYPE-rRUNCAT-bBAND-mMEASUREMENT).
//
// # Rules and deliveries
//
// Respond is the one entry point of "gotrap run" (after its catalogue
// stage, or per committed timestep) and "gotrap respond": it computes and
// writes the events of the given timesteps, evaluates each rule's when
// condition in DuckDB over events.parquet, applies the rule's quiet mode,
// de-duplication window and rate limit in event order, and delivers the
// matches in timestep order, each (rule, event, action target) at most
// once. Every attempt is journalled in RUN/responses/deliveries.jsonl
// before and after it runs (Log); an attempt found started but not
// finished is never repeated automatically (docs/responses.md "Delivery
// guarantees"). A failed delivery is retried with back-off, then at the
// next call; it never fails the run: Respond returns an error only when
// the events or the log cannot be read or written.
//
// # Alerts
//
// ParseAlert reads a VOEvent 2.0 packet (a Swift, Fermi or SVOM position
// notice, ...) and returns its position and error circle; malformed
// packets and packets of other VOEvent versions are rejected with an
// error naming the problem. AlertEvent turns an alert and the light curve
// force-fitted at its position (pipeline.FitAlert, called by "gotrap
// listen") into an event of type alert; AddEvent stores it, and Respond
// with Options.Stored applies the rules to the stored events.
//
// # Layering
//
// respond imports catalog/duck, config, report (the VOEvent types) and
// vtp, never internal/pipeline: the pipeline may call Respond after each
// committed timestep (Options.Timesteps = that timestep).
//
// # Units
//
// Positions are degrees, fluxes Jy, frequencies Hz, times UTC.
package respond
