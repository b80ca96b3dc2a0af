package config

import (
	"testing"

	"gotrap/internal/watch"
)

// TestDefaultWatchIsWatchs checks that the [watch] defaults are
// internal/watch's own, which config repeats rather than imports.
func TestDefaultWatchIsWatchs(t *testing.T) {
	d := DefaultWatch()
	if d.Settle != watch.DefaultSettle.Seconds() || d.PollInterval != watch.DefaultInterval.Seconds() {
		t.Errorf("DefaultWatch: settle %v s, poll %v s; internal/watch: %v, %v", d.Settle, d.PollInterval, watch.DefaultSettle, watch.DefaultInterval)
	}
}
