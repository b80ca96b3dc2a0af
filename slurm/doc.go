// Package slurm is gotrap's side of Slurm: it renders batch scripts
// ([Job.Render]), submits and follows jobs through the sbatch, squeue,
// scontrol and sacct commands ([Client]), parses what those commands print
// ([ParseSubmit], [ParseSqueue], [ParseScontrol], [ParseSacct]) and what a
// job's environment says ([ParseEnv]), and turns SIGTERM into a cancelled
// context with a reason ([NotifyContext]). It links no Slurm library.
//
// # Batch scripts
//
// A [Job] is plain data: resources (--nodes, --ntasks, --cpus-per-task,
// --mem, --time, ...), where the log goes (--output), module loads,
// exported variables, setup lines, the launcher (srun --mpi=pmix by
// default, mpirun --bind-to none, or none) and the command each task
// runs. Render validates it and writes a bash script with no time stamp,
// so the same Job gives the same bytes (the golden tests in testdata/
// rely on it). Values on #SBATCH lines may not contain white space or
// quotes (sbatch splits those lines itself); command arguments and
// exported values are quoted for the shell, so globs reach gotrap
// unexpanded. The script exports OMPI_MCA_mpi_yield_when_idle=1 when the
// job has more tasks than the batch node has cores: busy-polling Open
// MPI ranks otherwise starve each other (DESIGN.md).
//
// # Submitting and waiting
//
// [Client] runs the commands through a [Runner]; [ExecRunner] runs the
// real ones, tests pass a fake to inject failures (STYLE 23). Submit uses
// sbatch --parsable. Query asks squeue, then scontrol for the exit code
// (slurmctld forgets a job MinJobAge after it ends), then sacct (which
// needs accounting). Wait polls with a growing interval, tolerates a run
// of failed queries (slurmctld restarting, garbled output), and believes
// an end that a requeue may follow (PREEMPTED, NODE_FAIL) only when the
// next poll confirms it. [Status.ExitStatus] maps the end to a process
// exit status.
//
// # Environment
//
// [ParseEnv] reads the variables Slurm sets in a job through a getenv
// function (os.Getenv in cmd; STYLE 5): job id, tasks, CPUs per task,
// memory per node or per CPU (in bytes), and the restart count of a
// requeued job. Ranks take their identity from MPI, never from
// SLURM_PROCID. reduce.CPUs applies SLURM_CPUS_PER_TASK to the rank's
// goroutines; [Env.MemPerTask] sizes DuckDB and buffers; [Env.Requeued]
// implies --resume.
//
// # Signals
//
// Slurm ends a job with SIGTERM, then SIGKILL KillWait seconds later (30
// by default), at the time limit, on preemption and on scancel. A job
// rendered with Signal "TERM@120" gets SIGTERM two minutes before its
// time limit. [NotifyContext] cancels a context on SIGTERM or SIGINT with
// a [SignalError] as its cause, so a run can finish its current image,
// write its manifest and exit; a second signal ends the process at once.
//
// # Errors
//
// Errors wrap [ErrInvalid] (a Job that cannot be rendered), [ErrParse]
// (output or a value that cannot be parsed), [ErrUnknownJob] (no command
// knows the job id) or are a *[CommandError] (a command failed; it holds
// the command's stderr). Nothing panics on any input: the parsers are
// fuzzed (FuzzParse*, seed corpora in testdata/fuzz).
package slurm
