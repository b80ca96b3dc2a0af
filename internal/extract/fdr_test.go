package extract

import (
	"testing"

	"gotrap/internal/fitsimg"
	"gotrap/internal/testutil"
	"gotrap/kernels"
)

// TestFDRWorkerWithoutBeam: a Worker for False Detection Rate thresholds
// is made before any image's beam is known (gotrap extract --fdr, a run
// with fdr = true), and extracts each real image exactly as a Worker made
// with that image's beam does.
func TestFDRWorkerWithoutBeam(t *testing.T) {
	for _, name := range realImages {
		path := testutil.SharedFile(t, name)
		o := pyseOptions(5, 32)
		o.Detect.FDR, o.Detect.FDRAlpha, o.Maps = true, 0.01, true
		w, err := NewWorker(o)
		if err != nil {
			t.Fatalf("NewWorker with FDR and no beam: %v", err)
		}
		got, err := w.File(path)
		if err != nil {
			t.Fatal(err)
		}
		m, err := fitsimg.ReadMeta(path, fitsimg.Options{})
		if err != nil {
			t.Fatal(err)
		}
		o.Detect.Beam = kernels.Beam{A: m.BeamPx.SMaj, B: m.BeamPx.SMin, Theta: m.BeamPx.Theta}
		ref, err := NewWorker(o)
		if err != nil {
			t.Fatal(err)
		}
		want, err := ref.File(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := sameResult(want, got); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if !(got.DetectionThr > 0) {
			t.Errorf("%s: FDR threshold %v", name, got.DetectionThr)
		}
	}
}
