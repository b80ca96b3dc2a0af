package respond

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/pipeline/catstage"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/respond/respondtest"
	"gotrap/internal/rundir"
	"gotrap/internal/sim"
	"gotrap/internal/testutil"
	"gotrap/internal/vtp/comettest"
	"gotrap/kernels/sphere"
)

// cache is the folder of the data sets and runs that the tests of this
// binary share; TestMain removes it.
var cache struct {
	sync.Once
	dir string
	err error
}

// cacheDir returns the folder name of the cache (not created).
func cacheDir(t *testing.T, name string) string {
	t.Helper()
	cache.Do(func() { cache.dir, cache.err = os.MkdirTemp("", "gotrap-respond-") })
	if cache.err != nil {
		t.Fatal(cache.err)
	}
	return filepath.Join(cache.dir, name)
}

// tinyData is the tiny preset (seed 1), simulated once per test binary.
var tinyData struct {
	sync.Once
	dir string
}

func tiny(t *testing.T) string {
	t.Helper()
	tinyData.Do(func() {
		dir := cacheDir(t, "tiny")
		pipetest.SimulateInto(t, dir, sim.PresetTiny, 1)
		tinyData.dir = dir
	})
	if tinyData.dir == "" {
		t.Fatal("tiny data set not simulated")
	}
	return tinyData.dir
}

// finished is the run of a whole data set with the default
// configuration, made once per test binary.
type finished struct {
	sync.Once
	run string
}

var finishedRuns = map[string]*finished{sim.PresetTiny: {}, sim.PresetRSMMini: {}}

// finishedRun returns a copy, in the test's temporary folder, of the run
// (pipeline and catalogue stage) of the whole data set of preset, seed 1,
// with the default configuration, made once per test binary: the tests
// that need no other pipeline setting share it (the rules, [events] and
// [responses] are read by Respond, not the pipeline). rsm-mini's images
// (945 MB) are deleted once its run is made: the events need the
// catalogue only.
func finishedRun(t *testing.T, preset string) string {
	t.Helper()
	f := finishedRuns[preset]
	f.Do(func() {
		var data string
		if preset == sim.PresetTiny {
			data = tiny(t)
		} else {
			data = cacheDir(t, preset)
			defer os.RemoveAll(data)
			start := time.Now()
			pipetest.SimulateInto(t, data, preset, 1)
			t.Logf("%s simulated in %.1f s", preset, time.Since(start).Seconds())
		}
		start := time.Now()
		run := cacheDir(t, preset+"-run")
		runData(t, data, run, -1, config.Default(), 1)
		t.Logf("%s run in %.1f s", preset, time.Since(start).Seconds())
		f.run = run
	})
	if f.run == "" {
		t.Fatalf("the %s run was not made", preset)
	}
	return copyRun(t, f.run)
}

// runTiny runs the pipeline and the catalogue stage over the images of
// the tiny data set whose timestep is below upto (all when upto < 0).
func runTiny(t *testing.T, upto int, cfg config.Config) string {
	t.Helper()
	return runTinyRanks(t, upto, cfg, 1)
}

// runTinyRanks is runTiny on ranks in-process ranks.
func runTinyRanks(t *testing.T, upto int, cfg config.Config, ranks int) string {
	t.Helper()
	run := filepath.Join(t.TempDir(), "run")
	runData(t, tiny(t), run, upto, cfg, ranks)
	return run
}

// runData runs the pipeline and the catalogue stage into run over the
// images of the data set data whose timestep is below upto (all when
// upto < 0), on ranks in-process ranks.
func runData(t *testing.T, data, run string, upto int, cfg config.Config, ranks int) {
	t.Helper()
	all, err := pipeline.ExpandInputs([]string{filepath.Join(data, "images")})
	if err != nil {
		t.Fatal(err)
	}
	var inputs []string
	for _, p := range all {
		var ts int
		if _, err := fmt.Sscanf(filepath.Base(p), "t%04d_", &ts); err != nil {
			t.Fatalf("image name %s: %v", p, err)
		}
		if upto < 0 || ts < upto {
			inputs = append(inputs, p)
		}
	}
	if _, err := pipeline.RunRanks(context.Background(), pipeline.Options{Run: run, Inputs: inputs, Config: cfg}, ranks); err != nil {
		t.Fatal(err)
	}
	if _, _, err := catstage.Run(context.Background(), run, catstage.Options{Threads: 1}, false); err != nil {
		t.Fatal(err)
	}
}

// TestEventsCausal: the events of timesteps 0..k-1 of the whole run equal
// the events of a run made of those timesteps only (what an append-grown
// run has when it reaches k), for every k; Events over a range returns
// that range of the whole set.
func TestEventsCausal(t *testing.T) {
	cfg := config.Default()
	full := finishedRun(t, sim.PresetTiny)
	ctx := context.Background()
	all, err := Events(ctx, full, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]int{}
	for _, e := range all {
		types[e.Type]++
	}
	t.Logf("tiny: %d events %v", len(all), types)
	for _, typ := range []string{TypeNewSource, TypeRise, TypeDrop, TypeHigh, TypeLow, TypeVariable, TypeSingleTimestep} {
		if types[typ] == 0 {
			t.Errorf("no %s event on tiny (its 4 transients and 4 variables make some)", typ)
		}
	}
	for _, k := range []int{2, 4, 6} {
		part := runTiny(t, k, cfg)
		got, err := Events(ctx, part, cfg, All)
		if err != nil {
			t.Fatal(err)
		}
		want, err := Events(ctx, full, cfg, Range{0, int64(k - 1)})
		if err != nil {
			t.Fatal(err)
		}
		if len(want) == 0 {
			t.Fatalf("k=%d: no events to compare", k)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("timesteps < %d: a run of those timesteps has %d events, the whole run %d there", k, len(got), len(want))
			for i := 0; i < min(len(got), len(want)); i++ {
				if !reflect.DeepEqual(got[i], want[i]) {
					t.Errorf("first difference:\n got %+v\nwant %+v", got[i], want[i])
					break
				}
			}
		}
		var sub []Event
		for _, e := range all {
			if e.Timestep < int64(k) {
				sub = append(sub, e)
			}
		}
		if !reflect.DeepEqual(sub, want) {
			t.Errorf("Events(0..%d) is not the whole run's events of those timesteps", k-1)
		}
	}
}

// TestEventsVariabilityMatchesVarmetric: at its last point, the running
// eta and V of every light curve that crosses the variability cut equal
// the varmetric table's (SPEC decisions: the incremental forms must equal
// the batch ones).
func TestEventsVariabilityMatchesVarmetric(t *testing.T) {
	cfg := config.Default()
	cfg.Events.VariabilityVMin = 0 // every significant chi-square crosses
	run := finishedRun(t, sim.PresetTiny)
	ctx := context.Background()
	evs, err := Events(ctx, run, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.Open(ctx, run, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n := 0
	for _, e := range evs {
		if e.Type != TypeVariable {
			continue
		}
		var np int64
		var eta, v float64
		err := db.SQL().QueryRowContext(ctx, `SELECT n_points, eta_int, v_int FROM varmetric WHERE runcat = ? AND band = ?`, e.Runcat, e.Band).Scan(&np, &eta, &v)
		if err != nil {
			t.Fatal(err)
		}
		if np != e.NPoints {
			continue // the light curve goes on after the crossing
		}
		n++
		// 1e-9 relative: the running (West/Welford) and the two-pass
		// sums differ by rounding only, over < 10 points.
		if !testutil.Close(e.Value, eta, 0, 1e-9) || !testutil.Close(e.Reference, v, 0, 1e-9) {
			t.Errorf("%s: eta %v V %v, varmetric %v %v", e.ID, e.Value, e.Reference, eta, v)
		}
	}
	if n == 0 {
		t.Fatal("no variability event at a light curve's last point to compare")
	}
}

// newSourceRule is the acceptance rule: new sources of type 1 above 10
// sigma, to a VOEvent broker, an email recipient and a webhook.
func newSourceRule(broker string, hook string) config.Rule {
	return config.Rule{Name: "new-transients", When: "type = 'new_source' AND newsource_type = 1 AND significance > 10",
		Actions: []string{"voevent", "email", "webhook"}, Brokers: []string{broker}, EmailTo: []string{"swg@example.org"},
		Webhooks: []string{hook}, Role: "test", RatePeriod: "1h", DedupWindow: "0s"}
}

// webhookSink records the events POSTed to it, in arrival order; onPost,
// when set, runs before the reply.
type webhookSink struct {
	mu     sync.Mutex
	ids    []string
	onPost func(n int)
	status int
}

func (w *webhookSink) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	var p struct {
		Rule  string         `json:"rule"`
		Event map[string]any `json:"event"`
	}
	body, _ := io.ReadAll(r.Body)
	if err := json.Unmarshal(body, &p); err != nil {
		http.Error(rw, err.Error(), http.StatusBadRequest)
		return
	}
	w.mu.Lock()
	if w.status != 0 {
		st := w.status
		w.mu.Unlock()
		http.Error(rw, "down for the test", st)
		return
	}
	w.ids = append(w.ids, p.Event["id"].(string))
	n := len(w.ids)
	f := w.onPost
	w.mu.Unlock()
	if f != nil {
		f(n)
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *webhookSink) got() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.ids)
}

// expected returns the ids of the events the acceptance rule matches,
// in timestep order, computed independently of the rule engine.
func expected(t *testing.T, run string, cfg config.Config) []string {
	t.Helper()
	evs, err := Events(context.Background(), run, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		if e.Type == TypeNewSource && e.NewsourceType == 1 && e.Significance > 10 {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// savedIDs maps the Comet subscriber's saved files back to event ids.
func savedIDs(t *testing.T, b *comettest.Broker, cfg config.Config, rule string, ids []string) map[string]int {
	t.Helper()
	names := map[string]string{}
	for _, id := range ids {
		names[comettest.SavedName(IVORN(cfg.Responses, rule, Event{ID: id}))] = id
	}
	out := map[string]int{}
	for _, f := range b.SavedFiles(t) {
		id, ok := names[f]
		if !ok {
			t.Errorf("subscriber saved %s, not one of the expected events", f)
			continue
		}
		out[id]++
	}
	return out
}

func mailIDs(t *testing.T, s *respondtest.SMTP) []string {
	var out []string
	for _, m := range s.Messages(t) {
		id := m.Header.Get("Message-Id")
		id = strings.TrimSuffix(strings.TrimPrefix(id, "<new-transients."), "@gotrap.invalid>")
		out = append(out, id)
	}
	return out
}

// acceptance are the data sets of the acceptance tests of delivery
// (issue 16): tiny and rsm-mini, seed 1. least is the least number of
// events the rule must match there for the test to mean something (the
// kill test stops half-way through them): tiny (4 transients) has 3;
// rsm-mini (20 transients, 30 variables, 6 beams, 4 bands, 6 timesteps)
// has 19, in 13 images of 5 timesteps and 2 bands.
var acceptance = []struct {
	preset string
	least  int
}{{sim.PresetTiny, 3}, {sim.PresetRSMMini, 10}}

// acceptanceRun returns a copy of the finished run of the data set and
// the ids of the events the acceptance rule matches there (expected), in
// timestep order, failing when they are fewer than least or lie in one
// timestep (their order would go untested).
func acceptanceRun(t *testing.T, preset string, least int, cfg config.Config) (string, []string) {
	t.Helper()
	run := finishedRun(t, preset)
	want := expected(t, run, cfg)
	evs, err := Events(context.Background(), run, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]Event{}
	for _, e := range evs {
		byID[e.ID] = e
	}
	steps, bands, images := map[int64]bool{}, map[int64]bool{}, map[int64]bool{}
	for i, id := range want {
		e := byID[id]
		steps[e.Timestep], bands[e.Band], images[e.Image] = true, true, true
		if i > 0 && e.Timestep < byID[want[i-1]].Timestep {
			t.Errorf("expected events out of timestep order: %s (timestep %d) after %s (%d)", id, e.Timestep, want[i-1], byID[want[i-1]].Timestep)
		}
	}
	t.Logf("%s: %d new sources of type 1 above 10 sigma, in %d images of %d timesteps and %d bands",
		preset, len(want), len(images), len(steps), len(bands))
	if len(want) < least || len(steps) < 2 {
		t.Fatalf("%s has %d new sources of type 1 above 10 sigma in %d timesteps; the test needs %d or more, in several timesteps",
			preset, len(want), len(steps), least)
	}
	return run, want
}

// checkDelivered checks that each target received each event of want
// exactly once, in the order of want (timestep order): the webhook's
// requests, the SMTP server's messages in the order it saved them, the
// broker's receipts (its log; a second publication of an event would be
// listed there although the broker forwards it once) and the Comet
// subscriber's saved packets (once each).
func checkDelivered(t *testing.T, run string, cfg config.Config, want []string, sink *webhookSink, smtpd *respondtest.SMTP, b *comettest.Broker) {
	t.Helper()
	if got := sink.got(); !slices.Equal(got, want) {
		t.Errorf("webhook received %d requests %v,\nwant %d %v (once each, timestep order)", len(got), got, len(want), want)
	}
	if got := mailIDs(t, smtpd); !slices.Equal(got, want) {
		t.Errorf("SMTP server saved %d messages %v,\nwant %d %v (once each, timestep order)", len(got), got, len(want), want)
	}
	b.WaitSaved(t, len(want), 20*time.Second)
	time.Sleep(500 * time.Millisecond) // a late duplicate at the subscriber would show now
	var ivorns []string
	for _, id := range want {
		ivorns = append(ivorns, IVORN(cfg.Responses, "new-transients", Event{ID: id}))
	}
	if got := b.Received(t); !slices.Equal(got, ivorns) {
		t.Errorf("broker received %d packets %v,\nwant %d %v (once each, timestep order)", len(got), got, len(ivorns), ivorns)
	}
	saved := savedIDs(t, b, cfg, "new-transients", want)
	for _, id := range want {
		if saved[id] != 1 {
			t.Errorf("Comet subscriber saved %s %d times", id, saved[id])
		}
	}
	if n := len(b.SavedFiles(t)); n != len(want) {
		t.Errorf("Comet subscriber saved %d packets, want %d", n, len(want))
	}
}

// TestAcceptanceDeliverOnce: on tiny and rsm-mini, the rule "new source
// type 1 above 10 sigma -> voevent + email + webhook" delivers each such
// new source once to the real Comet broker (its subscriber saves it),
// the real SMTP server (STARTTLS) and the webhook, in timestep order; a
// second call delivers nothing more.
func TestAcceptanceDeliverOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Comet, an SMTP server or a child process")
	}
	for _, ds := range acceptance {
		t.Run(ds.preset, func(t *testing.T) { testDeliverOnce(t, ds.preset, ds.least) })
	}
}

func testDeliverOnce(t *testing.T, preset string, least int) {
	b := comettest.Start(t, true)
	smtpd := respondtest.NewSMTP(t, true)
	smtpd.Start(t)
	sink := &webhookSink{}
	hook := httptest.NewServer(sink)
	defer hook.Close()

	cfg := config.Default()
	cfg.Responses.SMTPHost, cfg.Responses.SMTPPort = "127.0.0.1", smtpd.Port
	cfg.Responses.SMTPTLS, cfg.Responses.SMTPCAFile = "required", smtpd.CAFile
	cfg.Response = []config.Rule{newSourceRule(b.Addr(), hook.URL)}
	run, want := acceptanceRun(t, preset, least, cfg)
	ctx := context.Background()
	res, err := Respond(ctx, run, cfg, Options{Send: true, Timesteps: All})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 3*len(want) || res.Failed != 0 {
		t.Errorf("sent %d, failed %d; want %d sent", res.Sent, res.Failed, 3*len(want))
	}
	checkDelivered(t, run, cfg, want, sink, smtpd, b)
	// Again: everything is in the log as delivered.
	res, err = Respond(ctx, run, cfg, Options{Send: true, Timesteps: All})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 0 || res.Skipped != 3*len(want) {
		t.Errorf("second call sent %d, skipped %d", res.Sent, res.Skipped)
	}
	checkDelivered(t, run, cfg, want, sink, smtpd, b)
	// The packets validate against the VOEvent 2.0 schema.
	xsd := testutil.SharedFile(t, "VOEvent-v2.0.xsd")
	if _, err := exec.LookPath("xmllint"); err != nil {
		t.Skip("xmllint missing (libxml2-utils): packets not validated")
	}
	args := []string{"--nonet", "--noout", "--schema", xsd}
	for _, f := range b.SavedFiles(t) {
		args = append(args, filepath.Join(b.Saved, f))
	}
	if out, err := exec.Command("xmllint", args...).CombinedOutput(); err != nil {
		t.Errorf("packets do not validate: %v\n%s", err, out)
	}
}

func sortedCopy(s []string) []string {
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

// TestAcceptanceServersDown: with the broker, the SMTP server and the
// webhook down, the call completes (no error), the log shows the
// failures; once they are back, the next call delivers everything once.
func TestAcceptanceServersDown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Comet, an SMTP server or a child process")
	}
	b := comettest.New(t) // not started
	smtpd := respondtest.NewSMTP(t, false)
	sink := &webhookSink{status: http.StatusServiceUnavailable}
	hook := httptest.NewServer(sink)
	defer hook.Close()
	cfg := config.Default()
	cfg.Responses.SMTPHost, cfg.Responses.SMTPPort = "127.0.0.1", smtpd.Port
	cfg.Responses.Retries, cfg.Responses.RetryBackoff = 2, "10ms"
	cfg.Response = []config.Rule{newSourceRule(b.Addr(), hook.URL)}
	run := finishedRun(t, sim.PresetTiny)
	want := expected(t, run, cfg)
	ctx := context.Background()
	res, err := Respond(ctx, run, cfg, Options{Send: true, Timesteps: All})
	if err != nil {
		t.Fatalf("servers down made Respond fail: %v", err)
	}
	// One failure per target (three retries each); the rest wait.
	if res.Sent != 0 || res.Failed != 3 || res.Pending != 3*(len(want)-1) {
		t.Errorf("servers down: sent %d failed %d pending %d", res.Sent, res.Failed, res.Pending)
	}
	recs, err := ReadLog(run)
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]int{}
	for _, r := range recs {
		if r.State == StateFailed {
			failed[r.Action]++
			if r.Error == "" {
				t.Errorf("failed record without an error: %+v", r)
			}
		}
	}
	for _, a := range []string{"voevent", "email", "webhook"} {
		if failed[a] != cfg.Responses.Retries+1 {
			t.Errorf("%s: %d failed attempts logged, want %d", a, failed[a], cfg.Responses.Retries+1)
		}
	}
	// Back up.
	b.StartBroker(t)
	b.StartSubscriber(t)
	smtpd.Start(t)
	sink.mu.Lock()
	sink.status = 0
	sink.mu.Unlock()
	res, err = Respond(ctx, run, cfg, Options{Send: true, Timesteps: All})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 3*len(want) || res.Failed != 0 {
		t.Errorf("servers back: sent %d failed %d, want %d sent", res.Sent, res.Failed, 3*len(want))
	}
	if got := sink.got(); !slices.Equal(got, want) {
		t.Errorf("webhook received %v, want %v", got, want)
	}
	if got := mailIDs(t, smtpd); !slices.Equal(sortedCopy(got), sortedCopy(want)) {
		t.Errorf("SMTP server saved %v, want %v", got, want)
	}
	b.WaitSaved(t, len(want), 20*time.Second)
	saved := savedIDs(t, b, cfg, "new-transients", want)
	for _, id := range want {
		if saved[id] != 1 {
			t.Errorf("subscriber saved %s %d times", id, saved[id])
		}
	}
}

// TestRulesQuietDedupRate: quiet mode logs and sends nothing; the rate
// limit and the de-duplication window hold back the events they should,
// decided in event order; a bad when condition is an error naming the
// rule.
func TestRulesQuietDedupRate(t *testing.T) {
	run := finishedRun(t, sim.PresetTiny)
	cfg := config.Default()
	sink := &webhookSink{}
	hook := httptest.NewServer(sink)
	defer hook.Close()
	evs, err := Events(context.Background(), run, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	var highs []Event
	bySrc := map[int64]int{}
	for _, e := range evs {
		if e.Type == TypeHigh {
			highs = append(highs, e)
			bySrc[e.Runcat]++
		}
	}
	base := config.Rule{Name: "highs", When: "type = 'high'", Actions: []string{"webhook"}, Webhooks: []string{hook.URL},
		Role: "test", RatePeriod: "1h", DedupWindow: "0s"}
	t.Run("quiet", func(t *testing.T) {
		r := base
		r.Quiet = true
		c := cfg
		c.Response = []config.Rule{r}
		dir := copyRun(t, run)
		res, err := Respond(context.Background(), dir, c, Options{Send: true, Timesteps: All})
		if err != nil {
			t.Fatal(err)
		}
		if res.Sent != 0 || res.NotDelivered != len(highs) || len(sink.got()) != 0 {
			t.Errorf("quiet: sent %d, not delivered %d (want %d), webhook got %d", res.Sent, res.NotDelivered, len(highs), len(sink.got()))
		}
	})
	t.Run("dedup", func(t *testing.T) {
		r := base
		r.DedupWindow = "24h" // longer than the run: one per source
		c := cfg
		c.Response = []config.Rule{r}
		dir := copyRun(t, run)
		res, err := Respond(context.Background(), dir, c, Options{Send: false, Timesteps: All})
		if err != nil {
			t.Fatal(err)
		}
		sent := 0
		for _, p := range res.Planned {
			if p.State == "would send" {
				sent++
			}
		}
		if sent != len(bySrc) || len(res.Planned) != len(highs) {
			t.Errorf("dedup: %d of %d would be sent, want one per source (%d)", sent, len(res.Planned), len(bySrc))
		}
		if _, err := os.Stat(rundir.ResponsesLogPath(dir)); err == nil {
			t.Error("a dry run wrote the delivery log")
		}
	})
	t.Run("rate", func(t *testing.T) {
		r := base
		r.RateLimit, r.RatePeriod = 2, "1000h" // two in the whole run
		c := cfg
		c.Response = []config.Rule{r}
		res, err := Respond(context.Background(), copyRun(t, run), c, Options{Timesteps: All})
		if err != nil {
			t.Fatal(err)
		}
		var states []string
		for _, p := range res.Planned {
			states = append(states, p.State)
		}
		if len(states) < 3 || states[0] != "would send" || states[1] != "would send" || states[2] != StateSuppressed {
			t.Errorf("rate limit 2: states %v", states)
		}
	})
	t.Run("bad-when", func(t *testing.T) {
		r := base
		r.When = "no_such_column > 1"
		err := CheckRules(context.Background(), []config.Rule{r})
		if err == nil || !strings.Contains(err.Error(), `"highs"`) || !strings.Contains(err.Error(), "no_such_column") {
			t.Errorf("bad when: %v", err)
		}
	})
}

func copyRun(t *testing.T, run string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "run")
	if err := os.CopyFS(dir, os.DirFS(run)); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestEventJSONNaN: NaN values become null in the JSON payload.
func TestEventJSONNaN(t *testing.T) {
	b := payload("r", Event{ID: "x", Value: math.NaN(), Reference: math.Inf(1)}, "")
	var m struct {
		Event map[string]any `json:"event"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("payload %s: %v", b, err)
	}
	if m.Event["value"] != nil || m.Event["reference"] != nil || m.Event["id"] != "x" {
		t.Errorf("payload %s", b)
	}
}

// TestMain runs Respond in a child process when GOTRAP_RESPOND_CHILD
// names a run directory (TestAcceptanceKillResume kills it), and removes
// the data sets and runs the tests shared.
func TestMain(m *testing.M) {
	if run := os.Getenv("GOTRAP_RESPOND_CHILD"); run != "" {
		cfg, err := config.RunConfig(run)
		if err == nil {
			_, err = Respond(context.Background(), run, cfg, Options{Send: true, Timesteps: All})
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if cache.dir != "" {
		os.RemoveAll(cache.dir)
	}
	os.Exit(code)
}

// TestAcceptanceKillResume: on tiny and rsm-mini, a process delivering
// the acceptance rule's events is killed with SIGKILL while the webhook
// holds the request of an event half-way through; the next call logs
// that attempt as unknown, does not repeat it, and delivers the rest:
// every target receives every event exactly once, in timestep order.
func TestAcceptanceKillResume(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Comet, an SMTP server or a child process")
	}
	for _, ds := range acceptance {
		t.Run(ds.preset, func(t *testing.T) { testKillResume(t, ds.preset, ds.least) })
	}
}

func testKillResume(t *testing.T, preset string, least int) {
	b := comettest.Start(t, true)
	smtpd := respondtest.NewSMTP(t, false)
	smtpd.Start(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	sink := &webhookSink{}
	hook := httptest.NewServer(sink)
	defer hook.Close()
	cfg := config.Default()
	cfg.Responses.SMTPHost, cfg.Responses.SMTPPort = "127.0.0.1", smtpd.Port
	cfg.Response = []config.Rule{newSourceRule(b.Addr(), hook.URL)}
	run, want := acceptanceRun(t, preset, least, cfg)
	// The child reads the rule from the run's job configuration, as
	// "gotrap respond RUN" does.
	var toml bytes.Buffer
	if err := cfg.Encode(&toml); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rundir.ConfigPath(run), toml.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	// The kill comes while the webhook holds the request of event k
	// (1-based), half-way: its VOEvent and email went out, and all three
	// of the events before it.
	k := max(2, len(want)/2)
	killed := make(chan struct{})
	sink.onPost = func(n int) {
		if n == k {
			cmd.Process.Kill() // SIGKILL: no deferred code runs in the child
			<-killed
		}
	}
	cmd.Env = append(os.Environ(), "GOTRAP_RESPOND_CHILD="+run)
	out, err := os.CreateTemp(t.TempDir(), "child")
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	werr := cmd.Wait()
	close(killed)
	if st, ok := werr.(*exec.ExitError); !ok || st.ProcessState.Sys() == nil || st.ProcessState.ExitCode() != -1 {
		log, _ := os.ReadFile(out.Name())
		t.Fatalf("child was not killed: %v\n%s", werr, log)
	}
	if got := sink.got(); len(got) != k {
		t.Fatalf("webhook had %d requests at the kill, want %d", len(got), k)
	}
	if got := len(mailIDs(t, smtpd)); got != k {
		t.Errorf("SMTP server had %d messages at the kill, want %d", got, k)
	}
	// Resume.
	res, err := Respond(context.Background(), run, cfg, Options{Send: true, Timesteps: All})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Unknown) != 1 || res.Unknown[0].Action != "webhook" || res.Unknown[0].Event != want[k-1] {
		t.Errorf("unknown attempts after the kill: %+v, want the webhook of %s", res.Unknown, want[k-1])
	}
	// The rest and nothing else: three deliveries for each event after
	// the k-th; the 3k before the kill (the unknown one included) skipped.
	if res.Sent != 3*(len(want)-k) || res.Skipped != 3*k || res.Failed != 0 {
		t.Errorf("resume sent %d, skipped %d, failed %d; want %d sent, %d skipped", res.Sent, res.Skipped, res.Failed, 3*(len(want)-k), 3*k)
	}
	checkDelivered(t, run, cfg, want, sink, smtpd, b)
	// The log tells the story: for the killed attempt a start, then
	// unknown, and no second start.
	recs, err := ReadLog(run)
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, r := range recs {
		if r.Event == want[k-1] && r.Action == "webhook" {
			states = append(states, r.State)
		}
	}
	if !slices.Equal(states, []string{StateStart, StateUnknown}) {
		t.Errorf("log of the killed webhook delivery: %v", states)
	}
}

// TestRespondPerTimestep: calling Respond once per timestep, as the
// streamed engine does after each commit, writes the same events and
// delivers the same events in the same order as one call over the
// finished run, with and without a Stream. The rules use what a Stream
// carries from call to call: a de-duplication window, a rate limit,
// quiet mode, and a webhook down for the first calls (its deliveries
// wait, then go out first, in order); the delivery log ends with the same
// state per delivery.
func TestRespondPerTimestep(t *testing.T) {
	ctx := context.Background()
	cfg := config.Default()
	cfg.Responses.Retries = 0
	base := finishedRun(t, sim.PresetTiny)
	type outcome struct {
		evs        []Event
		got, flaky []string
		states     map[string]string
	}
	deliver := func(perStep, stream bool) outcome {
		sink, down := &webhookSink{}, &webhookSink{}
		hook, hookDown := httptest.NewServer(sink), httptest.NewServer(down)
		defer hook.Close()
		defer hookDown.Close()
		c := cfg
		c.Response = []config.Rule{
			{Name: "all-new", When: "type IN ('new_source', 'rise', 'variable')", Actions: []string{"webhook"},
				Webhooks: []string{hook.URL}, Role: "test", RatePeriod: "1h", DedupWindow: "0s"},
			{Name: "once-a-source", When: "true", Actions: []string{"webhook"},
				Webhooks: []string{hookDown.URL}, Role: "test", RatePeriod: "1h", DedupWindow: "1000h"},
			{Name: "few", When: "type <> 'known'", Actions: []string{"webhook"},
				Webhooks: []string{hook.URL}, Role: "test", RateLimit: 3, RatePeriod: "1000h", DedupWindow: "0s"},
			{Name: "quiet", When: "true", Quiet: true, Actions: []string{"webhook"},
				Webhooks: []string{hook.URL}, Role: "test", RatePeriod: "1h", DedupWindow: "0s"},
		}
		run := copyRun(t, base)
		var out outcome
		if perStep {
			var st *Stream
			if stream {
				var err error
				if st, err = NewStream(c); err != nil {
					t.Fatal(err)
				}
				defer st.Close()
			}
			for ts := int64(0); ts < 8; ts++ {
				down.mu.Lock()
				down.status = map[bool]int{true: http.StatusServiceUnavailable}[ts < 3]
				down.mu.Unlock()
				if _, err := Respond(ctx, run, c, Options{Send: true, Timesteps: Range{ts, ts}, Stream: st}); err != nil {
					t.Fatal(err)
				}
			}
			if st != nil && st.Full != 1 {
				t.Errorf("the stream computed from the first timestep %d times, want once (its first call)", st.Full)
			}
			// DuckDB opened again every streamReopen calls (3 here):
			// the state is the Stream's, the events the same. Opens:
			// the first call, the second (events.parquet appeared, a
			// table the views must see), then at calls 5 and 8.
			if st != nil && st.opens != 4 {
				t.Errorf("the stream opened DuckDB %d times over 8 calls, want 4", st.opens)
			}
			if st != nil {
				checkEventParts(t, run, st)
				// DuckDB reopened at calls 5 and 8 keeps the rules'
				// state: only the first call reads every event.
				if st.planner == nil || st.RulesFull != 1 {
					t.Errorf("the stream's rules read every event in %d of 8 calls (state kept at the end: %v), want 1", st.RulesFull, st.planner != nil)
				}
				// The other 7 match their part in the rules' DuckDB,
				// kept open for streamReopen (3) calls: opened 3 times
				// at most (once a call would be 7 when each has events).
				if st.RulesOpens < 1 || st.RulesOpens > 3 {
					t.Errorf("the stream opened the rules' DuckDB %d times over 7 calls, want 1 to 3", st.RulesOpens)
				}
				t.Logf("rules' DuckDB opened %d times", st.RulesOpens)
			}
		} else if _, err := Respond(ctx, run, c, Options{Send: true, Timesteps: All}); err != nil {
			t.Fatal(err)
		}
		evs, err := ReadEvents(run)
		if err != nil {
			t.Fatal(err)
		}
		recs, err := ReadLog(run)
		if err != nil {
			t.Fatal(err)
		}
		out.states = map[string]string{} // by rule, event and which webhook (their ports differ between runs)
		for _, r := range recs {
			out.states[r.Rule+" "+r.Event+" "+map[bool]string{true: "down", false: "up"}[r.Target == hookDown.URL]] = r.State
		}
		out.evs, out.got, out.flaky = evs, sink.got(), down.got()
		return out
	}
	defer func(n int) { eventsFanIn = n }(eventsFanIn)
	eventsFanIn = 2 // merges within the 8 timesteps
	all := deliver(false, false)
	if len(all.evs) == 0 || len(all.got) == 0 || len(all.flaky) == 0 {
		t.Fatalf("%d events, %d + %d deliveries: nothing to compare", len(all.evs), len(all.got), len(all.flaky))
	}
	n := map[string]int{}
	for _, st := range all.states {
		n[st]++
	}
	if n[StateDuplicate] == 0 || n[StateSuppressed] == 0 || n[StateQuiet] == 0 {
		t.Fatalf("log states %v: the rules must suppress, de-duplicate and quieten some", n)
	}
	defer func(n int) { streamReopen = n }(streamReopen)
	streamReopen = 3
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream %v", stream), func(t *testing.T) {
			step := deliver(true, stream)
			sameEvents(t, all.evs, step.evs, all.got, step.got)
			if !slices.Equal(all.flaky, step.flaky) {
				t.Errorf("the webhook down for 3 calls got %v\nwant %v", step.flaky, all.flaky)
			}
			for k, st := range all.states {
				if step.states[k] != st {
					t.Errorf("delivery %q: last state %q per timestep, %q in one call", k, step.states[k], st)
				}
			}
			if len(step.states) != len(all.states) {
				t.Errorf("%d deliveries logged per timestep, %d in one call", len(step.states), len(all.states))
			}
		})
	}
}

// checkEventParts checks the files of a run whose events a Stream wrote
// commit by commit: events.parquet from its first call, then parts
// merged in levels (st.parts, as on disk); DuckDB's events view reads
// them all; a whole write (gotrap respond) folds them into events.parquet.
func checkEventParts(t *testing.T, run string, st *Stream) {
	t.Helper()
	seqs, err := eventParts(run)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for _, p := range st.parts {
		want = append(want, p.Seq)
	}
	if len(seqs) == 0 || !slices.Equal(seqs, want) {
		t.Errorf("events parts on disk %v, the stream's %v: want the same, and some", seqs, st.parts)
	}
	merged := false
	for _, p := range st.parts {
		merged = merged || p.Level > 0
	}
	if !merged {
		t.Errorf("no events part merged at fan-in %d: %v", eventsFanIn, st.parts)
	}
	evs, err := ReadEvents(run)
	if err != nil {
		t.Fatal(err)
	}
	db, err := duck.Open(context.Background(), run, duck.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := db.SQL().QueryRow("SELECT count(*) FROM events").Scan(&n); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if n != len(evs) {
		t.Errorf("DuckDB's events view holds %d events, the files %d", n, len(evs))
	}
	all, err := WriteEvents(run, nil, Range{From: 1 << 40, To: -1})
	if err != nil {
		t.Fatal(err)
	}
	if seqs, err := eventParts(run); err != nil || len(seqs) > 0 {
		t.Errorf("after a whole write: parts %v (%v), want none", seqs, err)
	}
	if _, err := os.Stat(rundir.TableDir(run, rundir.EventsTable)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("after a whole write: the parts' folder: %v, want it gone", err)
	}
	if !reflect.DeepEqual(all, evs) {
		t.Errorf("the whole write holds %d events, the parts and events.parquet %d", len(all), len(evs))
	}
}

// sameEvents compares the events and deliveries of one call (all) with
// those made timestep by timestep (step).
func sameEvents(t *testing.T, evAll, evStep []Event, gotAll, gotStep []string) {
	t.Helper()
	if !reflect.DeepEqual(evAll, evStep) {
		t.Errorf("events.parquet per timestep (%d rows) differs from one call (%d rows)", len(evStep), len(evAll))
		for i := range min(len(evAll), len(evStep)) {
			if !reflect.DeepEqual(evAll[i], evStep[i]) {
				t.Errorf("first difference at row %d:\n one call %+v\nper step %+v", i, evAll[i], evStep[i])
				break
			}
		}
	}
	if !slices.Equal(gotAll, gotStep) {
		t.Errorf("deliveries per timestep %v\ndiffer from one call %v", gotStep, gotAll)
	}
}

// TestWhenReadsNoFiles: a rule's condition runs read-only: it cannot read
// a file outside events.parquet.
func TestWhenReadsNoFiles(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.csv")
	if err := os.WriteFile(secret, []byte("a\n1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := config.Rule{Name: "nosy", When: "(SELECT count(*) FROM read_csv('" + secret + "')) > 0", Actions: []string{"exec"}, Exec: []string{"true"}}
	if err := CheckRules(context.Background(), []config.Rule{r}); err == nil {
		t.Error("a condition read a file outside the events")
	}
	r.When = "type = 'rise' AND significance > 5"
	if err := CheckRules(context.Background(), []config.Rule{r}); err != nil {
		t.Errorf("plain condition: %v", err)
	}
}

// TestEventsRanksMonitorKnownSpectral: the events do not depend on the
// number of ranks; a monitored position gives monitor events, a known
// source its known event and the known column on all its events, and a
// loose spectral cut flat and steep events whose alpha lies beyond it.
func TestEventsRanksMonitorKnownSpectral(t *testing.T) {
	ctx := context.Background()
	// The brightest steady source of the truth table is monitored, the
	// second brightest is known.
	type src struct{ ra, dec, flux float64 }
	var steady []src
	for _, r := range testutil.ReadCSV(t, filepath.Join(tiny(t), "truth", "sources.csv")) {
		if r["class"] != "steady" || r["beams"] == "" { // steady and in the field
			continue
		}
		var s src
		fmt.Sscan(r["ra"], &s.ra)
		fmt.Sscan(r["dec"], &s.dec)
		fmt.Sscan(r["flux_jy"], &s.flux)
		steady = append(steady, s)
	}
	slices.SortFunc(steady, func(a, b src) int { return cmpFloat(b.flux, a.flux) })
	mon, known := steady[0], steady[1]
	knownFile := filepath.Join(t.TempDir(), "known.csv")
	// 0.01 deg: a third of the smallest simulated beam FWHM (131")
	// holds the fitted positions (errors of a few arcsec at this flux).
	if err := os.WriteFile(knownFile, []byte(fmt.Sprintf("ra,dec,radius\n%.8f,%.8f,0.01\n", known.ra, known.dec)), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Monitor.Positions = [][2]float64{{mon.ra, mon.dec}}
	cfg.Events.KnownFile = knownFile
	cfg.Events.SpectralFlat, cfg.Events.SpectralSteep, cfg.Events.SpectralSigma = -0.7, -0.71, 0.01
	one := runTinyRanks(t, -1, cfg, 1)
	two := runTinyRanks(t, -1, cfg, 2)
	evs1, err := Events(ctx, one, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	evs2, err := Events(ctx, two, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(evs1, evs2) {
		t.Errorf("1 rank: %d events, 2 ranks: %d, not the same", len(evs1), len(evs2))
	}
	n := map[string]int{}
	for _, e := range evs1 {
		n[e.Type]++
		switch e.Type {
		case TypeMonitor:
			if !e.Monitored || e.Significance < cfg.Events.MonitorSigma {
				t.Errorf("monitor event %s: monitored %v, %.1f sigma", e.ID, e.Monitored, e.Significance)
			}
		case TypeKnown:
			if e.Known != 1 {
				t.Errorf("known event %s: known = %d", e.ID, e.Known)
			}
		case TypeSpectralFlat:
			if !(e.Value > cfg.Events.SpectralFlat) {
				t.Errorf("flat event with alpha %v", e.Value)
			}
		case TypeSpectralSteep:
			if !(e.Value < cfg.Events.SpectralSteep) {
				t.Errorf("steep event with alpha %v", e.Value)
			}
		}
		near := sphereSepDeg(e.RA, e.Decl, known.ra, known.dec) <= 0.01
		if near != (e.Known == 1) {
			t.Errorf("%s at %.3f deg from the known source has known = %d", e.ID, sphereSepDeg(e.RA, e.Decl, known.ra, known.dec), e.Known)
		}
	}
	for _, typ := range []string{TypeMonitor, TypeKnown, TypeSpectralFlat, TypeSpectralSteep} {
		if n[typ] == 0 {
			t.Errorf("no %s event (types %v)", typ, n)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func sphereSepDeg(ra1, dec1, ra2, dec2 float64) float64 { return sphere.Sep(ra1, dec1, ra2, dec2) }

// TestSpectralIndex: the weighted fit recovers an exact power law, and
// its error follows the flux errors (two points: sqrt(sum of the
// relative variances) / ln(nu2/nu1)).
func TestSpectralIndex(t *testing.T) {
	g := []point{{f: 2 * math.Pow(120e6/150e6, -0.7), ferr: 0.1, freq: 120e6}, {f: 2 * math.Pow(160e6/150e6, -0.7), ferr: 0.05, freq: 160e6}}
	a, e := spectralIndex(g)
	want := math.Sqrt(math.Pow(0.1/g[0].f, 2)+math.Pow(0.05/g[1].f, 2)) / math.Log(160.0/120)
	// 1e-9: the normal equations of the fit lose digits to cancellation
	// (ln nu ~ 19 for a spread of 0.3): ~1e-12 observed.
	if math.Abs(a+0.7) > 1e-9 || math.Abs(e-want) > 1e-9*want {
		t.Errorf("alpha %v +- %v, want -0.7 +- %v", a, e, want)
	}
}

// TestEmailAuth: the email action authenticates after STARTTLS with the
// password from the environment variable smtp_password_env; a wrong
// password is a failed delivery with the server's answer.
func TestEmailAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an SMTP server")
	}
	smtpd := respondtest.NewAuthSMTP(t, "trap", "s3cret")
	smtpd.Start(t)
	cfg := config.Default()
	cfg.Responses.SMTPHost, cfg.Responses.SMTPPort = "127.0.0.1", smtpd.Port
	cfg.Responses.SMTPTLS, cfg.Responses.SMTPCAFile = "required", smtpd.CAFile
	cfg.Responses.SMTPUser, cfg.Responses.SMTPPasswordEnv = "trap", "TEST_SMTP_PASSWORD"
	cfg.Responses.Retries = 0
	rule := config.Rule{Name: "mail", When: "type = 'new_source'", Actions: []string{"email"}, EmailTo: []string{"a@example.org"},
		Role: "test", RatePeriod: "1h", DedupWindow: "0s"}
	cfg.Response = []config.Rule{rule}
	run := finishedRun(t, sim.PresetTiny)
	ctx := context.Background()
	wrong := func(k string) string { return map[string]string{"TEST_SMTP_PASSWORD": "nope"}[k] }
	res, err := Respond(ctx, run, cfg, Options{Send: true, Timesteps: All, Getenv: wrong})
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 0 || res.Failed != 1 || len(smtpd.Messages(t)) != 0 {
		t.Errorf("wrong password: sent %d failed %d, %d messages", res.Sent, res.Failed, len(smtpd.Messages(t)))
	}
	// The failure is the server's answer (535, RFC 4954), not a timeout.
	recs, err := ReadLog(run)
	if err != nil {
		t.Fatal(err)
	}
	var failed []string
	for _, r := range recs {
		if r.State == StateFailed {
			failed = append(failed, r.Error)
		}
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "authentication") || !strings.Contains(failed[0], "535") {
		t.Errorf("wrong password: failed attempts logged %q, want one with the server's 535", failed)
	}
	right := func(k string) string { return map[string]string{"TEST_SMTP_PASSWORD": "s3cret"}[k] }
	res, err = Respond(ctx, run, cfg, Options{Send: true, Timesteps: All, Getenv: right})
	if err != nil {
		t.Fatal(err)
	}
	want := len(expectedType(t, run, cfg, TypeNewSource))
	if res.Sent != want || len(smtpd.Messages(t)) != want {
		t.Errorf("right password: sent %d, %d messages, want %d", res.Sent, len(smtpd.Messages(t)), want)
	}
	if m := smtpd.Messages(t); len(m) > 0 {
		body, _ := io.ReadAll(m[0].Body)
		if !strings.Contains(string(body), "new_source") || !strings.Contains(m[0].Header.Get("Subject"), "[gotrap] mail: new_source") {
			t.Errorf("message: %s\n%s", m[0].Header.Get("Subject"), body)
		}
	}
}

// expectedType lists the ids of the events of one type.
func expectedType(t *testing.T, run string, cfg config.Config, typ string) []string {
	t.Helper()
	evs, err := Events(context.Background(), run, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range evs {
		if e.Type == typ {
			ids = append(ids, e.ID)
		}
	}
	return ids
}

// TestStreamCopiedHistory: a window that creates sources by a fork reads
// their copied histories (a read of its own, over older measurement ids)
// and gives the events of the whole run's computation (the data of
// pipetest.SimulateFork, whose runcat forks in timestep 2).
func TestStreamCopiedHistory(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates its own data")
	}
	ctx := context.Background()
	data := pipetest.SimulateFork(t, 5)
	cfg := config.Default()
	cfg.Extraction.EwSysErr, cfg.Extraction.NsSysErr = 40, 40
	run := filepath.Join(t.TempDir(), "run")
	runData(t, data, run, -1, cfg, 1)

	// The run must have a copied history, or the test tests nothing.
	db, err := duck.Open(ctx, run, duck.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var copied int
	err = db.SQL().QueryRowContext(ctx, `SELECT count(*) FROM associations WHERE (xtrsrc >> 24) < (runcat >> 24)`).Scan(&copied)
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	if copied == 0 {
		t.Fatal("no association copies an older history: the fork did not happen")
	}

	want, err := Events(ctx, run, cfg, All)
	if err != nil {
		t.Fatal(err)
	}
	st, err := NewStream(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var got []Event
	for ts := int64(0); ts < 5; ts++ {
		evs, err := st.Events(ctx, run, Range{ts, ts})
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, evs...)
	}
	if st.Full != 1 {
		t.Errorf("the stream computed from the first timestep %d times, want once (its first call)", st.Full)
	}
	if st.Histories == 0 {
		t.Error("no window read a copied history")
	}
	if len(want) == 0 {
		t.Fatal("no events in the run")
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("per-timestep events differ from the run's: %d against %d", len(got), len(want))
		for i := range min(len(got), len(want)) {
			if !reflect.DeepEqual(got[i], want[i]) {
				t.Errorf("first difference at %d:\n got %+v\nwant %+v", i, got[i], want[i])
				break
			}
		}
	}
}
