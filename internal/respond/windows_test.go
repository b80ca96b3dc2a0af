package respond

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"gotrap/internal/config"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/sim"
)

// TestSplitWindows: the windows follow each other without a gap from
// timestep 0 to the last, each of at most the given images unless one
// timestep has more.
func TestSplitWindows(t *testing.T) {
	for _, c := range []struct {
		name   string
		counts [][2]int64
		images int
		want   []Range
	}{
		{"none", nil, 4, nil},
		{"one window", [][2]int64{{0, 2}, {1, 2}}, 4, []Range{{0, 1}}},
		{"two", [][2]int64{{0, 2}, {1, 2}, {2, 2}}, 4, []Range{{0, 1}, {2, 2}}},
		{"a timestep over the size", [][2]int64{{0, 1}, {1, 9}, {2, 1}}, 4, []Range{{0, 0}, {1, 1}, {2, 2}}},
		{"gaps and a late start", [][2]int64{{3, 2}, {7, 2}, {9, 2}}, 4, []Range{{0, 8}, {9, 9}}},
		{"one image each", [][2]int64{{0, 1}, {1, 1}, {2, 1}}, 1, []Range{{0, 0}, {1, 1}, {2, 2}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := splitWindows(c.counts, c.images); !reflect.DeepEqual(got, c.want) {
				t.Errorf("splitWindows(%v, %d) = %v, want %v", c.counts, c.images, got, c.want)
			}
		})
	}
}

// TestEventsWindows: Events in windows of any size (one timestep, a few,
// the whole run) equals one read of the whole run (a fresh Stream's
// first call, the path Events took before windows), over all timesteps
// and over a range of them; also on a run whose fork copied a history
// into a source created late (read by the window that creates it).
func TestEventsWindows(t *testing.T) {
	ctx := context.Background()
	tinyCfg := config.Default()
	runs := []struct {
		name string
		run  func(t *testing.T) string
		cfg  config.Config
	}{
		{"tiny", func(t *testing.T) string { return finishedRun(t, sim.PresetTiny) }, tinyCfg},
	}
	if !testing.Short() {
		forkCfg := config.Default()
		forkCfg.Extraction.EwSysErr, forkCfg.Extraction.NsSysErr = 40, 40 // TestStreamCopiedHistory's: the fork happens
		runs = append(runs, struct {
			name string
			run  func(t *testing.T) string
			cfg  config.Config
		}{"fork", func(t *testing.T) string {
			run := filepath.Join(t.TempDir(), "run")
			runData(t, pipetest.SimulateFork(t, 5), run, -1, forkCfg, 1)
			return run
		}, forkCfg})
	}
	for _, rc := range runs {
		t.Run(rc.name, func(t *testing.T) {
			run := rc.run(t)
			for _, r := range []Range{All, {1, 3}} {
				st, err := NewStream(rc.cfg)
				if err != nil {
					t.Fatal(err)
				}
				want, err := st.Events(ctx, run, r)
				st.Close()
				if err != nil {
					t.Fatal(err)
				}
				if len(want) == 0 {
					t.Fatalf("%v: no events to compare", r)
				}
				for _, images := range []int{1, 3, 1 << 30} {
					ws, err := NewStream(rc.cfg)
					if err != nil {
						t.Fatal(err)
					}
					got, err := eventsInWindows(ctx, ws, run, r, images)
					ws.Close()
					if err != nil {
						t.Fatal(err)
					}
					// Only the first window reads from the first
					// timestep: the others continue the state.
					if ws.Full != 1 {
						t.Errorf("%v, windows of %d images: %d windows computed from the first timestep, want 1", r, images, ws.Full)
					}
					if !reflect.DeepEqual(got, want) {
						t.Errorf("%v, windows of %d images: %d events, one read %d", r, images, len(got), len(want))
						for i := range min(len(got), len(want)) {
							if !reflect.DeepEqual(got[i], want[i]) {
								t.Errorf("first difference at %d:\n got %+v\nwant %+v", i, got[i], want[i])
								break
							}
						}
					}
				}
			}
		})
	}
}
