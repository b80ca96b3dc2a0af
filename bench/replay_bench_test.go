package bench

import (
	"context"
	"os"
	"testing"

	"gotrap/internal/sim"
)

// BenchmarkReplay measures how fast the replayer can write images of the
// aartfaac preset (1024x1024 px, 4.2 MB) as imagers do (temporary name,
// rename), with no cadence: the ceiling of the rate gotrap bench live can
// offer on this machine's disk. Each op replays 2 timesteps of 8
// sub-bands (16 images).
func BenchmarkReplay(b *testing.B) {
	cfg, err := sim.Preset(sim.PresetAARTFAAC)
	if err != nil {
		b.Fatal(err)
	}
	if err := cfg.Set("timesteps", "2"); err != nil {
		b.Fatal(err)
	}
	src := b.TempDir()
	if _, err := sim.Generate(context.Background(), cfg, src, sim.Options{Workers: 2}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(16 * (4*1024*1024 + 2*2880))
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		dst := b.TempDir()
		steps, err := Replay(context.Background(), ReplayConfig{Src: src, Dst: dst})
		if err != nil || len(steps) != 2 {
			b.Fatalf("%d timesteps, %v", len(steps), err)
		}
		b.StopTimer()
		os.RemoveAll(dst)
		b.StartTimer()
	}
	b.ReportMetric(float64(16*b.N)/b.Elapsed().Seconds(), "images/s")
}
