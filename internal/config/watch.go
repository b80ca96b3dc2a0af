package config

import (
	"fmt"
	"math"
	"time"
)

// Watch is the [watch] section: how "gotrap watch" follows directories
// and closes timesteps (docs/live.md). None of it changes the catalogue
// of the images taken; it decides when they are taken.
type Watch struct {
	// Settle (s): a file not renamed into place is taken once its size
	// and modification time have not changed for this long.
	Settle float64 `toml:"settle"`
	// PollInterval (s): the listing period when polling (--poll, or
	// when inotify is unavailable).
	PollInterval float64 `toml:"poll_interval"`
	// ImagesPerTimestep closes a timestep as soon as it holds this many
	// images (0: learned when the first two timesteps hold the same
	// number).
	ImagesPerTimestep int `toml:"images_per_timestep"`
	// Timeout (s) closes a timestep this long after its last image (0:
	// never; it then closes by a later image or by its count).
	Timeout float64 `toml:"timeout"`
}

// DefaultWatch returns a settle time of 2 s, polling every second, a
// learned image count and a timeout of 120 s. The first two are
// internal/watch's DefaultSettle and DefaultInterval
// (TestDefaultWatchIsWatchs); config does not import internal/watch for
// them, which would bring its inotify watcher and runtime/metrics into
// every command's start-up (docs/performance.md "Session 9").
func DefaultWatch() Watch {
	return Watch{Settle: 2, PollInterval: 1, Timeout: 120}
}

// Validate reports the first [watch] setting out of range.
func (w *Watch) Validate() error {
	for _, f := range []struct {
		key string
		v   float64
		min float64 // exclusive lower bound, or inclusive when 0 is allowed
		eq  bool
	}{
		{"settle", w.Settle, 0, false},
		{"poll_interval", w.PollInterval, 0, false},
		{"timeout", w.Timeout, 0, true},
	} {
		ok := f.v > f.min || (f.eq && f.v == f.min)
		if !ok || math.IsInf(f.v, 0) || f.v > 86400 {
			want := "a number of seconds > 0 and at most 86400"
			if f.eq {
				want = "a number of seconds >= 0 (0: none) and at most 86400"
			}
			return fmt.Errorf("%w: watch.%s = %v: must be %s", ErrInvalid, f.key, f.v, want)
		}
	}
	if w.ImagesPerTimestep < 0 {
		return fmt.Errorf("%w: watch.images_per_timestep = %d: must not be negative (0: learn it)", ErrInvalid, w.ImagesPerTimestep)
	}
	return nil
}

// Durations returns settle, poll interval and timeout as durations.
func (w *Watch) Durations() (settle, poll, timeout time.Duration) {
	d := func(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
	return d(w.Settle), d(w.PollInterval), d(w.Timeout)
}
