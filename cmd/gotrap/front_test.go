package main

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"gotrap/internal/testutil"
)

// The front build (make build's bin/gotrap; front.go, delegate.go) starts
// fast because it is a static pure-Go binary without DuckDB and MPI. The
// tests below build it as the Makefile does and check that property on
// the binary itself, then that it hands the other commands to gotrap-full.

var (
	frontOnce sync.Once
	frontBin  string
	frontErr  error
)

// frontGotrap returns the path of gotrap built as make build builds
// bin/gotrap: CGO_ENABLED=0 go build -tags front.
func frontGotrap(t *testing.T) string {
	t.Helper()
	frontOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gotrap-front-")
		if err != nil {
			frontErr = err
			return
		}
		frontBin = filepath.Join(dir, "gotrap")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		cmd := exec.Command(gobin, "build", "-tags", "front", "-o", frontBin, ".")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			frontErr = fmt.Errorf("CGO_ENABLED=0 go build -tags front: %v\n%s", err, out)
		}
	})
	if frontErr != nil {
		t.Fatal(frontErr)
	}
	return frontBin
}

// frontIn copies the front binary into dir (a fresh directory, so that
// each test chooses what lies beside it) and returns its path.
func frontIn(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(frontGotrap(t))
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "gotrap")
	if err := os.WriteFile(p, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestFullDelegatesNothing: the default build (gotrap-full, the tests)
// runs every command itself: it has no delegate (else it would exec
// itself for an unknown command), the top-level help lists the commands
// the front lacks, and an unknown command is a usage error here.
func TestFullDelegatesNothing(t *testing.T) {
	if delegate != nil {
		t.Fatal("the full build has a delegate: only front.go (-tags front) may set one")
	}
	code, out, _ := runCmd(t, "help")
	if code != 0 || !strings.Contains(out, "  query ") || !strings.Contains(out, "  run ") {
		t.Errorf("help: exit %d, want 0 and a list with query and run:\n%s", code, out)
	}
	code, _, errs := runCmd(t, "nonsuch")
	if code != 2 || !strings.Contains(errs, `unknown command "nonsuch"`) {
		t.Errorf("nonsuch: exit %d, stderr %q; want 2 and unknown command", code, errs)
	}
}

// TestFrontIsStatic: the front binary has no program interpreter and no
// shared library (so no libstdc++, no Open MPI, no dynamic loader at
// start-up), and links no DuckDB or MPI code: no symbol of catalog/duck,
// reduce/mpi, duckdb-go or DuckDB's C++ (the duckdb namespace) and none of
// MPI's C API. Nor any of Apache arrow-go (nor gRPC and protobuf, which
// its Parquet writer pulled in): importing it cost 18 ms of start-up, and
// extract's Parquet files come from catalog's own writer (catalog/internal/pq).
func TestFrontIsStatic(t *testing.T) {
	f, err := elf.Open(frontGotrap(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("the front has a program interpreter (PT_INTERP): it is dynamically linked")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the front imports shared libraries %v (err %v), want none", libs, err)
	}
	syms, err := f.Symbols()
	if err != nil {
		t.Fatalf("symbols: %v", err)
	}
	if len(syms) < 1000 {
		t.Fatalf("only %d symbols: the check below would prove nothing", len(syms))
	}
	var bad, arrow []string
	for _, s := range syms {
		n := s.Name
		if strings.HasPrefix(n, "gotrap/catalog/duck.") || strings.HasPrefix(n, "gotrap/reduce/mpi.") ||
			strings.Contains(n, "duckdb") || strings.HasPrefix(n, "MPI_") || strings.HasPrefix(n, "ompi_") {
			bad = append(bad, n)
		}
		if strings.Contains(n, "github.com/apache/") || strings.Contains(n, "google.golang.org/") {
			arrow = append(arrow, n)
		}
	}
	if len(bad) > 0 {
		t.Errorf("the front links %d DuckDB or MPI symbols, e.g. %q", len(bad), bad[:min(5, len(bad))])
	}
	if len(arrow) > 0 {
		t.Errorf("the front links %d symbols of Apache arrow-go, thrift, gRPC or protobuf, e.g. %q", len(arrow), arrow[:min(5, len(arrow))])
	}
	// The check sees Go symbols of gotrap's own packages: extract and
	// catalog's Parquet writer are there.
	for _, pkg := range []string{"gotrap/internal/extract.", "gotrap/catalog/internal/pq."} {
		found := false
		for _, s := range syms {
			if strings.HasPrefix(s.Name, pkg) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("no %s symbol in the front: its symbol table is not what the test expects", pkg)
		}
	}
}

// TestFrontRunsItsCommands: version and extract run in the front alone,
// with no gotrap-full anywhere, and extract writes its three outputs.
func TestFrontRunsItsCommands(t *testing.T) {
	dir := t.TempDir()
	bin := frontIn(t, dir)
	cmd := exec.Command(bin, "version")
	cmd.Env = append(os.Environ(), "PATH="+dir)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "gotrap ") {
		t.Fatalf("front version: %v: %q", err, out)
	}
	img := testutil.SharedFile(t, "GRB201006A_final_2min_srcs-t0002-image-pb_cutout.fits")
	res := filepath.Join(dir, "out")
	cmd = exec.Command(bin, "extract", "--out", res, img)
	cmd.Env = append(os.Environ(), "PATH="+dir)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "sources (ok)") {
		t.Fatalf("front extract: %v: %s", err, out)
	}
	for _, ext := range []string{".csv", ".parquet", ".reg"} {
		if _, err := os.Stat(filepath.Join(res, "GRB201006A_final_2min_srcs-t0002-image-pb_cutout"+ext)); err != nil {
			t.Errorf("front extract: %v", err)
		}
	}
}

// TestFrontDelegates: a command the front lacks, and the top-level help,
// replace the front's process by gotrap-full beside it (same process id,
// same arguments, stdout passed on); without gotrap-full the front says
// what is missing and exits 1. gotrap-full is a stand-in script here;
// TestFrontUnderMPI runs the real one.
func TestFrontDelegates(t *testing.T) {
	dir := t.TempDir()
	bin := frontIn(t, dir)
	cases := []struct {
		name string
		args []string
	}{
		{"query", []string{"query", "RUN", "transients", "--format", "table"}},
		{"help", []string{"help"}},
		{"help run", []string{"help", "run"}},
		{"no arguments", nil},
		{"unknown", []string{"nonsuch"}},
	}
	t.Run("missing", func(t *testing.T) {
		cmd := exec.Command(bin, "query", "RUN", "stats")
		cmd.Env = append(os.Environ(), "PATH="+dir)
		out, err := cmd.CombinedOutput()
		if cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 1 || !strings.Contains(string(out), `"query" is run by gotrap-full`) ||
			!strings.Contains(string(out), "neither beside") {
			t.Errorf("front query without gotrap-full: %v: %s; want exit status 1 naming gotrap-full", err, out)
		}
	})
	full := filepath.Join(dir, "gotrap-full")
	if err := os.WriteFile(full, []byte("#!/bin/sh\necho \"pid=$$ argv=$*\"\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out strings.Builder
			cmd := exec.Command(bin, c.args...)
			cmd.Stdout = &out
			if err := cmd.Run(); cmd.ProcessState == nil || cmd.ProcessState.ExitCode() != 3 {
				t.Fatalf("front %v: %v, want gotrap-full's exit status 3", c.args, err)
			}
			want := fmt.Sprintf("pid=%d argv=%s\n", cmd.Process.Pid, strings.Join(c.args, " "))
			if out.String() != want {
				t.Errorf("front %v printed %q, want %q (gotrap-full in the same process)", c.args, out.String(), want)
			}
		})
	}
}

// TestFrontUnderMPI: "mpirun -np 2 gotrap mpicheck" through the front
// joins the two ranks in one MPI world: the front becomes the real
// gotrap-full (built with -tags mpi) before MPI starts.
func TestFrontUnderMPI(t *testing.T) {
	mpirun, full := mpiGotrap(t)
	dir := t.TempDir()
	bin := frontIn(t, dir)
	if err := os.Symlink(full, filepath.Join(dir, "gotrap-full")); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "check")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := mpirunCmd(ctx, mpirun, bin, 2, "mpicheck", "--out", out, "--iterations", "10")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mpirun -np 2 front mpicheck: %v\n%s", err, b)
	}
	res := readMPICheck(t, filepath.Join(out, "mpicheck.json"))
	if res.Engine != "mpi" || res.Size != 2 || len(res.Ranks) != 2 || !res.AllreduceOK || !res.AllgathervOK {
		t.Errorf("mpicheck.json: %+v; want the mpi engine with 2 ranks and correct collectives", res)
	}
}
