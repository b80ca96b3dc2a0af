package main

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/pipeline"
	"gotrap/internal/respond"
	"gotrap/internal/testutil"
	"gotrap/internal/vtp/comettest"
)

// swiftRun simulates the tiny field centred on the Swift BAT packet's
// position with a 1 Jy flat-spectrum transient there from timestep 4
// (the alert's source), runs it with a webhook rule on alert events, and
// returns the data set, the run and the packet.
func swiftRun(t *testing.T, hook string) (data, run, packet string) {
	t.Helper()
	packet = filepath.Join(testutil.SharedFile(t, "voevents"), "swift-bat-grb-pos_655721-214.xml")
	d := t.TempDir()
	src := filepath.Join(d, "swift.csv")
	// The packet's C1, C2 (degrees).
	if err := os.WriteFile(src, []byte("ra,dec,flux_jy,spectral_index,onset_step\n319.7309,-34.8537,1.0,0,4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	data = filepath.Join(d, "sw")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "3", "--quiet",
		"--set", "centre_ra=319.7309", "--set", "centre_dec=-34.8537", "--set", "sources="+src, data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	cfg := filepath.Join(d, "job.toml")
	rules := fmt.Sprintf("[[response]]\nname = \"alerts\"\nwhen = \"type = 'alert' AND significance > 10\"\nactions = [\"webhook\"]\nwebhooks = [%q]\n", hook)
	if err := os.WriteFile(cfg, []byte(rules), 0o644); err != nil {
		t.Fatal(err)
	}
	run = filepath.Join(d, "run")
	if code, _, stderr := runCmd(t, "run", "--out", run, "--quiet", "--config", cfg, filepath.Join(data, "images")); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	return data, run, packet
}

// checkAlertCurve compares the forced light curve at the alert position
// with the simulator's truth: where the transient is on, each fit agrees
// with its true flux within 4 sigma and is a detection; before, each fit
// is consistent with 0 within 4 sigma and gives an upper limit above it.
func checkAlertCurve(t *testing.T, data, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pts, err := catalog.Read[pipeline.AlertPoint](f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Truth: the user source (the last, "user" true) and its flux per image.
	var id string
	for _, r := range testutil.ReadCSV(t, filepath.Join(data, "truth", "sources.csv")) {
		if r["user"] == "true" {
			id = r["source_id"]
		}
	}
	truth := map[time.Time]map[float64]float64{} // time -> freq -> flux
	for _, r := range testutil.ReadCSV(t, filepath.Join(data, "truth", "fluxes.csv")) {
		if r["source_id"] != id {
			continue
		}
		tm, _ := time.Parse(time.RFC3339, r["time"])
		fr, _ := strconv.ParseFloat(r["freq_hz"], 64)
		fl, _ := strconv.ParseFloat(r["apparent_jy"], 64)
		if truth[tm] == nil {
			truth[tm] = map[float64]float64{}
		}
		truth[tm][fr] = fl
	}
	var on, off int
	for _, p := range pts {
		want := truth[p.Time.UTC()][p.FreqHz] // 0 (or no row) while the transient is off
		isOn := want > 0
		// 4 sigma: the fit's error is the measured 1-sigma error; over
		// 16 points a 4-sigma excursion has a chance of ~1e-3 (and the
		// seed is fixed).
		if math.Abs(p.FInt-want) > 4*p.FIntErr {
			t.Errorf("image %d (timestep %d): f_int %.4g +- %.3g, truth %.4g", p.Image, p.Timestep, p.FInt, p.FIntErr, want)
		}
		if isOn {
			on++
			if !p.Detected {
				t.Errorf("image %d: the 1 Jy transient is on but not detected (%.1f sigma)", p.Image, p.Sigma)
			}
		} else {
			off++
			if p.Detected || !(p.Limit > 0) || !(p.Limit > p.FInt) {
				t.Errorf("image %d: before the onset: detected %v, limit %v", p.Image, p.Detected, p.Limit)
			}
		}
	}
	if on < 4 || off < 4 {
		t.Errorf("light curve has %d points on and %d off; want several of each (tiny: 8 timesteps, onset at 4)", on, off)
	}
}

// hookIDs is a webhook that records the event ids it receives.
type hookIDs struct {
	mu  sync.Mutex
	ids []string
}

func (h *hookIDs) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var p struct {
		Event map[string]any `json:"event"`
	}
	json.NewDecoder(r.Body).Decode(&p)
	h.mu.Lock()
	h.ids = append(h.ids, fmt.Sprint(p.Event["id"]))
	h.mu.Unlock()
}

func (h *hookIDs) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.ids...)
}

// TestListenSwiftFile: "gotrap listen" with the real Swift BAT packet
// whose position lies in a simulated field gives the forced light curve
// there, as the simulator's truth has it; the alert event goes to the
// run's events and, by its rule, to the webhook, once.
func TestListenSwiftFile(t *testing.T) {
	hook := &hookIDs{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	data, run, packet := swiftRun(t, srv.URL)
	code, stdout, stderr := runCmd(t, "listen", "--run", run, "--send", packet)
	if code != 0 {
		t.Fatalf("listen: exit %d: %s", code, stderr)
	}
	name := (&respond.Alert{IVORN: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_655721-214"}).Name()
	checkAlertCurve(t, data, filepath.Join(run, "alerts", name+".parquet"))
	evs, err := respond.ReadEvents(run)
	if err != nil {
		t.Fatal(err)
	}
	var alert *respond.Event
	for i := range evs {
		if evs[i].Type == respond.TypeAlert {
			alert = &evs[i]
		}
	}
	if alert == nil || alert.ID != "alert-"+name || math.Abs(alert.RA-319.7309) > 1e-9 {
		t.Fatalf("alert event %+v\n%s", alert, stdout)
	}
	if got := hook.get(); len(got) != 1 || got[0] != alert.ID {
		t.Errorf("webhook got %v, want the alert event once", got)
	}
	// The alert position is on the monitoring list for the runs that
	// continue this one, in the --monitor-file format.
	mon, err := pipeline.ReadMonitorFile(filepath.Join(run, "alerts", "monitor.txt"))
	if err != nil || len(mon) != 1 || math.Abs(mon[0][0]-319.7309) > 1e-7 || math.Abs(mon[0][1]+34.8537) > 1e-7 {
		t.Errorf("alerts/monitor.txt: %v, %v", mon, err)
	}
	// Again: the event is there already, delivered once only.
	if code, _, stderr := runCmd(t, "listen", "--run", run, "--send", packet); code != 0 {
		t.Fatalf("listen again: %s", stderr)
	}
	if got := hook.get(); len(got) != 1 {
		t.Errorf("webhook got %v after the second listen, want one", got)
	}
	if mon, _ := pipeline.ReadMonitorFile(filepath.Join(run, "alerts", "monitor.txt")); len(mon) != 1 {
		t.Errorf("monitor list after the second listen: %v", mon)
	}
	// A folder with the VOEvent 1.1 packet: it is rejected, the rest taken.
	code, _, stderr = runCmd(t, "listen", "--run", run, filepath.Dir(packet))
	if code != 1 || !strings.Contains(stderr, "fermi-gbm-flt-pos_VOEvent-v1.1_pygcn.xml") || !strings.Contains(stderr, "1 of 9 packets rejected") {
		t.Errorf("listen on the folder: exit %d, stderr %s", code, stderr)
	}
}

// TestListenFromCometSendVO: Comet's own sender publishes the Swift
// packet to "gotrap listen --listen" (a child process): it acks, and the
// light curve is written; the VOEvent 1.1 packet is refused with a nak.
func TestListenFromCometSendVO(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Comet, an SMTP server or a child process")
	}
	comettest.Source(t)
	hook := &hookIDs{}
	srv := httptest.NewServer(hook)
	defer srv.Close()
	data, run, packet := swiftRun(t, srv.URL)
	port := comettest.FreePort(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{"listen", "--run", run, "--send", "--listen", fmt.Sprintf("127.0.0.1:%d", port)})
	cmd := exec.Command(exe, "-test.run=^TestRunFaultsChild$")
	cmd.Env = append(os.Environ(), childArgsEnv+"="+string(args))
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	comettest.WaitPort(t, port, 30*time.Second)
	if o, err := comettest.SendVO(t, fmt.Sprintf("127.0.0.1:%d", port), packet); err != nil {
		t.Fatalf("comet-sendvo: %v\n%s\nlistener:\n%s", err, o, out.String())
	}
	name := (&respond.Alert{IVORN: "ivo://nasa.gsfc.gcn/SWIFT#BAT_GRB_Pos_655721-214"}).Name()
	checkAlertCurve(t, data, filepath.Join(run, "alerts", name+".parquet"))
	if got := hook.get(); len(got) != 1 {
		t.Errorf("webhook got %v, want the alert event once", got)
	}
	old := filepath.Join(filepath.Dir(packet), "fermi-gbm-flt-pos_VOEvent-v1.1_pygcn.xml")
	if o, err := comettest.SendVO(t, fmt.Sprintf("127.0.0.1:%d", port), old); err == nil {
		t.Errorf("comet-sendvo of a VOEvent 1.1 packet was acked:\n%s", o)
	}
}
