package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// LockFile is the lock's name inside a run directory.
const LockFile = ".gotrap.lock"

// ErrLocked reports a run directory held by another writer; the error's
// text names the holder.
var ErrLocked = errors.New("rundir: the run directory is in use")

// Holder is what a lock file records of the process that holds it.
type Holder struct {
	PID     int
	Host    string
	What    string // the command, e.g. "gotrap run"
	Started string // RFC 3339
}

func (h Holder) String() string {
	s := fmt.Sprintf("pid %d on host %s", h.PID, h.Host)
	if h.What != "" {
		s = h.What + " (" + s + ")"
	}
	if h.Started != "" {
		s += " since " + h.Started
	}
	return s
}

// A Lock is a held lock on a run directory. Release it with Unlock.
type Lock struct {
	f    *os.File
	path string
	// Stale is the holder recorded by a lock file whose process had
	// ended (the kernel had released its flock), nil when the file was
	// new or empty.
	Stale *Holder
	// Unsupported is set when the file system cannot lock (flock
	// returned ENOTSUP, ENOSYS or ENOLCK): the directory is then not
	// protected against a second writer.
	Unsupported bool
}

// Acquire locks dir (created when missing) for the command what, without
// waiting: when another process holds it, the error wraps ErrLocked and
// names that process.
func Acquire(dir, what string) (*Lock, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("rundir: %w", err)
	}
	path := filepath.Join(dir, LockFile)
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("rundir: could not open the lock %s: %w", path, err)
	}
	l := &Lock{f: f, path: path}
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	switch {
	case errors.Is(err, syscall.EWOULDBLOCK):
		// The holder writes its record just after it locks: a writer
		// that comes in between waits for it, briefly.
		h, _ := readHolder(f)
		for i := 0; h == nil && i < 40; i++ {
			time.Sleep(5 * time.Millisecond)
			h, _ = readHolder(f)
		}
		f.Close()
		if h == nil {
			return nil, fmt.Errorf("%w: %s is locked by another process (%s)", ErrLocked, dir, path)
		}
		return nil, fmt.Errorf("%w: %s is locked by %s; wait for it to finish or stop it", ErrLocked, dir, h)
	case errors.Is(err, syscall.ENOTSUP) || errors.Is(err, syscall.ENOSYS) || errors.Is(err, syscall.ENOLCK):
		l.Unsupported = true
	case err != nil:
		f.Close()
		return nil, fmt.Errorf("rundir: could not lock %s: %w", path, err)
	}
	if h, _ := readHolder(f); h != nil {
		l.Stale = h
	}
	host, _ := os.Hostname()
	rec := fmt.Sprintf("pid %d\nhost %s\nwhat %s\nstarted %s\n", os.Getpid(), host, what, time.Now().UTC().Format(time.RFC3339))
	// Record first, then cut what an older, longer record left: the
	// file is never empty while we hold it.
	_, err = f.WriteAt([]byte(rec), 0)
	if err == nil {
		err = f.Truncate(int64(len(rec)))
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rundir: could not write the lock %s: %w", path, err)
	}
	return l, nil
}

// readHolder parses the record of a lock file (nil when empty).
func readHolder(f *os.File) (*Holder, error) {
	b := make([]byte, 4096)
	n, err := f.ReadAt(b, 0)
	if n == 0 {
		return nil, err
	}
	h := &Holder{}
	for _, line := range strings.Split(string(b[:n]), "\n") {
		k, v, _ := strings.Cut(line, " ")
		switch k {
		case "pid":
			h.PID, _ = strconv.Atoi(v)
		case "host":
			h.Host = v
		case "what":
			h.What = v
		case "started":
			h.Started = v
		}
	}
	if h.PID == 0 {
		return nil, nil
	}
	return h, nil
}

// Unlock releases the lock. The lock file stays (an empty one): removing
// it could let a third process lock a new file while a second still waits
// on the old one.
func (l *Lock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Truncate(0)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	l.f = nil
	if err != nil {
		return fmt.Errorf("rundir: %s: %w", l.path, err)
	}
	return nil
}
