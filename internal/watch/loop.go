package watch

import (
	"context"
	"errors"
	"time"
)

// LoopConfig wires a Follower, a Closer and a Tracker to the engine's
// callbacks (Loop).
type LoopConfig struct {
	Follow Options
	// Closer groups the images; set its Tolerance, Expected, Timeout (and
	// Committed after a restart). Its clock is used as it is.
	Closer *Closer
	// Tracker counts for the status (NewTracker); nil: none.
	Tracker *Tracker
	// Start reads an image's start time (its header). An error makes the
	// file Bad.
	Start func(path string) (time.Time, error)
	// Skip, when not nil, drops files the run already holds (a restart
	// finds them in the directory again); they are not counted.
	Skip func(path string) bool
	// Arrived, when not nil, is told of each image as the Closer takes
	// it (the engine may start reading it before its timestep closes).
	Arrived func(ctx context.Context, img Image)
	// Timestep processes and commits a closed timestep. It gets a context
	// that stopping the loop does not cancel, so a timestep in progress
	// is finished; an error ends Loop with it.
	Timestep func(ctx context.Context, ts Timestep) error
	// Late and Bad, when not nil, are told of late images and of files
	// whose start time cannot be read (to log and record; Loop goes on).
	Late func(Late)
	Bad  func(path string, err error)
	// Status, when not nil, gets the Tracker's status every StatusEvery
	// (0: 1 s) and after each commit.
	Status      func(Status)
	StatusEvery time.Duration
}

// Loop follows the directories and runs cfg.Timestep on each timestep as
// it closes, in time order, until ctx ends: then the timestep being
// processed is finished, the open one is left (a restart takes its files
// again), and Loop returns nil. It returns the first error of Follow or
// cfg.Timestep.
func Loop(ctx context.Context, cfg LoopConfig) error {
	if cfg.Closer == nil || cfg.Start == nil || cfg.Timestep == nil {
		panic("watch: Loop needs a Closer, Start and Timestep")
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = time.Second
	}
	fctx, stopFollow := context.WithCancel(ctx)
	defer stopFollow()
	fol, err := Follow(fctx, cfg.Follow)
	if err != nil {
		return err
	}
	defer func() { stopFollow(); <-fol.Done() }()
	if cfg.Tracker != nil && fol.Polling() {
		cfg.Tracker.SetMode("poll")
	}
	work := context.WithoutCancel(ctx)
	status := func() {
		if cfg.Status != nil && cfg.Tracker != nil {
			cfg.Status(cfg.Tracker.Status())
		}
	}
	commit := func(closed []Timestep) error {
		for _, ts := range closed {
			if err := cfg.Timestep(work, ts); err != nil {
				return err
			}
			if cfg.Tracker != nil {
				paths := make([]string, len(ts.Images))
				for i, im := range ts.Images {
					paths[i] = im.Path
				}
				cfg.Tracker.Committed(paths)
			}
			status()
			if ctx.Err() != nil {
				return nil // stop after the timestep in progress
			}
		}
		return nil
	}
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	tick := time.NewTicker(cfg.StatusEvery)
	defer tick.Stop()
	status()
	for {
		// The open timestep's timeout, on the wall clock.
		var timeout <-chan time.Time
		if d, ok := cfg.Closer.Deadline(); ok {
			timer.Reset(max(time.Until(d), 0))
			timeout = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			status()
		case <-timeout:
			if err := commit(cfg.Closer.Tick()); err != nil || ctx.Err() != nil {
				return err
			}
		case f, ok := <-fol.Files():
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				return errors.New("watch: the follower stopped")
			}
			if cfg.Skip != nil && cfg.Skip(f.Path) {
				continue
			}
			if cfg.Tracker != nil {
				cfg.Tracker.Landed(f.Path, f.Landed)
			}
			start, err := cfg.Start(f.Path)
			if err != nil {
				if cfg.Tracker != nil {
					cfg.Tracker.Bad(f.Path)
				}
				if cfg.Bad != nil {
					cfg.Bad(f.Path, err)
				}
				continue
			}
			img := Image{Path: f.Path, Start: start}
			closed, late := cfg.Closer.Add(img)
			if late != nil {
				if cfg.Tracker != nil {
					cfg.Tracker.Late(f.Path)
				}
				if cfg.Late != nil {
					cfg.Late(*late)
				}
			} else if cfg.Arrived != nil {
				cfg.Arrived(work, img)
			}
			if err := commit(closed); err != nil || ctx.Err() != nil {
				return err
			}
		}
	}
}
