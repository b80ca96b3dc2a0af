package sim

import (
	"context"
	"gotrap/internal/testutil"
	"testing"
)

func tinyConfig(t *testing.T) Config {
	t.Helper()
	c, err := Preset(PresetTiny)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestGenerateWorkers: the same seed gives byte-identical files with 1 and
// 4 workers (and so, since images depend only on (seed, image index), with
// any number).
func TestGenerateWorkers(t *testing.T) {
	cfg := tinyConfig(t)
	t.Logf("seed %d", cfg.Seed)
	var trees []map[string]string
	for _, w := range []int{1, 4} {
		dir := t.TempDir()
		s, err := Generate(context.Background(), cfg, dir, Options{Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("workers=%d: %+v", w, *s)
		trees = append(trees, testutil.HashTree(t, dir))
	}
	a, b := trees[0], trees[1]
	if want := cfg.NumImages() + 4; len(a) != want {
		t.Errorf("%d files, want %d images and 4 truth files", len(a), want)
	}
	for k, h := range a {
		if b[k] != h {
			t.Errorf("%s differs between 1 and 4 workers", k)
		}
	}
	if len(b) != len(a) {
		t.Errorf("1 worker wrote %d files, 4 workers %d", len(a), len(b))
	}
}

// BenchmarkGenerate makes rsm-mini-sized images (1280x1280 px, 4 bands,
// 6 beams) one timestep at a time, files included.
func BenchmarkGenerate(b *testing.B) {
	cfg, err := Preset(PresetRSMMini)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Timesteps = 1
	cfg.BadImages = 0
	b.SetBytes(int64(cfg.NumImages() * 4 * cfg.Width * cfg.Height))
	b.ReportAllocs()
	for b.Loop() {
		dir := b.TempDir()
		if _, err := Generate(context.Background(), cfg, dir, Options{Workers: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
