package pipeline

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"gotrap/catalog"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/sim"
)

// badTruth reads the simulator's truth/images.csv: image path (joined to
// data) -> its "bad" column ("" for a good image).
func badTruth(t *testing.T, data string) map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(data, "truth", "images.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	out := map[string]string{}
	for _, r := range recs[1:] {
		out[filepath.Join(data, r[col["image"]])] = r[col["bad"]]
	}
	return out
}

// badReason is the rejection each kind of simulated bad image must get.
var badReason = map[string]int64{
	sim.BadNaNBlock: catalog.RejectNaN,
	sim.BadRMS:      catalog.RejectRMS,
	sim.BadBeam:     catalog.RejectBeam,
}

// TestQCBadImagesTiny runs the tiny preset (3 bad images: one of each
// kind) and checks that exactly the injected bad images are rejected, each
// with its reason, under the default quality settings (the simulated NaN
// block covers 56% of the image, over the default max_nan_fraction 0.5).
func TestQCBadImagesTiny(t *testing.T) {
	data := tiny(t)
	truth := badTruth(t, data)
	cfg := testConfig()
	run := runDir(t, data, cfg, 2)
	c := pipetest.ReadCatalogue(t, run)
	if len(c.Images) != len(truth) {
		t.Fatalf("%d images in the catalogue, %d in the truth", len(c.Images), len(truth))
	}
	kinds := map[string]int{}
	for _, im := range c.Images {
		bad, ok := truth[im.URL]
		if !ok {
			t.Fatalf("image %s is not in the truth table", im.URL)
		}
		switch {
		case bad == "" && im.Rejected:
			t.Errorf("good image %s rejected: reason %d %q", im.URL, im.RejectReason.Int64, im.RejectComment)
		case bad != "" && !im.Rejected:
			t.Errorf("bad image %s (%s) accepted", im.URL, bad)
		case bad != "" && im.RejectReason.Int64 != badReason[bad]:
			t.Errorf("bad image %s (%s): reason %d %q, want %d", im.URL, bad, im.RejectReason.Int64, im.RejectComment, badReason[bad])
		case bad != "":
			kinds[bad]++
			t.Logf("%s (%s): reason %d, %s", filepath.Base(im.URL), bad, im.RejectReason.Int64, im.RejectComment)
		}
	}
	if len(kinds) != 3 {
		t.Errorf("rejected bad images by kind %v: want one of each of the 3 kinds", kinds)
	}
}
