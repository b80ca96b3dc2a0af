//go:build !front

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"gotrap/catalog"
	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/respond"
	"gotrap/internal/rundir"
	"gotrap/internal/vtp"
	"gotrap/slurm"
)

type listenFlags struct {
	run, broker, listen, ivo string
	send                     bool
	detectSigma              float64
	workers                  int
}

var listenFl listenFlags

func init() {
	register(&command{
		name:  "listen",
		usage: "--run RUN [--send] [--broker HOST:PORT | --listen ADDR | FILE|DIR...]",
		short: "follow up external VOEvent alerts: forced light curve at the alert position in a run's images",
		long: `Listen takes external VOEvent 2.0 alerts (a Swift, Fermi or SVOM position
notice, ...) from files or folders of .xml packets, from a VOEvent broker it
subscribes to (--broker, the VOEvent Transport Protocol), or from authors that
send to it (--listen ADDR: gotrap acts as a receiving broker and answers ack,
or nak for a packet it rejects). Malformed packets and packets of other VOEvent
versions are rejected with the reason.

For each alert with a sky position (retractions and packets without one are
reported and skipped), it force-fits a point source at the position in every
accepted image of RUN that holds it: the light curve at that position back in
time, detections (f_int / f_int_err >= --detect-sigma) and upper limits
(max(f_int, 0) + 3 f_int_err) elsewhere. The light curve goes to
RUN/alerts/NAME.parquet and the terminal; the alert becomes an event of type
"alert" in RUN/events.parquet, its position goes to RUN/alerts/monitor.txt
(the --monitor-file format, for the runs that continue this one), and the
[[response]] rules of RUN/gotrap.toml apply to it: all three with --send.
See docs/responses.md.`,
		setFlags: func(fs *flag.FlagSet) {
			listenFl = listenFlags{}
			fs.StringVar(&listenFl.run, "run", "", "run directory whose images are fitted (required)")
			fs.StringVar(&listenFl.broker, "broker", "", "subscribe to this broker's broadcast port (HOST:PORT or tcp:HOST:PORT)")
			fs.StringVar(&listenFl.listen, "listen", "", "receive packets from authors on this address (e.g. 127.0.0.1:8098)")
			fs.StringVar(&listenFl.ivo, "ivo", "ivo://gotrap.invalid/listener", "this listener's IVORN in VTP messages")
			fs.BoolVar(&listenFl.send, "send", false, "deliver the alert events by the run's rules (default: dry run)")
			fs.Float64Var(&listenFl.detectSigma, "detect-sigma", 5, "f_int / f_int_err of a detection")
			fs.IntVar(&listenFl.workers, "workers", 0, "images fitted at once (0: the CPUs Go may use)")
		},
		run: runListen,
	})
}

func runListen(env *cmdEnv, args []string) error {
	f := listenFl
	if f.run == "" {
		return usageError("--run RUN is required")
	}
	modes := 0
	for _, on := range []bool{f.broker != "", f.listen != "", len(args) > 0} {
		if on {
			modes++
		}
	}
	if modes != 1 {
		return usageError("give one source of alerts: --broker, --listen, or files and folders")
	}
	if err := checkRun(f.run); err != nil {
		return err
	}
	cfg, err := config.RunConfig(f.run)
	if err != nil {
		return err
	}
	ctx, stop := slurm.NotifyContext(context.Background())
	defer stop()
	l := &listener{env: env, f: f, cfg: cfg}
	switch {
	case f.broker != "":
		fmt.Fprintf(env.stderr, "gotrap listen: subscribed to %s (interrupt to stop)\n", f.broker)
		err = vtp.Subscribe(ctx, f.broker, f.ivo, func(p []byte) error { return l.packet(ctx, f.broker, p) })
	case f.listen != "":
		var ln net.Listener
		if ln, err = net.Listen("tcp", strings.TrimPrefix(f.listen, "tcp:")); err != nil {
			return err
		}
		fmt.Fprintf(env.stderr, "gotrap listen: receiving on %s (interrupt to stop)\n", ln.Addr())
		err = vtp.Serve(ctx, ln, f.ivo, func(p []byte) error { return l.packet(ctx, ln.Addr().String(), p) })
	default:
		var files []string
		if files, err = packetFiles(args); err != nil {
			return err
		}
		for _, file := range files {
			b, rerr := os.ReadFile(file)
			if rerr == nil {
				rerr = l.packet(ctx, file, b)
			}
			if rerr != nil && ctx.Err() != nil {
				return rerr
			}
		}
		if l.rejected > 0 {
			return &exitError{code: 1, err: fmt.Errorf("%d of %d packets rejected", l.rejected, len(files))}
		}
		return nil
	}
	if ctx.Err() != nil {
		return &exitError{code: signalExit(ctx), err: nil}
	}
	return err
}

// packetFiles expands folders to their .xml files (sorted).
func packetFiles(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		st, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !st.IsDir() {
			out = append(out, a)
			continue
		}
		m, err := filepath.Glob(filepath.Join(a, "*.xml"))
		if err != nil {
			return nil, err
		}
		sort.Strings(m)
		out = append(out, m...)
	}
	return out, nil
}

// listener handles packets one at a time.
type listener struct {
	mu       sync.Mutex
	env      *cmdEnv
	f        listenFlags
	cfg      config.Config
	rejected int
}

// packet handles one packet; its error (a rejection) becomes a nak for
// --listen.
func (l *listener) packet(ctx context.Context, from string, p []byte) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	w := l.env.stdout
	a, err := respond.ParseAlert(from, p)
	if err != nil {
		l.rejected++
		fmt.Fprintf(l.env.stderr, "gotrap listen: rejected: %v\n", err)
		return err
	}
	switch {
	case a.Retraction():
		fmt.Fprintf(w, "%s: retraction of %s: nothing to fit\n", a.IVORN, a.Citations[0].IVORN)
		return nil
	case !a.HasPosition:
		fmt.Fprintf(w, "%s: no sky position: nothing to fit\n", a.IVORN)
		return nil
	}
	if err := l.followUp(ctx, a, p); err != nil {
		fmt.Fprintf(l.env.stderr, "gotrap listen: %s: %v\n", a.IVORN, err)
		return err
	}
	return nil
}

// followUp fits the alert's position in the run, writes its light curve
// and event, and responds to it. A live run (a gotrap watch holds it)
// gets the packet p in RUN/alerts/inbox/ instead: the watch follows it up
// between two timesteps (watchFeed.inbox).
func (l *listener) followUp(ctx context.Context, a *respond.Alert, p []byte) error {
	run := l.f.run
	if l.f.send && rundir.IsLive(run) {
		if lk, err := rundir.Acquire(run, "gotrap listen"); errors.Is(err, rundir.ErrLocked) {
			path := rundir.AlertInboxPath(run, a.Name())
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := rundir.WriteFile(path, p); err != nil {
				return err
			}
			fmt.Fprintf(l.env.stdout, "%s: the run is live (%v): queued for it in %s\n", a.IVORN, err, path)
			return nil
		} else if err == nil {
			lk.Unlock()
		}
	}
	lk, err := lockRun(l.env, run, "gotrap listen")
	if err != nil {
		return err
	}
	defer lk.Unlock()
	return followUpAlert(ctx, l.env, run, l.cfg, a, l.f.send, l.f.detectSigma, l.f.workers)
}

// followUpAlert fits alert a's position in every image of run that holds
// it, writes the light curve (RUN/alerts/NAME.parquet) and, with send,
// the alert event and the monitor position (RUN/alerts/monitor.txt, which
// a live run fits from its next timestep on), and runs the rules. The
// caller holds the run (its lock, or is its gotrap watch).
func followUpAlert(ctx context.Context, env *cmdEnv, run string, cfg config.Config, a *respond.Alert, send bool, detectSigma float64, workers int) error {
	pts, err := pipeline.FitAlert(ctx, run, cfg, a.RA, a.Dec, pipeline.AlertFitOptions{DetectSigma: detectSigma, Workers: workers})
	if err != nil {
		return err
	}
	path := filepath.Join(rundir.AlertsDir(run), a.Name()+".parquet")
	if err := catalog.WriteFile(path, pts); err != nil {
		return err
	}
	printAlertCurve(env.stdout, a, pts, path)
	lc := make([]respond.AlertFlux, len(pts))
	for i, p := range pts {
		lc[i] = respond.AlertFlux{Image: p.Image, Band: p.Band, Timestep: p.Timestep, Time: p.Time, FreqHz: p.FreqHz,
			FInt: p.FInt, FIntErr: p.FIntErr, Detected: p.Detected}
	}
	ev := respond.AlertEvent(a, lc)
	if send {
		if err := respond.AddEvent(run, ev); err != nil {
			return err
		}
		if err := addAlertMonitor(run, a); err != nil {
			return err
		}
	}
	if len(cfg.Response) == 0 || !send {
		fmt.Fprintf(env.stdout, "event %s (%s)\n", ev.ID, map[bool]string{true: "in events.parquet", false: "dry run: --send writes and delivers it"}[send])
		return nil
	}
	res, err := respond.Respond(ctx, run, cfg, respond.Options{Send: true, Stored: true, Timesteps: respond.All, Out: env.stdout})
	if err != nil {
		return err
	}
	printRespond(env.stdout, res, true, len(cfg.Response))
	return nil
}

func printAlertCurve(w io.Writer, a *respond.Alert, pts []pipeline.AlertPoint, path string) {
	fmt.Fprintf(w, "%s: position %.5f %+.5f (error radius %.3g deg) at %s: %d images of the run hold it\n",
		a.IVORN, a.RA, a.Dec, a.ErrRadius, a.Time.Format("2006-01-02T15:04:05Z"), len(pts))
	if len(pts) == 0 {
		return
	}
	fmt.Fprintf(w, "%6s %8s %5s %-20s %10s %10s %7s %s\n", "image", "timestep", "band", "taustart", "f_int", "f_int_err", "sigma", "detection or upper limit (Jy)")
	for _, p := range pts {
		what := fmt.Sprintf("detected %.4g", p.FInt)
		if !p.Detected {
			what = fmt.Sprintf("< %.4g", p.Limit)
		}
		fmt.Fprintf(w, "%6d %8d %5d %-20s %10.4g %10.4g %7.2f %s\n", p.Image, p.Timestep, p.Band,
			p.Time.Format("2006-01-02T15:04:05Z"), p.FInt, p.FIntErr, p.Sigma, what)
	}
	fmt.Fprintf(w, "light curve: %s\n", path)
}

// addAlertMonitor adds a's position to RUN/alerts/monitor.txt once
// (rewritten atomically).
func addAlertMonitor(run string, a *respond.Alert) error {
	p := rundir.AlertMonitorPath(run)
	old, err := os.ReadFile(p)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	tag := "# " + a.IVORN
	for _, line := range strings.Split(string(old), "\n") {
		if strings.HasSuffix(line, tag) {
			return nil
		}
	}
	if len(old) == 0 {
		old = []byte("# positions of external alerts (gotrap listen): RA DEC in degrees\n")
	}
	line := fmt.Sprintf("%.7f %.7f %s\n", a.RA, a.Dec, tag)
	return rundir.WriteFile(p, append(old, line...))
}
