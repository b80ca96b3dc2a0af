package slurm

import "strings"

// State is a Slurm job state in its long form, as squeue %T, sacct and
// scontrol print it: "PENDING", "RUNNING", "COMPLETED", ... States gotrap
// does not know are kept as printed (upper case).
type State string

// The job states gotrap acts on (squeue(1), "JOB STATE CODES").
const (
	Pending     State = "PENDING"
	Configuring State = "CONFIGURING"
	Running     State = "RUNNING"
	Completing  State = "COMPLETING"
	Suspended   State = "SUSPENDED"
	Requeued    State = "REQUEUED"
	Completed   State = "COMPLETED"
	Failed      State = "FAILED"
	Cancelled   State = "CANCELLED"
	Timeout     State = "TIMEOUT"
	NodeFail    State = "NODE_FAIL"
	Preempted   State = "PREEMPTED"
	OutOfMemory State = "OUT_OF_MEMORY"
	BootFail    State = "BOOT_FAIL"
	Deadline    State = "DEADLINE"
	SpecialExit State = "SPECIAL_EXIT"
	Revoked     State = "REVOKED"
)

// Done reports whether the job has ended (it will not run again unless it
// is requeued).
func (s State) Done() bool {
	switch s {
	case Completed, Failed, Cancelled, Timeout, NodeFail, Preempted,
		OutOfMemory, BootFail, Deadline, SpecialExit, Revoked:
		return true
	}
	return false
}

// mayRequeue reports an end that Slurm may turn into a requeue a moment
// later (a job submitted with --requeue that is preempted or whose node
// failed), so a waiter looks again before believing it.
func (s State) mayRequeue() bool {
	return s == Preempted || s == NodeFail || s == BootFail
}

// parseState normalises a state as the commands print it: "CANCELLED by
// 0" is CANCELLED, sacct's truncation mark "+" is dropped.
func parseState(s string) (State, bool) {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[:i]
	}
	s = strings.TrimSuffix(s, "+")
	if s == "" {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c == '_') {
			return "", false
		}
	}
	return State(strings.ToUpper(s)), true
}

// Status is what Slurm says about one job.
type Status struct {
	ID    string
	State State
	// Reason is why the job waits or ended ("Resources", "NonZeroExitCode");
	// empty for "None".
	Reason string
	// ExitCode is the exit status of the batch script, and Signal the
	// signal that ended it (0 for none); ExitCode is -1 when the command
	// that answered does not tell (squeue).
	ExitCode int
	Signal   int
	// Restarts counts the requeues so far (scontrol only; 0 otherwise).
	Restarts int
	// StdOut is the path of the job's output file (scontrol only).
	StdOut string
}

// ExitStatus is the status a process standing for the job exits with: 0
// when the job COMPLETED with exit code 0; otherwise its exit code when
// that is non-zero, 128+Signal when a signal ended it, and 1 for any other
// end (for example CANCELLED before it started). It is meaningful only
// when State.Done().
func (s Status) ExitStatus() int {
	if s.State == Completed && s.ExitCode <= 0 && s.Signal == 0 {
		return 0
	}
	switch {
	case s.ExitCode > 0:
		return min(s.ExitCode, 255)
	case s.Signal > 0:
		return min(128+s.Signal, 255)
	}
	return 1
}
