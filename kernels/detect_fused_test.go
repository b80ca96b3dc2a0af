package kernels

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestMapsFlagsFusedMatchesTwins checks the fused pixel pass
// (mapsFlagsBlock) against its twins mapsBlock + flagsBlock bit for bit:
// D, RMS, the rms extremes (per row block and overall), the candidate
// count and the runs, over edge modes, margins, radii, NaN holes, caller
// masks and rms floors.
func TestMapsFlagsFusedMatchesTwins(t *testing.T) {
	const seed = 31
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 7))
	beam := Beam{A: 3, B: 2, Theta: 1}
	for trial := range 12 {
		w, h := 100+rng.IntN(250), 90+rng.IntN(250)
		img, _ := detSky(w, h, 12, 4, 40, beam, seed+uint64(trial))
		for range rng.IntN(60) {
			img.Pix[rng.IntN(len(img.Pix))] = float32(math.NaN())
		}
		var extra []bool
		if trial%4 == 3 {
			extra = make([]bool, w*h)
			for range 3 {
				extra[rng.IntN(w*h)] = true
			}
		}
		cfg := DefaultDetectConfig()
		cfg.DetectionThr = 5
		cfg.BackSizeX, cfg.BackSizeY = 20+rng.IntN(30), 20+rng.IntN(30)
		cfg.RemoveEdgeSources = trial%2 == 0
		cfg.Margin = []int{0, 10, 3}[trial%3]
		cfg.Radius = []float64{0, 0, 0, 80}[trial%4]
		cfg.Edge = []EdgeMode{EdgeHold, EdgePySE}[(trial/2)%2]
		cfg.RMSFilter = []float64{0.001, 1.0}[(trial/3)%2]
		d, err := NewDetector(cfg, 1+trial%2)
		if err != nil {
			t.Fatal(err)
		}
		det, rep := d.DetectWith(img, DetectOptions{Mask: extra})
		if d.grids.Empty() {
			t.Logf("trial %d: %s", trial, rep.Outcome)
			continue
		}
		gotD, gotR := slices.Clone(det.D.Pix), slices.Clone(det.RMS.Pix)
		gotRuns := slices.Clone(d.runs)
		gotMin, gotMax, gotN := rep.RMSMin, rep.RMSMax, rep.Candidates
		nblk := (h + detRowBlock - 1) / detRowBlock
		// The extremes of each row block (the fused pass takes them from
		// the ends of each segment, the twins from every pixel).
		gotExt := make([][2]float64, nblk)
		for b := range nblk {
			gotExt[b] = [2]float64{d.blocks[b].rmin, d.blocks[b].rmax}
		}
		for b := range nblk {
			d.mapsBlock(img, b, 0)
			d.flagsBlock(b, 0)
		}
		for b := range nblk {
			if want := [2]float64{d.blocks[b].rmin, d.blocks[b].rmax}; gotExt[b] != want {
				t.Fatalf("trial %d block %d: rms extremes %v, twins %v", trial, b, gotExt[b], want)
			}
		}
		d.reduceBlocks()
		same := func(a, b []float32) bool {
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
					t.Logf("pixel %d: %v, want %v", i, a[i], b[i])
					return false
				}
			}
			return true
		}
		if !same(gotD, det.D.Pix) || !same(gotR, det.RMS.Pix) {
			t.Fatalf("trial %d: fused maps differ from the twins", trial)
		}
		if gotMin != rep.RMSMin || gotMax != rep.RMSMax || gotN != rep.Candidates || !slices.Equal(gotRuns, d.runs) {
			t.Fatalf("trial %d: fused (%v, %v, %d, %d runs) != twins (%v, %v, %d, %d runs)", trial,
				gotMin, gotMax, gotN, len(gotRuns), rep.RMSMin, rep.RMSMax, rep.Candidates, len(d.runs))
		}
		t.Logf("trial %d %dx%d: %d candidates, %d runs", trial, w, h, gotN, len(gotRuns))
	}
}
