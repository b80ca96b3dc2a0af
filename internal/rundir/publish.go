package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// PublishLockFile is the lock that makes a live run's commits atomic for
// readers, inside the run directory.
const PublishLockFile = ".gotrap.publish.lock"

// publishTurnFile is the turnstile in front of the publish lock: a
// publisher holds it while it waits for the readers to leave, and a
// reader passes it before taking its shared lock, so that a stream of
// readers cannot keep a publisher waiting (flock has no fairness).
const publishTurnFile = ".gotrap.publish.turn"

// PublishingFile marks a publish in progress, inside the run directory:
// written first and removed last under the exclusive lock, so that a
// publisher killed half-way leaves it (Read then refuses) until the live
// run, started again, publishes whole.
const PublishingFile = ".gotrap.publishing"

// ErrPublishInterrupted is Read's error on a run whose last publish was
// interrupted (its publisher died half-way).
var ErrPublishInterrupted = errors.New("rundir: the live run's last commit was interrupted while it was published")

// A Gate is a held publish lock: exclusive for a live run publishing a
// commit (its tables, measurement parts and varmetric replaced
// together), shared for a reader (gotrap query, gotrap report) while it
// reads. So a reader sees the catalogue of one commit or of the next,
// never a mix. A batch run does not take it: its catalogue appears when
// it ends. Release it with Close.
type Gate struct {
	f   *os.File
	run string // set by Publish: Done removes its mark
}

// Publish takes the exclusive publish lock of run, waiting for readers,
// and marks the publish (PublishingFile); Done removes the mark.
func Publish(run string) (*Gate, error) {
	turn, err := gate(run, publishTurnFile, syscall.LOCK_EX)
	if err != nil {
		return nil, err
	}
	g, err := gate(run, PublishLockFile, syscall.LOCK_EX)
	turn.Close()
	if err != nil {
		return nil, err
	}
	if err := WriteFile(filepath.Join(run, PublishingFile), []byte("publishing\n")); err != nil {
		g.Close()
		return nil, err
	}
	g.run = run
	return g, nil
}

// Done marks the publish complete (removes PublishingFile) and releases
// the lock. A Gate closed without Done leaves the mark.
func (g *Gate) Done() error {
	if g.run != "" {
		if err := os.Remove(filepath.Join(g.run, PublishingFile)); err != nil && !errors.Is(err, os.ErrNotExist) {
			g.Close()
			return fmt.Errorf("rundir: %w", err)
		}
	}
	return g.Close()
}

// Read takes the shared publish lock of run, waiting for a publish in
// progress. It creates nothing: a run without the lock file (no live run
// ever published there), a run directory that cannot be written (a
// read-only copy) or a file system without locks gives a Gate that holds
// nothing.
//
// When the last publish was interrupted, Read fails with
// ErrPublishInterrupted: the catalogue on disk mixes two commits until
// the live run is started again.
func Read(run string) (*Gate, error) {
	turn, err := gate(run, publishTurnFile, syscall.LOCK_SH|lockReader)
	if err != nil {
		return nil, err
	}
	turn.Close()
	g, err := gate(run, PublishLockFile, syscall.LOCK_SH)
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(filepath.Join(run, PublishingFile)); err == nil {
		g.Close()
		return nil, fmt.Errorf("%w: %s holds part of one commit and part of the next; start its gotrap watch again, which completes it", ErrPublishInterrupted, run)
	}
	return g, nil
}

// lockReader marks a reader's turnstile pass (gate): the file is opened
// read-only and not created, and the lock taken is exclusive (a pass
// waits for a publisher that holds the turnstile).
const lockReader = 1 << 30

// gate opens RUN/name and flocks it: how is LOCK_EX (a publisher: the
// file is created), LOCK_SH (a reader) or LOCK_SH|lockReader (a reader's
// turnstile pass, taken as LOCK_EX). A reader's file that does not exist
// or cannot be opened gives a Gate that holds nothing.
func gate(run, name string, how int) (*Gate, error) {
	path := filepath.Join(run, name)
	reader := how&syscall.LOCK_SH != 0
	flag := os.O_CREATE | os.O_RDWR
	if reader {
		flag = os.O_RDONLY
	}
	if how&lockReader != 0 {
		how = syscall.LOCK_EX
	}
	f, err := os.OpenFile(path, flag, 0o644)
	if err != nil {
		if reader && (errors.Is(err, os.ErrNotExist) || errors.Is(err, os.ErrPermission)) {
			return &Gate{}, nil
		}
		return nil, fmt.Errorf("rundir: publish lock %s: %w", path, err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.ENOLCK) {
			return &Gate{}, nil
		}
		return nil, fmt.Errorf("rundir: publish lock %s: %w", path, err)
	}
	return &Gate{f: f}, nil
}

// Close releases the lock.
func (g *Gate) Close() error {
	if g == nil || g.f == nil {
		return nil
	}
	err := g.f.Close() // closing the only descriptor releases the flock
	g.f = nil
	return err
}
