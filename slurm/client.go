package slurm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// Runner runs a Slurm command and returns its standard output. A command
// that exits non-zero or cannot start returns a *[CommandError]. Tests
// substitute a fake to inject failures (timeouts, partial output, a job
// that is preempted and requeued); [ExecRunner] runs the real commands.
type Runner interface {
	Run(ctx context.Context, name string, args ...string) ([]byte, error)
}

// RunnerFunc adapts a function to [Runner].
type RunnerFunc func(ctx context.Context, name string, args ...string) ([]byte, error)

// Run calls f.
func (f RunnerFunc) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	return f(ctx, name, args...)
}

// ExecRunner runs Slurm commands with os/exec, found in PATH. Each call
// is limited to Timeout (default 60 s): slurmctld answers slowly, but
// answers, when it is busy.
type ExecRunner struct {
	Timeout time.Duration
}

// Run runs the command and returns its stdout.
func (r ExecRunner) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	to := r.Timeout
	if to <= 0 {
		to = 60 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, to)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = time.Second
	err := cmd.Run()
	if err != nil {
		ce := &CommandError{Name: name, Args: args, ExitCode: -1, Stderr: stderr.String(), Err: err}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ce.ExitCode = ee.ExitCode()
		}
		if ctx.Err() != nil {
			ce.Err = fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return stdout.Bytes(), ce
	}
	return stdout.Bytes(), nil
}

// Client submits and follows jobs through a [Runner].
type Client struct {
	Runner Runner // nil means ExecRunner{}
	// MinPoll and MaxPoll bound Wait's polling interval, which starts at
	// MinPoll and grows by half each poll up to MaxPoll (defaults 250 ms
	// and 30 s): short jobs are seen to end quickly, long ones cost
	// slurmctld little.
	MinPoll, MaxPoll time.Duration
	// MaxErrors is how many queries in a row may fail (slurmctld
	// restarting, a timeout, garbled output) before Wait gives up; default
	// 10.
	MaxErrors int
}

func (c *Client) runner() Runner {
	if c.Runner == nil {
		return ExecRunner{}
	}
	return c.Runner
}

// Submit runs "sbatch --parsable [args...] script" and returns the job id.
func (c *Client) Submit(ctx context.Context, script string, args ...string) (string, error) {
	argv := append(append([]string{"--parsable"}, args...), script)
	out, err := c.runner().Run(ctx, "sbatch", argv...)
	if err != nil {
		return "", err
	}
	id, err := ParseSubmit(out)
	if err != nil {
		return "", fmt.Errorf("sbatch %s: %w", script, err)
	}
	return id, nil
}

// Query returns the job's status. It asks squeue first; once the job has
// ended, or squeue no longer lists it, it asks scontrol (which knows the
// exit code until MinJobAge after the end) and then sacct (which needs
// accounting). When none knows the job the error wraps [ErrUnknownJob];
// a failing command or garbled output gives its own error.
func (c *Client) Query(ctx context.Context, id string) (Status, error) {
	sq, errQ := c.find(ctx, id, "squeue", ParseSqueue,
		"--noheader", "--states=all", "--jobs="+id, "--format="+SqueueFormat)
	if errQ == nil && !sq.State.Done() {
		return sq, nil
	}
	st, errC := c.find(ctx, id, "scontrol", ParseScontrol, "show", "job", "--oneliner", id)
	if errC == nil {
		return st, nil
	}
	st, errA := c.find(ctx, id, "sacct", ParseSacct,
		"--noheader", "--parsable2", "--allocations", "--jobs="+id, "--format="+SacctFormat)
	if errA == nil {
		return st, nil
	}
	if errQ == nil {
		// Ended, but the exit code is lost: squeue's word is all there is.
		return sq, nil
	}
	if errors.Is(errQ, ErrUnknownJob) && errors.Is(errC, ErrUnknownJob) && errors.Is(errA, ErrUnknownJob) {
		return Status{}, fmt.Errorf("%w %s (squeue, scontrol and sacct do not know it)", ErrUnknownJob, id)
	}
	return Status{}, fmt.Errorf("slurm: job %s: %w; %w; %w", id, errQ, errC, errA)
}

// find runs one query command and picks job id from its output. An error
// saying "Invalid job id" (squeue, scontrol) or output without the job
// (sacct, squeue) wraps ErrUnknownJob.
func (c *Client) find(ctx context.Context, id, name string, parse func([]byte) ([]Status, error), args ...string) (Status, error) {
	out, err := c.runner().Run(ctx, name, args...)
	if err != nil {
		var ce *CommandError
		if errors.As(err, &ce) && (strings.Contains(ce.Stderr, "Invalid job id") ||
			strings.Contains(ce.Stderr, "accounting storage is disabled")) {
			return Status{}, fmt.Errorf("%w %s (%s)", ErrUnknownJob, id, name)
		}
		return Status{}, err
	}
	jobs, err := parse(out)
	if err != nil {
		return Status{}, fmt.Errorf("%s: %w", name, err)
	}
	for _, j := range jobs {
		if j.ID == id {
			return j, nil
		}
	}
	return Status{}, fmt.Errorf("%w %s (%s)", ErrUnknownJob, id, name)
}

// Wait polls the job until it has ended and returns its final status.
// onChange, if not nil, is called with each new state (including the
// first). A state that a requeue may follow (PREEMPTED, NODE_FAIL,
// BOOT_FAIL) is believed only when the next poll still shows it. Wait
// returns early with ctx's error when ctx ends (the job goes on), and
// with the last error after MaxErrors failed queries in a row.
func (c *Client) Wait(ctx context.Context, id string, onChange func(Status)) (Status, error) {
	minPoll, maxPoll, maxErr := c.MinPoll, c.MaxPoll, c.MaxErrors
	if minPoll <= 0 {
		minPoll = 250 * time.Millisecond
	}
	if maxPoll < minPoll {
		maxPoll = max(30*time.Second, minPoll)
	}
	if maxErr <= 0 {
		maxErr = 10
	}
	var (
		last     Status
		seen     bool
		fails    int
		lastErr  error
		interval = minPoll
		pendingD bool // a mayRequeue end seen once
	)
	for {
		st, err := c.Query(ctx, id)
		switch {
		case ctx.Err() != nil:
			return last, fmt.Errorf("slurm: stopped waiting for job %s: %w", id, context.Cause(ctx))
		case err != nil:
			fails++
			lastErr = err
			if fails >= maxErr {
				return last, fmt.Errorf("slurm: job %s: %d queries failed in a row, the last: %w", id, fails, lastErr)
			}
		default:
			fails = 0
			if !seen || st.State != last.State || st.Restarts != last.Restarts {
				if onChange != nil {
					onChange(st)
				}
			}
			seen, last = true, st
			if st.State.Done() {
				if !st.State.mayRequeue() || pendingD {
					return st, nil
				}
				pendingD = true
			} else {
				pendingD = false
			}
		}
		t := time.NewTimer(interval)
		select {
		case <-ctx.Done():
			t.Stop()
			return last, fmt.Errorf("slurm: stopped waiting for job %s: %w", id, context.Cause(ctx))
		case <-t.C:
		}
		interval = min(interval+interval/2, maxPoll)
	}
}
