package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestStartTrace: --trace writes a Go execution trace (its header names
// the format, "go 1.NN trace"); an empty name writes nothing; a file that
// cannot be created is an error naming the flag.
func TestStartTrace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace.out")
	stop, err := startTrace(path)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan int)
	go func() { done <- 1 }()
	<-done
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("go 1.")) || !bytes.Contains(b[:16], []byte("trace")) {
		t.Errorf("not an execution trace: %q", b[:min(len(b), 16)])
	}
	stop, err = startTrace("")
	if err != nil || stop() != nil {
		t.Errorf("no file: %v", err)
	}
	if _, err := startTrace(filepath.Join(t.TempDir(), "no", "such", "dir", "t.out")); err == nil || !bytes.Contains([]byte(err.Error()), []byte("--trace")) {
		t.Errorf("uncreatable file: error %v, want one naming --trace", err)
	}
}
