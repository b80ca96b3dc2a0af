package bench

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"gotrap/internal/fitsimg"
	"gotrap/internal/sim"
	"gotrap/internal/watch"
)

// BenchmarkWatchLayer measures live mode's layer beside the engine: the
// replayer writes aartfaac images (1024x1024 px, 8 sub-bands per 1 s
// timestep) at 48 images/s into a directory followed by a watch.Follower,
// each file's header read and fed to a watch.Closer, with no engine
// behind. It reports the latency from a
// timestep's last image landing to its close (p50, p95; the count is
// learned after two timesteps, so later ones close on their last image),
// the floor under the engine's latency. Each op replays 6 timesteps.
func BenchmarkWatchLayer(b *testing.B) {
	cfg, err := sim.Preset(sim.PresetAARTFAAC)
	if err != nil {
		b.Fatal(err)
	}
	if err := cfg.Set("timesteps", "6"); err != nil {
		b.Fatal(err)
	}
	src := b.TempDir()
	if _, err := sim.Generate(context.Background(), cfg, src, sim.Options{Workers: 2}); err != nil {
		b.Fatal(err)
	}
	var lat []float64
	b.ResetTimer()
	for range b.N {
		dst := b.TempDir()
		ctx, cancel := context.WithCancel(context.Background())
		var mu sync.Mutex
		closedAt := map[int64]time.Time{}
		fol, err := watch.Follow(ctx, watch.Options{Dirs: []string{dst}, Settle: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		go func() {
			// The engine's side reduced to taking files, reading their
			// start time and closing timesteps.
			cl := &watch.Closer{Tolerance: 500 * time.Millisecond}
			for f := range fol.Files() {
				m, err := fitsimg.ReadMeta(f.Path, fitsimg.Options{})
				if err != nil {
					b.Error(err)
					continue
				}
				closed, _ := cl.Add(watch.Image{Path: f.Path, Start: m.TauStart})
				now := time.Now()
				mu.Lock()
				for _, ts := range closed {
					closedAt[startKey(ts.Start)] = now
				}
				mu.Unlock()
			}
		}()
		time.Sleep(100 * time.Millisecond) // the follower's first listing
		steps, err := Replay(ctx, ReplayConfig{Src: src, Dst: dst, Rate: 48})
		if err != nil {
			b.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			mu.Lock()
			n := len(closedAt)
			mu.Unlock()
			if n == len(steps) || time.Now().After(deadline) {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-fol.Done()
		mu.Lock()
		for _, s := range steps[2:] { // after the count is learned
			if c, ok := closedAt[startKey(s.Start)]; ok {
				lat = append(lat, c.Sub(s.Landed).Seconds())
			} else {
				b.Errorf("timestep %d never closed", s.Index)
			}
		}
		mu.Unlock()
	}
	p := percentiles(lat)
	b.ReportMetric(p.P50*1e3, "p50-ms")
	b.ReportMetric(p.P95*1e3, "p95-ms")
	if testing.Verbose() {
		fmt.Printf("watch layer: %d timesteps, latency p50 %.2f ms, p95 %.2f ms, max %.2f ms\n", p.N, p.P50*1e3, p.P95*1e3, p.Max*1e3)
	}
}
