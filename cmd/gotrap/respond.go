//go:build !front

package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gotrap/internal/config"
	"gotrap/internal/respond"
	"gotrap/internal/rundir"
	"gotrap/slurm"
)

type respondFlags struct {
	send, resendUnknown bool
	timesteps, config   string
}

var respondFl respondFlags

func init() {
	register(&command{
		name:  "respond",
		usage: "[--send] [--timesteps FROM-TO] [--config FILE] RUN",
		short: "detect a run's events and deliver them by its response rules (VOEvent, email, webhook, exec)",
		long: `Respond computes the events of a run (new sources, flux rises and drops,
all-time highs and lows, variability crossings, monitored and known sources,
spectral indices, single-timestep detections; each from the data up to its own
timestep) and matches them against the [[response]] rules of the run's
configuration (RUN/gotrap.toml, or --config FILE).

Without --send it is a dry run: it writes nothing and lists what it would
deliver, and what the delivery log already shows delivered. With --send it
writes RUN/events.parquet and delivers each match once per target (VOEvent to
brokers over VTP, email over SMTP, webhook POST, exec), journalling every
attempt in RUN/responses/deliveries.jsonl. Deliveries that fail are retried
with back-off and at the next call; an attempt found started but never
finished (a killed process) is not repeated unless --resend-unknown. "gotrap
run" does the same with --send after its catalogue stage. See
docs/responses.md.`,
		setFlags: func(fs *flag.FlagSet) {
			respondFl = respondFlags{}
			fs.BoolVar(&respondFl.send, "send", false, "write events.parquet and deliver (default: dry run)")
			fs.BoolVar(&respondFl.resendUnknown, "resend-unknown", false, "also resend deliveries whose attempt has no recorded outcome")
			fs.StringVar(&respondFl.timesteps, "timesteps", "all", "timesteps whose events are computed: all, T, FROM-TO or FROM-")
			fs.StringVar(&respondFl.config, "config", "", "configuration with the rules (default RUN/gotrap.toml)")
		},
		run: runRespond,
	})
}

// parseRange parses "all", "T", "FROM-TO" or "FROM-".
func parseRange(s string) (respond.Range, error) {
	if s == "" || s == "all" {
		return respond.All, nil
	}
	from, to, dash := strings.Cut(s, "-")
	a, err := strconv.ParseInt(from, 10, 64)
	if err != nil || a < 0 {
		return respond.Range{}, fmt.Errorf("--timesteps %q: want all, T, FROM-TO or FROM-", s)
	}
	if !dash {
		return respond.Range{From: a, To: a}, nil
	}
	if to == "" {
		return respond.Range{From: a, To: -1}, nil
	}
	b, err := strconv.ParseInt(to, 10, 64)
	if err != nil || b < a {
		return respond.Range{}, fmt.Errorf("--timesteps %q: want all, T, FROM-TO or FROM- with FROM <= TO", s)
	}
	return respond.Range{From: a, To: b}, nil
}

func runRespond(env *cmdEnv, args []string) error {
	f := respondFl
	if len(args) != 1 {
		return usageError("want one run directory, got %d arguments", len(args))
	}
	r, err := parseRange(f.timesteps)
	if err != nil {
		return usageError("%v", err)
	}
	run := args[0]
	if err := checkRun(run); err != nil {
		return err
	}
	cfg, err := config.RunConfig(run)
	if f.config != "" {
		cfg, err = config.Load(f.config)
	}
	if err != nil {
		return err
	}
	ctx, stop := slurm.NotifyContext(context.Background())
	defer stop()
	if f.send {
		lk, err := lockRun(env, run, "gotrap respond --send")
		if err != nil {
			return err
		}
		defer lk.Unlock()
	}
	res, err := respond.Respond(ctx, run, cfg, respond.Options{Send: f.send, Timesteps: r, ResendUnknown: f.resendUnknown, Out: env.stdout})
	if err != nil && ctx.Err() != nil {
		return &exitError{code: signalExit(ctx), err: err}
	}
	if err != nil {
		return err
	}
	printRespond(env.stdout, res, f.send, len(cfg.Response))
	return nil
}

func printRespond(w io.Writer, res *respond.Result, send bool, rules int) {
	fmt.Fprintf(w, "responses: %d events, %d rules, %d matches", res.Events, rules, res.Matches)
	if send {
		fmt.Fprintf(w, "; delivered %d, failed %d (pending %d more), already done %d, not delivered by rule %d, unknown %d\n",
			res.Sent, res.Failed, res.Pending, res.Skipped, res.NotDelivered, len(res.Unknown))
	} else {
		fmt.Fprintf(w, "; dry run: nothing written or sent (--send delivers)\n")
	}
}

// respondAfterRun is the response hook of "gotrap run": the events of the
// run's timesteps and their deliveries. A failure is reported, never the
// run's failure: the catalogue is complete.
func respondAfterRun(ctx context.Context, env *cmdEnv, run string, quiet bool) {
	cfg, err := config.RunConfig(run)
	if err == nil {
		var res *respond.Result
		var out io.Writer
		if !quiet {
			out = env.stderr
		}
		res, err = respond.Respond(ctx, run, cfg, respond.Options{Send: true, Timesteps: respond.All, Out: out})
		if err == nil {
			switch {
			case len(cfg.Response) > 0:
				printRespond(env.stderr, res, true, len(cfg.Response))
			case !quiet:
				fmt.Fprintf(env.stderr, "responses: %d events in %s; no [[response]] rules\n", res.Events, rundir.EventsPath(run))
			}
			return
		}
	}
	fmt.Fprintf(env.stderr, "gotrap run: warning: responses: %v (the catalogue is complete; gotrap respond --send %s retries)\n", err, run)
}
