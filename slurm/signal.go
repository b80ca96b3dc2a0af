package slurm

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// SignalError is the cause of a context cancelled by [NotifyContext]. It
// matches [ErrInterrupted] with errors.Is.
type SignalError struct {
	Signal os.Signal
}

func (e *SignalError) Error() string {
	if e.Signal == syscall.SIGTERM {
		return fmt.Sprintf("received %v (Slurm's time limit, a preemption or scancel)", e.Signal)
	}
	return fmt.Sprintf("received %v", e.Signal)
}

// Is reports whether target is ErrInterrupted.
func (e *SignalError) Is(target error) bool { return target == ErrInterrupted }

// NotifyContext returns a copy of parent that is cancelled when the
// process receives one of sigs (SIGTERM and SIGINT when none are given);
// context.Cause of the returned context is then a *[SignalError] naming
// the signal. A run checks ctx between images, finishes the current one,
// writes its manifest and exits, so that a requeued job resumes.
//
// After the first signal the signals get their default action back: a
// second one (Slurm's SIGKILL aside, which cannot be caught) ends the
// process at once. stop releases the signal handling and the context's
// resources; call it when the run ends.
func NotifyContext(parent context.Context, sigs ...os.Signal) (ctx context.Context, stop context.CancelFunc) {
	if len(sigs) == 0 {
		sigs = []os.Signal{syscall.SIGTERM, os.Interrupt}
	}
	ctx, cancel := context.WithCancelCause(parent)
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	done := make(chan struct{})
	go func() {
		select {
		case s := <-ch:
			signal.Stop(ch)
			cancel(&SignalError{Signal: s})
		case <-ctx.Done():
		case <-done:
		}
	}()
	return ctx, func() {
		signal.Stop(ch)
		select {
		case <-done:
		default:
			close(done)
		}
		cancel(context.Canceled)
	}
}
