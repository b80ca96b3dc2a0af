package respond

import (
	"context"
	"fmt"
	"path/filepath"

	"gotrap/internal/config"
	"gotrap/internal/rundir"
)

// respond writes evs, the events of opt.Timesteps that s computed, and
// delivers their matches (Respond with a Stream and Send). When the call
// continues the last one, the rules read the call's events alone (the
// part just written), s's planner holds what the earlier matches left
// for the de-duplication windows and rate limits, the delivery log stays
// open, and the deliveries still pending from earlier calls go first: a
// commit's work does not grow with the run. Otherwise (the first call,
// a gap, an error, events added outside the Stream) the rules read every
// event and the log is read again, as Respond without a Stream does.
func (s *Stream) respond(ctx context.Context, run string, cfg config.Config, evs []Event, opt Options, res *Result) (_ *Result, err error) {
	r := opt.Timesteps
	inc := s.planner != nil && s.written >= 0 && r.From == s.written && r.To >= r.From
	defer func() {
		if err != nil {
			s.forgetRules()
		}
	}()
	if err := s.write(run, evs, r); err != nil {
		return nil, err
	}
	if len(cfg.Response) == 0 {
		return res, s.compact(run)
	}
	var dels []delivery
	if inc {
		matches := make([][]string, len(cfg.Response))
		if len(evs) > 0 {
			if matches, err = s.matchPart(ctx, run, cfg.Response, r); err != nil {
				return nil, err
			}
		}
		for _, m := range matches {
			res.Matches += len(m)
		}
		if err := s.compact(run); err != nil {
			return nil, err
		}
		dels = append(s.pending, s.planner.plan(matches, eventsByID(evs))...)
	} else {
		s.forgetRules()
		s.RulesFull++
		matches, byID, err := match(ctx, run, cfg.Response, r)
		if err != nil {
			return nil, err
		}
		if err := s.compact(run); err != nil {
			return nil, err
		}
		for _, m := range matches {
			res.Matches += len(m)
		}
		s.planner = newPlanner(cfg.Response)
		dels = s.planner.plan(matches, byID)
		log, unknown, err := OpenLog(run, opt.Now())
		if err != nil {
			return nil, err
		}
		s.log = log
		res.Unknown = unknown
	}
	if res, err = deliverAll(ctx, s.log, cfg, dels, opt, res); err != nil {
		return res, err
	}
	// What is not done stays pending for the next call; the log forgets
	// the rest (a later call's deliveries are of new events).
	s.pending = s.pending[:0]
	keep := map[string]bool{}
	for _, d := range dels {
		k := d.record(cfg.Response).Key()
		if prev, ok := s.log.Last(k); !ok || prev.State == StateFailed {
			s.pending = append(s.pending, d)
			keep[k] = true
		}
	}
	s.log.forget(keep)
	return res, nil
}

// matchPart evaluates the rules over the events part of r just written
// (Stream.write), in the rules DuckDB that s keeps open over the run's
// events folder (opened again every streamReopen calls, as s's other
// DuckDB, and for another run).
func (s *Stream) matchPart(ctx context.Context, run string, rules []config.Rule, r Range) ([][]string, error) {
	part, err := filepath.Abs(eventPartPath(run, int(r.From)))
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	dir, err := filepath.Abs(rundir.TableDir(run, rundir.EventsTable))
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	if s.rules != nil && (s.rules.uses >= streamReopen || s.rules.readable[0] != dir) {
		err := s.closeRules()
		if err != nil {
			return nil, err
		}
	}
	if s.rules == nil {
		if s.rules, err = openRulesDB(ctx, []string{dir}); err != nil {
			return nil, err
		}
		s.RulesOpens++
	}
	return s.rules.match(ctx, []string{part}, rules, r)
}

// closeRules closes the rules DuckDB of matchPart.
func (s *Stream) closeRules() error {
	if s.rules == nil {
		return nil
	}
	err := s.rules.Close()
	s.rules = nil
	return err
}

// forgetRules drops what s keeps of the rules' earlier calls: the next
// call matches every event again and reads the delivery log.
func (s *Stream) forgetRules() {
	if s.log != nil {
		s.log.Close()
	}
	s.log, s.planner, s.pending = nil, nil, nil
}

// EventsAdded tells s that events were added to the run outside it (gotrap
// listen's alert events, which the rules' de-duplication windows and rate
// limits count): its next call matches the rules over every event again.
func (s *Stream) EventsAdded() { s.forgetRules() }
