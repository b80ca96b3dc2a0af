//go:build !front

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"gotrap/internal/config"
	"gotrap/internal/pipeline"
	"gotrap/internal/rundir"
	"gotrap/reduce/mpi"
	"gotrap/slurm"
)

// listFlag collects a repeatable string flag.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, " ") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

type slurmFlagValues struct {
	out, config, gotrap, subcommand, launcher, mpi string
	job                                            slurm.Job
	extra, modules, env, setup, args               listFlag
	resume, dryRun, submit, wait                   bool
	waitTimeout                                    time.Duration
}

var slurmFl slurmFlagValues

// slurmClient makes the client that submits and follows jobs; tests
// replace it with one whose Runner is a fake.
var slurmClient = func() *slurm.Client { return &slurm.Client{} }

func init() {
	register(&command{
		name:  "slurm",
		usage: "[sbatch flags] --out RUN [-c gotrap.toml] [--dry-run | --submit [--wait]] INPUT...",
		short: "write a Slurm batch script for a run, and submit and follow it",
		long: `
gotrap slurm writes RUN/gotrap.sbatch, a batch script that runs "gotrap run
--out RUN [-c CONFIG] INPUT..." on the resources the flags ask for, with each MPI
rank started by "srun --mpi=pmix" (or "mpirun --bind-to none", or directly
with --launcher none). It creates RUN/logs/, where the job's log goes
(RUN/logs/slurm-JOBID.out). INPUT and -c are those of "gotrap run"; relative
paths are made absolute, globs stay quoted for gotrap to expand.

  --dry-run (the default) writes the script and prints its path: inspect
            and edit it, then submit it with sbatch.
  --submit  also submits it with sbatch and prints the job id.
  --wait    submits and follows the job until it ends, reporting its state
            changes on stderr, and exits with the job's status: 0 when it
            COMPLETED, its exit code when that is not 0, 128+N when signal
            N ended it, 1 otherwise (cancelled, node failure, ...). On
            failure the tail of the job's log is printed.

The script always runs "gotrap run --resume": a job that Slurm requeues
(after preemption or a node failure) continues where it stopped, and a
fresh RUN starts from the beginning. So RUN must not already hold a run
unless --resume is given here. With --signal TERM@120 Slurm sends SIGTERM
two minutes before the time limit: gotrap finishes the current image and
writes its manifest, and resubmitting the script resumes.

The ranks need a gotrap built with MPI (go build -tags mpi ./cmd/gotrap):
--gotrap names it when this binary is not one. --subcommand mpicheck runs
"gotrap mpicheck" instead of a pipeline run: a quick check of MPI, CPUs and
memory under Slurm. As root (containers), Open MPI wants
--env OMPI_ALLOW_RUN_AS_ROOT=1 --env OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1.

Examples:
  gotrap slurm --ntasks 8 --cpus-per-task 4 --mem 64G --time 4:00:00 \
      --partition compute --module openmpi --out /scratch/rsm -c rsm.toml '/data/rsm/*.fits'
  sbatch /scratch/rsm/gotrap.sbatch
  gotrap slurm --ntasks 2 --subcommand mpicheck --out /scratch/check --submit --wait`,
		setFlags: func(fs *flag.FlagSet) {
			slurmFl = slurmFlagValues{}
			f, j := &slurmFl, &slurmFl.job
			fs.StringVar(&f.out, "out", "", "run directory (required): the script, logs/ and the run's outputs go there")
			fs.StringVar(&f.config, "c", "", "job configuration (TOML) for gotrap run")
			fs.StringVar(&f.config, "config", "", "same as -c")
			fs.IntVar(&j.Nodes, "nodes", 0, "sbatch --nodes")
			fs.IntVar(&j.NTasks, "ntasks", 0, "sbatch --ntasks: MPI ranks")
			fs.IntVar(&j.NTasksPerNode, "ntasks-per-node", 0, "sbatch --ntasks-per-node")
			fs.IntVar(&j.CPUsPerTask, "cpus-per-task", 0, "sbatch --cpus-per-task: threads per rank")
			fs.StringVar(&j.Mem, "mem", "", "sbatch --mem: memory per node, e.g. 64G")
			fs.StringVar(&j.MemPerCPU, "mem-per-cpu", "", "sbatch --mem-per-cpu, e.g. 4G")
			fs.StringVar(&j.Time, "time", "", "sbatch --time: time limit, e.g. 4:00:00 or 1-12:00:00")
			fs.StringVar(&j.Partition, "partition", "", "sbatch --partition")
			fs.StringVar(&j.Account, "account", "", "sbatch --account")
			fs.StringVar(&j.QOS, "qos", "", "sbatch --qos")
			fs.StringVar(&j.MailType, "mail-type", "", "sbatch --mail-type, e.g. END,FAIL")
			fs.StringVar(&j.MailUser, "mail-user", "", "sbatch --mail-user")
			fs.StringVar(&j.Name, "job-name", "", "sbatch --job-name (default gotrap-BASENAME_OF_RUN)")
			fs.BoolVar(&j.Requeue, "requeue", false, "sbatch --requeue: let Slurm requeue the job after preemption")
			fs.StringVar(&j.Signal, "signal", "", "sbatch --signal, e.g. TERM@120 to stop cleanly before the time limit")
			fs.Var(&f.extra, "sbatch", "another sbatch `OPTION`, e.g. --sbatch=--gres=gpu:1 (repeatable)")
			fs.Var(&f.modules, "module", "environment `MODULE` to load in the script (repeatable)")
			fs.Var(&f.env, "env", "`KEY=VALUE` exported in the script (repeatable)")
			fs.Var(&f.setup, "setup", "shell `LINE` run before the launch (repeatable)")
			fs.StringVar(&f.launcher, "launcher", "srun", "how ranks start: srun, mpirun or none (one process)")
			fs.StringVar(&f.mpi, "mpi", "pmix", "srun --mpi plugin (pmix works with Debian's Open MPI; pmi2 does not)")
			fs.StringVar(&f.gotrap, "gotrap", "", "gotrap binary the job runs (default: this one)")
			fs.StringVar(&f.subcommand, "subcommand", "run", "what the job runs: run, or mpicheck to check MPI under Slurm")
			fs.Var(&f.args, "arg", "extra `ARG` for the gotrap subcommand, e.g. --arg=--monitor=10,20 (repeatable)")
			fs.BoolVar(&f.resume, "resume", false, "allow a RUN that already holds a run (the job resumes it)")
			fs.BoolVar(&f.dryRun, "dry-run", false, "write RUN/gotrap.sbatch and print its path (the default)")
			fs.BoolVar(&f.submit, "submit", false, "also submit the script with sbatch and print the job id")
			fs.BoolVar(&f.wait, "wait", false, "submit, follow the job and exit with its status")
			fs.DurationVar(&f.waitTimeout, "wait-timeout", 0, "stop waiting after this long (0: no limit); the job goes on")
		},
		run: runSlurm,
	})
}

var jobNameUnsafe = regexp.MustCompile(`[^A-Za-z0-9_.+-]+`)

func runSlurm(env *cmdEnv, args []string) error {
	f := slurmFl
	if f.out == "" {
		return usageError("--out RUN is required")
	}
	if f.wait {
		f.submit = true
	}
	if f.dryRun && f.submit {
		return usageError("--dry-run excludes --submit and --wait")
	}
	run, err := filepath.Abs(f.out)
	if err != nil {
		return err
	}
	job := f.job
	job.Extra, job.Modules, job.Env, job.Setup = f.extra, f.modules, f.env, f.setup
	job.Launcher, job.MPI = slurm.Launcher(f.launcher), f.mpi
	job.Output = rundir.SlurmLogPath(run, "%j")
	if job.Name == "" {
		job.Name = "gotrap-" + strings.Trim(jobNameUnsafe.ReplaceAllString(filepath.Base(run), "_"), "_")
	}

	bin := f.gotrap
	if bin == "" {
		if bin, err = os.Executable(); err != nil {
			return fmt.Errorf("cannot find this binary: %w (pass --gotrap PATH)", err)
		}
		if r, err := filepath.EvalSymlinks(bin); err == nil {
			bin = r
		}
	} else if bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if st, err := os.Stat(bin); err != nil || st.IsDir() {
		return usageError("--gotrap %s: not a file", bin)
	}
	job.Command = []string{bin, f.subcommand, "--out", run}

	switch f.subcommand {
	case "run":
		if len(args) == 0 {
			return usageError("no INPUT images")
		}
		if _, err := os.Stat(rundir.ManifestPath(run)); err == nil && !f.resume {
			return usageError("%s already holds a run: pass --resume to continue it, or choose a new --out", run)
		}
		// A requeued job must continue, and a fresh RUN starts from the
		// beginning under --resume too.
		job.Command = append(job.Command, "--resume")
		if f.config != "" {
			cfg, err := filepath.Abs(f.config)
			if err != nil {
				return err
			}
			if _, err := config.Load(cfg); err != nil {
				return err
			}
			job.Command = append(job.Command, "-c", cfg)
		}
		job.Command = append(job.Command, f.args...)
		for _, in := range args {
			a, err := absInput(in)
			if err != nil {
				return err
			}
			job.Command = append(job.Command, a)
		}
		if bad := checkInputs(args); len(bad) > 0 {
			msg := fmt.Sprintf("%d INPUT(s) give no images now:\n  %s", len(bad), strings.Join(bad, "\n  "))
			if f.submit {
				return usageError("not submitting: %s", msg)
			}
			fmt.Fprintf(env.stderr, "gotrap slurm: warning: %s\n", msg)
		}
	case "mpicheck":
		if len(args) > 0 || f.config != "" {
			return usageError("--subcommand mpicheck takes no INPUT and no -c")
		}
		job.Command = append(job.Command, f.args...)
	default:
		return usageError("--subcommand %q: want run or mpicheck", f.subcommand)
	}

	if job.Launcher != slurm.NoLauncher && job.NTasks > 1 && f.gotrap == "" && !mpi.Available {
		msg := fmt.Errorf("this gotrap was built without MPI, so %d ranks would each run alone: "+
			"build one with 'go build -tags mpi ./cmd/gotrap' and pass --gotrap PATH", job.NTasks)
		if f.submit {
			return usageError("%v", msg)
		}
		fmt.Fprintf(env.stderr, "gotrap slurm: warning: %v\n", msg)
	}

	for _, w := range limitWarnings(job) {
		fmt.Fprintf(env.stderr, "gotrap slurm: warning: %s\n", w)
	}
	script, err := job.Script()
	if err != nil {
		return usageError("%v", err)
	}
	if err := os.MkdirAll(rundir.LogsDir(run), 0o755); err != nil {
		return err
	}
	path := rundir.SbatchPath(run)
	if err := rundir.WriteFunc(path, func(w io.Writer) error { _, err := w.Write(script); return err }); err != nil {
		return err
	}
	if !f.submit {
		fmt.Fprintln(env.stdout, path)
		fmt.Fprintf(env.stderr, "gotrap slurm: inspect it, then submit it with: sbatch %s\n", path)
		return nil
	}

	ctx, stop := slurm.NotifyContext(context.Background())
	defer stop()
	client := slurmClient()
	id, err := client.Submit(ctx, path)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.stdout, id)
	log := rundir.SlurmLogPath(run, id)
	if !f.wait {
		fmt.Fprintf(env.stderr, "gotrap slurm: submitted job %s; log %s\n", id, log)
		return nil
	}
	if f.waitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, f.waitTimeout, fmt.Errorf("--wait-timeout %v passed", f.waitTimeout))
		defer cancel()
	}
	st, err := client.Wait(ctx, id, func(s slurm.Status) {
		line := fmt.Sprintf("gotrap slurm: job %s %s", id, s.State)
		if s.Reason != "" {
			line += " (" + s.Reason + ")"
		}
		if s.Restarts > 0 {
			line += fmt.Sprintf(", restart %d", s.Restarts)
		}
		fmt.Fprintln(env.stderr, line)
	})
	if err != nil {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, slurm.ErrInterrupted) {
			return fmt.Errorf("%w; job %s goes on (scancel %s stops it)", err, id, id)
		}
		return err
	}
	if st.StdOut != "" {
		log = st.StdOut
	}
	code := st.ExitStatus()
	if code == 0 {
		fmt.Fprintf(env.stderr, "gotrap slurm: job %s completed; log %s\n", id, log)
		if f.subcommand == "run" {
			sum := rundir.SummaryPath(run)
			b, err := os.ReadFile(sum)
			if err != nil {
				return fmt.Errorf("job %s completed without a run summary: %w", id, err)
			}
			env.stdout.Write(b)
		}
		return nil
	}
	fmt.Fprintf(env.stderr, "gotrap slurm: job %s ended %s, exit code %d signal %d; log %s\n", id, st.State, st.ExitCode, st.Signal, log)
	if tail := tailFile(log, 20); tail != "" {
		fmt.Fprintf(env.stderr, "--- last lines of %s\n%s", log, tail)
	}
	return &exitError{code: code}
}

// absInput makes a gotrap run INPUT absolute: a path, a glob (left for
// gotrap to expand) or @LIST. A plain path that does not exist is an
// error now rather than in the queue.
func absInput(in string) (string, error) {
	prefix := ""
	if strings.HasPrefix(in, "@") {
		prefix, in = "@", in[1:]
	}
	a, err := filepath.Abs(in)
	if err != nil {
		return "", err
	}
	if !strings.ContainsAny(in, "*?[") {
		if _, err := os.Stat(a); err != nil {
			return "", usageError("INPUT %s: %v", prefix+in, errors.Unwrap(err))
		}
	}
	return prefix + a, nil
}

// checkInputs expands each gotrap run INPUT on its own, as the job will,
// and returns a line naming each that gives no images now: a glob
// matching nothing, an @LIST naming missing files, a directory without
// images. Submitting refuses them rather than failing in the queue; a
// script only written warns (the images may be staged before sbatch).
func checkInputs(args []string) []string {
	var bad []string
	for _, in := range args {
		if _, err := pipeline.ExpandInputs([]string{in}); err != nil {
			bad = append(bad, fmt.Sprintf("%s: %v", in, err))
		}
	}
	return bad
}

// limitWarnings returns a warning for each resource limit the job leaves
// to the cluster's defaults: without --time a job gets the partition's
// default limit (often short, or the maximum, which delays scheduling);
// without --mem or --mem-per-cpu its memory is the partition's default,
// which gotrap also takes as its memory allowance.
func limitWarnings(job slurm.Job) []string {
	var w []string
	if job.Time == "" {
		w = append(w, "no --time: the job gets the partition's default time limit; pass --time, e.g. 4:00:00")
	}
	if job.Mem == "" && job.MemPerCPU == "" {
		w = append(w, "no --mem or --mem-per-cpu: the job gets the partition's default memory, and gotrap takes that as its allowance; pass --mem, e.g. 64G")
	}
	return w
}

// tailFile returns the last n lines of the file (at most 64 KiB), or "".
func tailFile(path string, n int) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 64 << 10
	if st, err := f.Stat(); err == nil && st.Size() > max {
		_, _ = f.Seek(st.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	lines := strings.SplitAfter(string(b), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	s := strings.Join(lines, "")
	if s != "" && !strings.HasSuffix(s, "\n") {
		s += "\n"
	}
	return s
}
