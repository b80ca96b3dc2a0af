package slurm

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSlurm answers squeue, scontrol and sacct from a script of steps: each
// Query (one squeue call) moves to the next step; the last step repeats.
type fakeSlurm struct {
	mu    sync.Mutex
	steps []step
	i     int // current step
	calls []string
}

// step is one moment of the fake cluster. Empty outputs with a nil error
// mean "print nothing"; an error string means exit 1 with that stderr.
type step struct {
	squeue, scontrol, sacct string
	squeueErr, scontrolErr  string
	sacctErr                string
}

const (
	invalidID    = "slurm_load_jobs error: Invalid job id specified"
	noAccounting = "Slurm accounting storage is disabled"
)

func (f *fakeSlurm) Run(ctx context.Context, name string, args ...string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, name+" "+strings.Join(args, " "))
	if name == "squeue" && len(f.calls) > 1 && f.i < len(f.steps)-1 {
		f.i++
	}
	s := f.steps[f.i]
	var out, serr string
	switch name {
	case "squeue":
		out, serr = s.squeue, s.squeueErr
	case "scontrol":
		out, serr = s.scontrol, s.scontrolErr
	case "sacct":
		out, serr = s.sacct, s.sacctErr
		if out == "" && serr == "" {
			serr = noAccounting
		}
	default:
		return nil, fmt.Errorf("fake: unexpected command %s", name)
	}
	if serr != "" {
		return []byte(out), &CommandError{Name: name, Args: args, ExitCode: 1, Stderr: serr + "\n", Err: errors.New("exit status 1")}
	}
	return []byte(out), nil
}

func fastClient(r Runner) *Client {
	return &Client{Runner: r, MinPoll: time.Millisecond, MaxPoll: 2 * time.Millisecond, MaxErrors: 4}
}

func scontrolLine(state, exit string, restarts int) string {
	return fmt.Sprintf("JobId=42 JobName=gotrap JobState=%s Reason=None Requeue=1 Restarts=%d ExitCode=%s StdOut=/run/logs/slurm-42.out\n",
		state, restarts, exit)
}

func waitStates(t *testing.T, f *fakeSlurm) (Status, []State, error) {
	t.Helper()
	var seen []State
	st, err := fastClient(f).Wait(context.Background(), "42", func(s Status) { seen = append(seen, s.State) })
	return st, seen, err
}

func TestWaitCompleted(t *testing.T) {
	f := &fakeSlurm{steps: []step{
		{squeue: "42|PENDING|Resources\n"},
		{squeue: "42|RUNNING|None\n"},
		{squeue: "42|RUNNING|None\n"},
		{squeue: "42|COMPLETED|None\n", scontrol: scontrolLine("COMPLETED", "0:0", 0)},
	}}
	st, seen, err := waitStates(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != Completed || st.ExitStatus() != 0 || st.StdOut != "/run/logs/slurm-42.out" {
		t.Errorf("final %+v", st)
	}
	if want := []State{Pending, Running, Completed}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("onChange saw %v, want %v", seen, want)
	}
	if !strings.HasPrefix(f.calls[0], "squeue --noheader --states=all --jobs=42 --format=%i|%T|%r") {
		t.Errorf("first call %q", f.calls[0])
	}
}

func TestWaitFailedExitCode(t *testing.T) {
	f := &fakeSlurm{steps: []step{
		{squeue: "42|RUNNING|None\n"},
		{squeue: "42|FAILED|NonZeroExitCode\n", scontrol: scontrolLine("FAILED", "3:0", 0)},
	}}
	st, _, err := waitStates(t, f)
	if err != nil || st.State != Failed || st.ExitStatus() != 3 {
		t.Errorf("Wait = %+v, %v; want FAILED with exit status 3", st, err)
	}
}

// TestWaitForgottenJob: squeue and scontrol no longer know the job
// (MinJobAge passed); sacct does.
func TestWaitForgottenJob(t *testing.T) {
	f := &fakeSlurm{steps: []step{
		{squeue: "42|RUNNING|None\n"},
		{squeueErr: invalidID, scontrolErr: invalidID, sacct: "42|TIMEOUT|0:15\n42.batch|CANCELLED|0:15\n"},
	}}
	st, _, err := waitStates(t, f)
	if err != nil || st.State != Timeout || st.ExitStatus() != 143 {
		t.Errorf("Wait = %+v, %v; want TIMEOUT with exit status 143", st, err)
	}
}

// TestWaitPreemptedRequeued: a preempted job that Slurm requeues must not
// end the wait.
func TestWaitPreemptedRequeued(t *testing.T) {
	f := &fakeSlurm{steps: []step{
		{squeue: "42|RUNNING|None\n"},
		{squeue: "42|PREEMPTED|None\n", scontrol: scontrolLine("PREEMPTED", "0:15", 0)},
		{squeue: "42|PENDING|BeginTime\n"},
		{squeue: "42|RUNNING|None\n"},
		{squeue: "42|COMPLETED|None\n", scontrol: scontrolLine("COMPLETED", "0:0", 1)},
	}}
	st, seen, err := waitStates(t, f)
	if err != nil || st.State != Completed || st.Restarts != 1 {
		t.Fatalf("Wait = %+v, %v; want COMPLETED after 1 restart", st, err)
	}
	if want := []State{Running, Preempted, Pending, Running, Completed}; fmt.Sprint(seen) != fmt.Sprint(want) {
		t.Errorf("onChange saw %v, want %v", seen, want)
	}
}

func TestWaitPreemptedForGood(t *testing.T) {
	f := &fakeSlurm{steps: []step{
		{squeue: "42|RUNNING|None\n"},
		{squeue: "42|PREEMPTED|None\n", scontrol: scontrolLine("PREEMPTED", "0:15", 0)},
	}}
	st, _, err := waitStates(t, f)
	if err != nil || st.State != Preempted || st.ExitStatus() != 143 {
		t.Errorf("Wait = %+v, %v; want PREEMPTED, exit status 143", st, err)
	}
	if n := strings.Count(strings.Join(f.calls, "\n"), "squeue"); n < 3 {
		t.Errorf("PREEMPTED believed after %d squeue calls, want a confirming poll", n)
	}
}

// TestWaitTransientErrors: timeouts and partial output are retried.
func TestWaitTransientErrors(t *testing.T) {
	f := &fakeSlurm{steps: []step{
		{squeueErr: "squeue: error: Socket timed out on send/recv operation", scontrolErr: "timeout", sacctErr: "timeout"},
		{squeue: "42|RUNN", scontrolErr: "timeout", sacctErr: "timeout"}, // cut short
		{squeue: "42|RUNNING|None\n"},
		{squeue: "42|COMPLETED|None\n", scontrol: scontrolLine("COMPLETED", "0:0", 0)},
	}}
	st, _, err := waitStates(t, f)
	if err != nil || st.State != Completed {
		t.Errorf("Wait = %+v, %v; want COMPLETED despite two failed polls", st, err)
	}
}

func TestWaitGivesUp(t *testing.T) {
	f := &fakeSlurm{steps: []step{{squeueErr: "squeue: error: Unable to contact slurm controller", scontrolErr: "down", sacctErr: "down"}}}
	_, _, err := waitStates(t, f)
	if err == nil || !strings.Contains(err.Error(), "4 queries failed") || !strings.Contains(err.Error(), "Unable to contact") {
		t.Errorf("err = %v, want the count and the last error", err)
	}
	var ce *CommandError
	if !errors.As(err, &ce) {
		t.Errorf("err = %v does not hold the *CommandError", err)
	}
}

func TestWaitUnknownJob(t *testing.T) {
	f := &fakeSlurm{steps: []step{{squeueErr: invalidID, scontrolErr: invalidID}}}
	_, _, err := waitStates(t, f)
	if !errors.Is(err, ErrUnknownJob) {
		t.Errorf("err = %v, want ErrUnknownJob", err)
	}
}

func TestWaitCancelled(t *testing.T) {
	f := &fakeSlurm{steps: []step{{squeue: "42|RUNNING|None\n"}}}
	ctx, cancel := context.WithCancelCause(context.Background())
	c := &Client{Runner: f, MinPoll: time.Millisecond}
	done := make(chan error, 1)
	go func() {
		_, err := c.Wait(ctx, "42", nil)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	cause := errors.New("user pressed ^C")
	cancel(cause)
	select {
	case err := <-done:
		if !errors.Is(err, cause) {
			t.Errorf("err = %v, want the cancel cause", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not return after cancel")
	}
}

func TestSubmit(t *testing.T) {
	var got []string
	c := &Client{Runner: RunnerFunc(func(ctx context.Context, name string, args ...string) ([]byte, error) {
		got = append([]string{name}, args...)
		return []byte("42;gotrap\n"), nil
	})}
	id, err := c.Submit(context.Background(), "/run/gotrap.sbatch", "--hold")
	if err != nil || id != "42" {
		t.Fatalf("Submit = %q, %v", id, err)
	}
	if want := "sbatch --parsable --hold /run/gotrap.sbatch"; strings.Join(got, " ") != want {
		t.Errorf("ran %q, want %q", strings.Join(got, " "), want)
	}
}

func TestSubmitFailures(t *testing.T) {
	rejected := RunnerFunc(func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return nil, &CommandError{Name: name, Args: args, ExitCode: 1,
			Stderr: "sbatch: error: Batch job submission failed: Invalid partition name specified\n"}
	})
	_, err := (&Client{Runner: rejected}).Submit(context.Background(), "x.sbatch")
	var ce *CommandError
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "Invalid partition name") {
		t.Errorf("err = %v, want a *CommandError with sbatch's message", err)
	}
	empty := RunnerFunc(func(ctx context.Context, name string, args ...string) ([]byte, error) { return nil, nil })
	if _, err := (&Client{Runner: empty}).Submit(context.Background(), "x.sbatch"); !errors.Is(err, ErrParse) {
		t.Errorf("empty output: err = %v, want ErrParse", err)
	}
}

func TestExecRunner(t *testing.T) {
	out, err := ExecRunner{}.Run(context.Background(), "sh", "-c", "echo out; echo oops >&2; exit 3")
	var ce *CommandError
	if !errors.As(err, &ce) || ce.ExitCode != 3 || strings.TrimSpace(ce.Stderr) != "oops" || string(out) != "out\n" {
		t.Fatalf("Run = %q, %#v", out, err)
	}
	start := time.Now()
	_, err = ExecRunner{Timeout: 100 * time.Millisecond}.Run(context.Background(), "sleep", "10")
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 5*time.Second {
		t.Errorf("timeout: err = %v after %v", err, time.Since(start))
	}
	if _, err := (ExecRunner{}).Run(context.Background(), "gotrap-no-such-command"); !errors.As(err, &ce) || ce.ExitCode != -1 {
		t.Errorf("missing command: %v", err)
	}
}
