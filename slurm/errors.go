package slurm

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrInvalid marks a job description that cannot be rendered: a value
	// out of range, or one that would break the script (a newline, a space
	// in an #SBATCH value).
	ErrInvalid = errors.New("slurm: invalid job")
	// ErrParse marks output of a Slurm command, or a Slurm value (memory
	// size, time limit, environment variable), that could not be parsed.
	ErrParse = errors.New("slurm: cannot parse")
	// ErrUnknownJob marks a job id that no Slurm command knows (any more):
	// slurmctld forgets a finished job MinJobAge seconds after it ends, and
	// sacct knows nothing where accounting is disabled.
	ErrUnknownJob = errors.New("slurm: unknown job")
	// ErrInterrupted marks the cause of a context cancelled by a signal
	// (see [NotifyContext] and [SignalError]).
	ErrInterrupted = errors.New("slurm: interrupted by a signal")
)

// CommandError is a Slurm command that exited non-zero (or could not be
// started). Stderr is its standard error, trimmed.
type CommandError struct {
	Name     string   // e.g. "sbatch"
	Args     []string // without the name
	ExitCode int      // -1 when it did not run to an exit
	Stderr   string
	Err      error // the underlying error from os/exec or the context
}

func (e *CommandError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("slurm: %s %s: %s", e.Name, strings.Join(e.Args, " "), msg)
}

func (e *CommandError) Unwrap() error { return e.Err }

// invalid returns an error wrapping ErrInvalid.
func invalid(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, a...))
}

// parseErr returns an error wrapping ErrParse.
func parseErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrParse, fmt.Sprintf(format, a...))
}
