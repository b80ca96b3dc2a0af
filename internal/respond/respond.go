package respond

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"gotrap/catalog/duck"
	"gotrap/internal/config"
	"gotrap/internal/rundir"
)

// Options of Respond.
type Options struct {
	// Send delivers; without it Respond is a dry run: it computes the
	// events and matches, writes nothing and sends nothing, and says what
	// it would do.
	Send bool
	// Timesteps are the timesteps whose events are computed and written
	// (All for a finished run; one timestep per commit). Deliveries still
	// pending from earlier timesteps (failed, or not reached) go out too,
	// first.
	Timesteps Range
	// Stored skips the event computation: the rules run over the events
	// already in RUN/events.parquet ("gotrap listen" adds an alert
	// event, then responds to it).
	Stored bool
	// Stream, when not nil, computes the events (a live run's, commit by
	// commit: Stream) instead of Events.
	Stream *Stream
	// ResendUnknown sends again the deliveries whose attempt started but
	// never recorded an outcome (StateUnknown).
	ResendUnknown bool
	// Out receives one line per delivery decision (nil: none).
	Out io.Writer
	// Now is the clock (nil: time.Now); Getenv reads the SMTP password
	// (nil: os.Getenv); Sleep waits between retries (nil: a timer that
	// ends early when ctx does).
	Now    func() time.Time
	Getenv func(string) string
	Sleep  func(context.Context, time.Duration)
}

// Result counts what Respond did.
type Result struct {
	Events  int // events of the requested timesteps
	Matches int // (rule, event) pairs matched, all timesteps so far (a Stream's later calls: their own timesteps')
	// Deliveries by outcome in this call: sent, failed (after retries),
	// skipped (already delivered, or unknown), not delivered (quiet,
	// duplicate, suppressed), still pending (a target that failed).
	Sent, Failed, Skipped, NotDelivered, Pending int
	// Unknown are the attempts found started but never finished.
	Unknown []Record
	// Planned lists the dry run's deliveries (Send false).
	Planned []Record
}

// delivery is one (rule, event, action, target) to deliver.
type delivery struct {
	rule   int
	ev     Event
	action string
	target string
	state  string // "" to deliver, or StateQuiet/Duplicate/Suppressed
}

func (d delivery) record(rules []config.Rule) Record {
	return Record{Rule: rules[d.rule].Name, Event: d.ev.ID, Timestep: d.ev.Timestep, Action: d.action, Target: d.target}
}

// Respond computes the events of opt.Timesteps of the run directory run,
// writes them to RUN/events.parquet (Send only), matches them against
// cfg's rules and delivers the matches (Send only), logging each attempt
// in RUN/responses/deliveries.jsonl. The caller holds the run's lock when
// Send is set. Failed deliveries never make Respond fail: they are logged,
// retried ([responses] retries, retry_backoff) and left pending for the
// next call; Respond returns an error only when the catalogue, the events
// file, a rule's condition or the log cannot be read or written.
func Respond(ctx context.Context, run string, cfg config.Config, opt Options) (*Result, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Getenv == nil {
		opt.Getenv = os.Getenv
	}
	if opt.Sleep == nil {
		opt.Sleep = func(ctx context.Context, d time.Duration) {
			t := time.NewTimer(d)
			defer t.Stop()
			select {
			case <-ctx.Done():
			case <-t.C:
			}
		}
	}
	var evs []Event
	var err error
	if opt.Stored {
		evs, err = ReadEvents(run)
	} else if opt.Stream != nil {
		evs, err = opt.Stream.Events(ctx, run, opt.Timesteps)
	} else {
		evs, err = Events(ctx, run, cfg, opt.Timesteps)
	}
	if err != nil {
		return nil, err
	}
	res := &Result{Events: len(evs)}
	evDir := run
	if opt.Stored {
		// The events are in the run already.
	} else if opt.Send && opt.Stream != nil {
		return opt.Stream.respond(ctx, run, cfg, evs, opt, res)
	} else if opt.Send {
		if _, err := WriteEvents(run, evs, opt.Timesteps); err != nil {
			return nil, err
		}
	} else {
		// A dry run writes nothing in the run: the rules read the
		// events merged with those already written, from a temporary
		// folder.
		tmp, err := os.MkdirTemp("", "gotrap-respond-")
		if err != nil {
			return nil, fmt.Errorf("respond: %w", err)
		}
		defer os.RemoveAll(tmp)
		old, err := ReadEvents(run)
		if err != nil {
			return nil, err
		}
		var all []Event
		for _, e := range old {
			if !opt.Timesteps.Has(e.Timestep) {
				all = append(all, e)
			}
		}
		if _, err := WriteEvents(tmp, append(all, evs...), All); err != nil {
			return nil, err
		}
		evDir = tmp
	}
	if len(cfg.Response) == 0 {
		return res, nil
	}
	matches, byID, err := match(ctx, evDir, cfg.Response, opt.Timesteps)
	if err != nil {
		return nil, err
	}
	dels := newPlanner(cfg.Response).plan(matches, byID)
	for _, m := range matches {
		res.Matches += len(m)
	}
	if !opt.Send {
		var recs []Record
		if r, err := ReadLog(run); err == nil {
			recs = r
		}
		last := map[string]Record{}
		for _, r := range recs {
			last[r.Key()] = r
		}
		for _, d := range dels {
			r := d.record(cfg.Response)
			r.State = d.state
			if prev, ok := last[r.Key()]; ok && (prev.State == StateOK || prev.State == StateUnknown || prev.State == StateQuiet || prev.State == StateStart) {
				r.State = prev.State
				r.Error = "already logged"
			} else if r.State == "" {
				r.State = "would send"
			}
			res.Planned = append(res.Planned, r)
			if opt.Out != nil {
				fmt.Fprintf(opt.Out, "dry run: %s %s (timestep %d) %s -> %s: %s\n", r.Rule, r.Event, r.Timestep, r.Action, r.Target, r.State)
			}
		}
		return res, nil
	}
	log, unknown, err := OpenLog(run, opt.Now())
	if err != nil {
		return nil, err
	}
	defer log.Close()
	res.Unknown = unknown
	return deliverAll(ctx, log, cfg, dels, opt, res)
}

// match evaluates each rule's when condition in DuckDB over the events
// of dir (eventFiles) up to the last timestep of r: the matching ids per
// rule, in event order, and the events by id.
func match(ctx context.Context, dir string, rules []config.Rule, r Range) ([][]string, map[string]Event, error) {
	files, err := eventFiles(dir)
	if err != nil {
		return nil, nil, err
	}
	out, err := matchFiles(ctx, files, rules, r)
	if err != nil || len(files) == 0 {
		return out, nil, err
	}
	evs, err := ReadEvents(dir)
	if err != nil {
		return nil, nil, err
	}
	return out, eventsByID(evs), nil
}

// eventsByID indexes evs by id.
func eventsByID(evs []Event) map[string]Event {
	byID := make(map[string]Event, len(evs))
	for _, e := range evs {
		byID[e.ID] = e
	}
	return byID
}

// matchFiles evaluates each rule's when condition in DuckDB over the
// events of files up to the last timestep of r: the matching ids per
// rule, in event order.
func matchFiles(ctx context.Context, files []string, rules []config.Rule, r Range) ([][]string, error) {
	if len(files) == 0 {
		return make([][]string, len(rules)), nil
	}
	abs := make([]string, len(files))
	for i, p := range files {
		a, err := filepath.Abs(p)
		if err != nil {
			return nil, fmt.Errorf("respond: %w", err)
		}
		abs[i] = a
	}
	db, err := openRulesDB(ctx, abs)
	if err != nil {
		return nil, err
	}
	out, err := db.match(ctx, abs, rules, r)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return out, err
}

// rulesDB is the DuckDB the rules' when conditions run in: read-only,
// over an empty folder (a condition reads no file but the events' it is
// given, and no extension is loaded). A Stream keeps one open over the
// run's events folder from commit to commit; opening one costs about
// 25-60 ms.
type rulesDB struct {
	db    *duck.DB
	empty string
	// readable are the files and folders the conditions may read
	// (absolute); uses counts the match calls.
	readable []string
	uses     int
}

// openRulesDB opens a rulesDB whose conditions may read the files and
// folders of readable (absolute paths).
func openRulesDB(ctx context.Context, readable []string) (*rulesDB, error) {
	empty, err := os.MkdirTemp("", "gotrap-rules-")
	if err != nil {
		return nil, fmt.Errorf("respond: %w", err)
	}
	db, err := duck.Open(ctx, empty, duck.Options{Threads: 1, ReadOnly: true, Readable: readable, NoFileCache: true})
	if err != nil {
		os.RemoveAll(empty)
		return nil, fmt.Errorf("respond: %w", err)
	}
	return &rulesDB{db: db, empty: empty, readable: readable}, nil
}

// Close closes the DuckDB and removes its empty folder.
func (d *rulesDB) Close() error {
	err := d.db.Close()
	if rerr := os.RemoveAll(d.empty); err == nil && rerr != nil {
		err = fmt.Errorf("respond: %w", rerr)
	}
	return err
}

// match evaluates each rule's condition over the events of files
// (absolute paths, readable by d) up to the last timestep of r: the
// matching ids per rule, in event order.
func (d *rulesDB) match(ctx context.Context, files []string, rules []config.Rule, r Range) ([][]string, error) {
	d.uses++
	out := make([][]string, len(rules))
	quoted := make([]string, len(files))
	for i, p := range files {
		quoted[i] = sqlString(p)
	}
	src := "read_parquet([" + strings.Join(quoted, ", ") + "], hive_partitioning = false)"
	hi := ""
	if r.To >= 0 {
		hi = fmt.Sprintf(" AND timestep <= %d", r.To)
	}
	for i, rule := range rules {
		q := fmt.Sprintf("SELECT id FROM %s WHERE (%s)%s ORDER BY timestep, time, id", src, rule.When, hi)
		rows, err := d.db.SQL().QueryContext(ctx, q)
		if err != nil {
			return nil, fmt.Errorf("respond: rule %q: when = %q: %w", rule.Name, rule.When, err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, fmt.Errorf("respond: rule %q: %w", rule.Name, err)
			}
			out[i] = append(out[i], id)
		}
		if err := closeRows(rows); err != nil {
			return nil, fmt.Errorf("respond: rule %q: when = %q: %w", rule.Name, rule.When, err)
		}
	}
	return out, nil
}

func sqlString(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// CheckRules evaluates every rule's when condition over an empty events
// table, so that a typo fails before a run starts rather than after.
func CheckRules(ctx context.Context, rules []config.Rule) error {
	if len(rules) == 0 {
		return nil
	}
	tmp, err := os.MkdirTemp("", "gotrap-rules-")
	if err != nil {
		return fmt.Errorf("respond: %w", err)
	}
	defer os.RemoveAll(tmp)
	if _, err := WriteEvents(tmp, nil, All); err != nil {
		return err
	}
	_, err = matchFiles(ctx, []string{rundir.EventsPath(tmp)}, rules, All)
	return err
}

// A planner turns matches into deliveries (plan), keeping per rule what
// its de-duplication window and rate limit need of the matches it
// planned before: a Stream plans each commit's matches with the planner
// of the earlier ones.
type planner struct {
	rules []config.Rule
	// lastBySrc is each source's last event that went out, per rule;
	// sent the times of the events that went out, per rule with a rate
	// limit.
	lastBySrc []map[int64]time.Time
	sent      [][]time.Time
}

func newPlanner(rules []config.Rule) *planner {
	p := &planner{rules: rules, lastBySrc: make([]map[int64]time.Time, len(rules)), sent: make([][]time.Time, len(rules))}
	for i := range rules {
		p.lastBySrc[i] = map[int64]time.Time{}
	}
	return p
}

// plan turns the matches into deliveries: per rule, in event order
// (timestep, time, id), quiet mode, the de-duplication window (one event
// per source within the window of event time) and the rate limit (at
// most rate_limit events per rate_period of event time) decide which
// events go out; each event then yields one delivery per action target.
// The decisions depend only on the events, so every call makes the same
// ones, and the matches of successive timesteps planned call by call get
// those of one call over them all. Deliveries are sorted by timestep,
// then rule order.
func (p *planner) plan(matches [][]string, byID map[string]Event) []delivery {
	var out []delivery
	for ri, rule := range p.rules {
		period, _ := time.ParseDuration(rule.RatePeriod)
		window, _ := time.ParseDuration(rule.DedupWindow)
		lastBySrc := p.lastBySrc[ri]
		for _, id := range matches[ri] {
			e := byID[id]
			state := ""
			switch {
			case rule.Quiet:
				state = StateQuiet
			case window > 0 && e.Runcat != 0 && hasRecent(lastBySrc, e.Runcat, e.Time, window):
				state = StateDuplicate
			case rule.RateLimit > 0 && countSince(p.sent[ri], e.Time, period) >= rule.RateLimit:
				state = StateSuppressed
			}
			if state == "" {
				if window > 0 && e.Runcat != 0 {
					lastBySrc[e.Runcat] = e.Time
				}
				if rule.RateLimit > 0 {
					p.sent[ri] = append(p.sent[ri], e.Time)
				}
			}
			for _, a := range rule.Actions {
				for _, t := range targets(rule, a) {
					out = append(out, delivery{rule: ri, ev: e, action: a, target: t, state: state})
				}
			}
		}
	}
	sortDeliveries(out)
	return out
}

// sortDeliveries sorts deliveries by timestep, time, rule order and id.
func sortDeliveries(out []delivery) {
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].ev, out[j].ev
		if a.Timestep != b.Timestep {
			return a.Timestep < b.Timestep
		}
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		if out[i].rule != out[j].rule {
			return out[i].rule < out[j].rule
		}
		return a.ID < b.ID
	})
}

func hasRecent(last map[int64]time.Time, rc int64, t time.Time, window time.Duration) bool {
	l, ok := last[rc]
	return ok && t.Sub(l) < window
}

func countSince(ts []time.Time, t time.Time, period time.Duration) int {
	n := 0
	for _, s := range ts {
		if t.Sub(s) < period {
			n++
		}
	}
	return n
}

// targets are the places action a of rule delivers to.
func targets(rule config.Rule, a string) []string {
	switch a {
	case config.ActionVOEvent:
		return rule.Brokers
	case config.ActionEmail:
		return rule.EmailTo
	case config.ActionWebhook:
		return rule.Webhooks
	case config.ActionExec:
		return []string{strings.Join(rule.Exec, " ")}
	}
	return nil
}

// deliverAll delivers the planned deliveries that the log does not show
// done, in order. A target that still fails after the retries is left
// alone for the rest of the call (its later deliveries stay pending, so
// that each target receives its events in timestep order).
func deliverAll(ctx context.Context, log *Log, cfg config.Config, dels []delivery, opt Options, res *Result) (*Result, error) {
	say := func(r Record, what string) {
		if opt.Out != nil {
			fmt.Fprintf(opt.Out, "respond: %s %s (timestep %d) %s -> %s: %s\n", r.Rule, r.Event, r.Timestep, r.Action, r.Target, what)
		}
	}
	for _, u := range res.Unknown {
		say(u, "unknown: "+u.Error)
	}
	timeout, _ := time.ParseDuration(cfg.Responses.Timeout)
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	backoff, _ := time.ParseDuration(cfg.Responses.RetryBackoff)
	s := &sender{rs: cfg.Responses, timeout: timeout, now: opt.Now, getenv: opt.Getenv}
	down := map[string]error{} // action+target -> the error that gave up on it
	for _, d := range dels {
		if ctx.Err() != nil {
			return res, ctx.Err()
		}
		rec := d.record(cfg.Response)
		k := rec.Key()
		prev, seen := log.Last(k)
		switch {
		case seen && (prev.State == StateOK || prev.State == StateQuiet || prev.State == StateDuplicate || prev.State == StateSuppressed):
			res.Skipped++
			continue
		case seen && prev.State == StateUnknown && !opt.ResendUnknown:
			res.Skipped++
			continue
		}
		if d.state != "" {
			rec.State, rec.Time = d.state, opt.Now().UTC()
			if err := log.Append(rec); err != nil {
				return res, err
			}
			res.NotDelivered++
			say(rec, d.state)
			continue
		}
		tk := d.action + "\x00" + d.target
		if down[tk] != nil {
			res.Pending++
			continue
		}
		var lastErr error
		for try := 0; try <= cfg.Responses.Retries; try++ {
			if try > 0 {
				opt.Sleep(ctx, backoff<<(try-1))
			}
			rec.State, rec.Time, rec.Error = StateStart, opt.Now().UTC(), ""
			rec.Attempt = log.Attempts(k) + 1
			if err := log.Append(rec); err != nil {
				return res, err
			}
			lastErr = s.deliver(ctx, cfg.Response[d.rule], d.ev, d.action, d.target)
			rec.Time = opt.Now().UTC()
			if lastErr == nil {
				rec.State = StateOK
			} else {
				rec.State, rec.Error = StateFailed, lastErr.Error()
			}
			if err := log.Append(rec); err != nil {
				return res, err
			}
			if lastErr == nil || ctx.Err() != nil {
				break
			}
		}
		if lastErr != nil {
			res.Failed++
			down[tk] = lastErr
			say(rec, "failed, will retry at the next call: "+lastErr.Error())
			continue
		}
		res.Sent++
		say(rec, "sent")
	}
	return res, nil
}
