package report

import (
	"context"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/catalogtest"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
)

// TestVOEventCircPol: a run with circpol.parquet gives a new source's
// VOEvent the circular polarisation of its trigger measurement (runcat,
// trigger image) as Params, and the packets stay valid VOEvent 2.0; a new
// source without a row gets none.
func TestVOEventCircPol(t *testing.T) {
	run := t.TempDir()
	if err := catalogtest.WriteHandRun(run); err != nil {
		t.Fatal(err)
	}
	ids := catalogtest.Sources()
	// B's trigger image is 3 (TestVOEvents).
	row := catalog.CircPol{Runcat: ids["B"], Image: 3, Measurement: ids["B"], FIntV: -0.01, FIntVErr: 0.001,
		VSigma: -10, CircFrac: -0.5, CircFracErr: 0.05, CircFracLimit: 0.65}
	if err := catalog.WriteFile(rundir.TablePath(run, catalog.TableCircPol), []catalog.CircPol{row}); err != nil {
		t.Fatal(err)
	}
	opts := Options{Threads: 1, Cutouts: -1, VOEvent: true, Now: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Events: VOEventOptions{Authority: "example.org", Stream: "gotrap/test", Flagged: true}}
	if _, err := Generate(context.Background(), run, opts); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(run, "report", "voevent", "*-new-*.xml"))
	if len(files) != 2 {
		t.Fatalf("%d new-source VOEvents, want 2", len(files))
	}
	xsd := testutil.SharedFile(t, "VOEvent-v2.0.xsd")
	xmllint := ensureTool(t, "xmllint", "libxml2-utils")
	if out, err := exec.Command(xmllint, append([]string{"--noout", "--schema", xsd}, files...)...).CombinedOutput(); err != nil {
		t.Fatalf("xmllint: %v\n%s", err, out)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var d voeDoc
		if err := xml.Unmarshal(b, &d); err != nil {
			t.Fatal(err)
		}
		params := map[string]string{}
		for _, p := range d.Params {
			params[p.Name] = p.Value
		}
		rc, _ := strconv.ParseInt(params["runcat"], 10, 64)
		want := map[string]float64{"circ_frac": -0.5, "circ_frac_err": 0.05, "circ_frac_limit": 0.65, "v_sigma": -10}
		for name, v := range want {
			got, ok := params[name]
			switch {
			case rc == ids["B"] && (!ok || got != strconv.FormatFloat(v, 'g', -1, 64)):
				t.Errorf("%s (runcat B): %s = %q, want %v", filepath.Base(f), name, got, v)
			case rc != ids["B"] && ok:
				t.Errorf("%s (runcat %d, no circpol row): has %s", filepath.Base(f), rc, name)
			}
		}
	}
}
