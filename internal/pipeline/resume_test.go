package pipeline

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
	"gotrap/kernels/sphere"
)

// TestResumeAfterKill kills "gotrap run" (this test binary as a child
// process, see TestMain) with SIGKILL at seeded random points, resumes it,
// and checks that the finished catalogue equals an uninterrupted run's,
// table by table and row by row. The kill times are fractions of the
// duration of an uninterrupted child run measured first, so they land
// mid-run on a quiet machine as on a loaded one.
func TestResumeAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("subprocess test")
	}
	data := tiny(t)
	ref := runDir(t, data, testConfig(), 1)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	const seed = 6
	rng := rand.New(rand.NewPCG(seed, 1))
	t.Logf("seed %d", seed)
	start := func(run string) (*exec.Cmd, *strings.Builder) {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"="+run+"|"+filepath.Join(data, "images"))
		var errb strings.Builder
		cmd.Stderr = &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &errb
	}
	finish := func(run string) {
		cmd, errb := start(run)
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child run %s: %v\n%s", run, err, errb)
		}
	}
	t0 := time.Now()
	finish(filepath.Join(t.TempDir(), "timing"))
	whole := time.Since(t0)
	t.Logf("an uninterrupted child run takes %v", whole)

	killed := 0
	for k := range 5 {
		run := filepath.Join(t.TempDir(), "run")
		// Between 5% and 75% of a whole run: every stage gets hit over
		// the attempts, and a kill almost never comes too late.
		d := time.Duration((0.05 + 0.7*rng.Float64()) * float64(whole))
		cmd, _ := start(run)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			t.Logf("attempt %d: child finished before its kill at %v (err %v)", k, d, err)
		case <-time.After(d):
			cmd.Process.Kill()
			<-done
			killed++
			stages := "none"
			if m, err := rundir.ReadManifest(run); err == nil {
				stages = ""
				for _, s := range m.Stages {
					if s.Done {
						stages += s.Name + " "
					}
				}
			}
			t.Logf("attempt %d: killed after %v; stages done: %s", k, d, stages)
		}
		finish(run) // resumes: the child runs with Resume set
		equalCatalogues(t, ref, run)
	}
	if killed == 0 {
		t.Error("no child was killed mid-run")
	}
}

// TestRunDirChecks: a new run needs an empty directory; --resume refuses
// another configuration.
func TestRunDirChecks(t *testing.T) {
	data := tiny(t)
	run := runDir(t, data, testConfig(), 2)
	inputs, err := ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig()})
	if !errors.Is(err, ErrRunExists) {
		t.Errorf("second run into %s: error %v, want ErrRunExists", run, err)
	}
	cfg := testConfig()
	cfg.Association.DeRuiterRadius = 4
	_, err = Run(context.Background(), Options{Run: run, Inputs: inputs, Config: cfg, Resume: true})
	if err == nil || !strings.Contains(err.Error(), "configuration differs") {
		t.Errorf("resume with another configuration: error %v", err)
	}
	// Resuming a finished run redoes nothing and reports the same counts.
	s, err := Run(context.Background(), Options{Run: run, Inputs: inputs, Config: testConfig(), Resume: true})
	if err != nil {
		t.Fatal(err)
	}
	if s.ExtractedNow != 0 || s.Runcats == 0 {
		t.Errorf("resume of a finished run: extracted %d, %d runcats", s.ExtractedNow, s.Runcats)
	}
}

// TestForkAndMonitor drives a one-to-many fork (SPEC 5.4.2) and a monitor
// position (6.2) through the whole pipeline: a source M at (150.25,
// 52.75) is on in timesteps 0-1, then two sources A and B, 150" east and
// west of it, from timestep 2. Systematic errors of 40" put both within
// De Ruiter reach of M's runcat (r = 150"/(40" sqrt(1 + 1/4)) = 3.35 <
// 5.68; search radius 3 rb_smaj = 196" > 150"), while at 0.8 Jy (15
// sigma at 120 MHz) and 300" apart, with a 140" minor beam axis, their
// islands stay apart. Expected: in the 120 MHz image of timestep 2, M's
// runcat forks into two runcats with the ids of A's and B's measurements,
// each with a type 2 base link, M's four earlier links copied as type 6,
// and flux rows in both bands that count every link of their band
// (decision 4: the history of every band is copied).
func TestForkAndMonitor(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates its own data")
	}
	const raM, decM = pipetest.ForkRA, pipetest.ForkDec
	data := pipetest.SimulateFork(t, 4)
	truth := pipetest.ReadTruth(t, data)
	for _, s := range truth.Sources {
		if s.Class == "steady" && s.Flux > 0.05 && (sphere.Sep(s.RA, s.Dec, raM, decM)*3600) < 600 {
			t.Fatalf("steady source %d (%.3f Jy) within 10' of M: choose another position", s.ID, s.Flux)
		}
	}
	cfg := config.Default()
	cfg.Extraction.EwSysErr, cfg.Extraction.NsSysErr = 40, 40
	cfg.Monitor.Positions = [][2]float64{{149.75, 53.1}}
	run := runDir(t, data, cfg, 2)
	c := pipetest.ReadCatalogue(t, run)

	band := map[int64]int64{}
	for _, im := range c.Images {
		band[im.ID] = im.Band
	}
	meas := map[int64]catalog.Measurement{}
	for _, m := range c.Measurements {
		meas[m.ID] = m
	}
	var forks []int64
	for _, a := range c.Associations {
		if a.Type == catalog.AssocForkBase {
			forks = append(forks, a.Runcat)
			m := meas[a.Xtrsrc]
			if a.Runcat != a.Xtrsrc || band[m.Image] != 1 || (sphere.Sep(m.RA, m.Decl, raM, decM)*3600) < 100 {
				t.Errorf("fork base %+v: want the runcat id of A or B's 120 MHz measurement", a)
			}
		}
	}
	if len(forks) != 2 {
		t.Fatalf("%d fork base links, want 2 (A and B)", len(forks))
	}
	for _, rc := range c.Runcats {
		if (sphere.Sep(rc.WmRA, rc.WmDecl, raM, decM) * 3600) < 20 {
			t.Errorf("runcat %d still at M's position: the forked runcat should be deleted", rc.ID)
		}
	}
	for _, f := range forks {
		copies := 0
		perBand := map[int64]int64{}
		for _, a := range c.Associations {
			if a.Runcat != f {
				continue
			}
			if a.Type == catalog.AssocForkCopy {
				copies++
			}
			perBand[band[meas[a.Xtrsrc].Image]]++
		}
		if copies != 4 {
			t.Errorf("fork %d: %d type 6 copies, want M's 4 links (2 timesteps x 2 bands)", f, copies)
		}
		for _, fl := range c.Fluxes {
			if fl.Runcat == f && fl.FDatapoints != perBand[fl.Band] {
				t.Errorf("fork %d band %d: f_datapoints %d, but %d links in the band", f, fl.Band, fl.FDatapoints, perBand[fl.Band])
			}
		}
	}
	nmon := 0
	for _, a := range c.Associations {
		switch a.Type {
		case catalog.AssocMonitorNew:
			nmon++
			if nmon != 1 {
				t.Errorf("second type 8 link %+v", a)
			}
		case catalog.AssocMonitorNext:
			nmon++
		}
	}
	if nmon != len(c.Images) {
		t.Errorf("%d monitor links, want one per image (%d)", nmon, len(c.Images))
	}
}
