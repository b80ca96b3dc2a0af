package rundir

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestPublishGate: a reader waits while a commit is published and goes
// on when it ends; a run no live run published in gets a gate that holds
// nothing, and the reader creates no file.
func TestPublishGate(t *testing.T) {
	run := t.TempDir()
	g, err := Read(run)
	if err != nil {
		t.Fatal(err)
	}
	g.Close()
	if _, err := os.Stat(filepath.Join(run, PublishLockFile)); !os.IsNotExist(err) {
		t.Fatalf("a reader created the publish lock (%v)", err)
	}
	pub, err := Publish(run)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan error, 1)
	go func() {
		r, err := Read(run)
		if err == nil {
			r.Close()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("a reader went on during a publish (%v)", err)
	case <-time.After(100 * time.Millisecond):
		// Still waiting, as it should; a broken gate would have let it
		// through at once.
	}
	if err := pub.Done(); err != nil {
		t.Fatal(err)
	}
	if err := <-got; err != nil {
		t.Fatalf("reader after the publish: %v", err)
	}
	// Readers share: two at once.
	a, err := Read(run)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Read(run)
	if err != nil {
		t.Fatal(err)
	}
	a.Close()
	b.Close()
	// A publisher that dies half-way (closes without Done) leaves its
	// mark: readers are refused until a publish completes.
	pub, err = Publish(run)
	if err != nil {
		t.Fatal(err)
	}
	pub.Close()
	if _, err := Read(run); !errors.Is(err, ErrPublishInterrupted) {
		t.Fatalf("read after an interrupted publish: error %v, want %v", err, ErrPublishInterrupted)
	}
	pub, err = Publish(run)
	if err != nil {
		t.Fatal(err)
	}
	if err := pub.Done(); err != nil {
		t.Fatal(err)
	}
	if g, err := Read(run); err != nil {
		t.Fatalf("read after a complete publish: %v", err)
	} else {
		g.Close()
	}
}

// TestPublishNotStarved: readers that read back to back do not keep a
// publisher waiting (the turnstile): it publishes while they go on.
func TestPublishNotStarved(t *testing.T) {
	run := t.TempDir()
	g, err := Publish(run)
	if err != nil {
		t.Fatal(err)
	}
	g.Done()
	stop := make(chan struct{})
	defer close(stop)
	for range 3 {
		go func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				if r, err := Read(run); err == nil {
					time.Sleep(time.Millisecond) // a short query
					r.Close()
				}
			}
		}()
	}
	time.Sleep(20 * time.Millisecond)
	done := make(chan error, 1)
	go func() {
		for range 20 {
			g, err := Publish(run)
			if err != nil {
				done <- err
				return
			}
			g.Done()
		}
		done <- nil
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		// 20 publishes take milliseconds; without the turnstile the
		// readers' shared locks overlap and a publisher can wait forever.
		t.Fatal("20 publishes did not get through readers reading back to back in 30 s")
	}
}
