package slurm

import (
	"context"
	"errors"
	"syscall"
	"testing"
	"time"
)

func TestNotifyContextSIGTERM(t *testing.T) {
	ctx, stop := NotifyContext(context.Background())
	defer stop()
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("context not cancelled 10 s after SIGTERM")
	}
	cause := context.Cause(ctx)
	var se *SignalError
	if !errors.As(cause, &se) || se.Signal != syscall.SIGTERM || !errors.Is(cause, ErrInterrupted) {
		t.Fatalf("cause = %v (%T), want *SignalError{SIGTERM} matching ErrInterrupted", cause, cause)
	}
}

func TestNotifyContextStop(t *testing.T) {
	ctx, stop := NotifyContext(context.Background(), syscall.SIGUSR1)
	stop()
	stop() // twice is fine
	<-ctx.Done()
	if cause := context.Cause(ctx); errors.Is(cause, ErrInterrupted) {
		t.Errorf("stop gave cause %v, want a plain cancellation", cause)
	}
}

func TestNotifyContextParent(t *testing.T) {
	parent, cancel := context.WithCancel(context.Background())
	ctx, stop := NotifyContext(parent, syscall.SIGUSR2)
	defer stop()
	cancel()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("not cancelled with its parent")
	}
}
