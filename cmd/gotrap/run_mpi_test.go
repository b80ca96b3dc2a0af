package main

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/pipeline/pipetest"
	"gotrap/internal/rundir"
)

// The tests below run "gotrap run" under a real mpirun: they
// build the binary with -tags mpi into a temporary directory, and skip
// only when mpirun is not installed.

var (
	mpiBinOnce sync.Once
	mpiBinDir  string
	mpiBin     string
	mpiBinErr  error
)

// mpiGotrap returns the path of gotrap built with -tags mpi.
func mpiGotrap(t *testing.T) (mpirun, bin string) {
	t.Helper()
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev); skipping gotrap run under MPI")
	}
	mpiBinOnce.Do(func() {
		mpiBinDir, mpiBinErr = os.MkdirTemp("", "gotrap-mpi-")
		if mpiBinErr != nil {
			return
		}
		mpiBin = filepath.Join(mpiBinDir, "gotrap")
		gobin, err := exec.LookPath("go")
		if err != nil {
			gobin = filepath.Join(runtime.GOROOT(), "bin", "go")
		}
		out, err := exec.Command(gobin, "build", "-tags", "mpi", "-o", mpiBin, ".").CombinedOutput()
		if err != nil {
			mpiBinErr = fmt.Errorf("go build -tags mpi: %v\n%s", err, out)
		}
	})
	if mpiBinErr != nil {
		t.Fatal(mpiBinErr)
	}
	return mpirun, mpiBin
}

// mpirunCmd is "mpirun -np N --oversubscribe --bind-to none BIN ARGS..."
// with the variables that root and an oversubscribed node need.
func mpirunCmd(ctx context.Context, mpirun, bin string, np int, args ...string) *exec.Cmd {
	a := append([]string{"-np", strconv.Itoa(np), "--oversubscribe", "--bind-to", "none", bin}, args...)
	cmd := exec.CommandContext(ctx, mpirun, a...)
	cmd.Env = append(os.Environ(), "OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
		"OMPI_MCA_mpi_yield_when_idle=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// TestRunUnderMPI: "mpirun -np N gotrap run" (N = 1, 2, and 4 without
// -short) gives the catalogue of the in-process single rank on a field
// across RA 0/360: every table equal row for row (measurements sorted by
// id), varmetric (DuckDB) within 1e-12 relative.
func TestRunUnderMPI(t *testing.T) {
	mpirun, bin := mpiGotrap(t)
	d := t.TempDir()
	data := filepath.Join(d, "seam")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "3", "--set", "centre_ra=0.1",
		"--set", "centre_dec=20", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	images := filepath.Join(data, "images")
	ref := filepath.Join(d, "ref")
	if code, _, stderr := runCmd(t, "run", "--quiet", "--monitor", "0.02,20.1", "--out", ref, images); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	want := readSorted(t, ref)
	nps := []int{1, 2, 4}
	if testing.Short() {
		nps = []int{2}
	}
	for _, np := range nps {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
			defer cancel()
			out := filepath.Join(d, fmt.Sprintf("np%d", np))
			var stdout, stderr bytes.Buffer
			cmd := mpirunCmd(ctx, mpirun, bin, np, "run", "--quiet", "--monitor", "0.02,20.1", "--out", out, images)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("mpirun: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			// Rank 0 alone prints the summary.
			if n := strings.Count(stdout.String(), "catalogue in "); n != 1 {
				t.Errorf("%d summaries printed, want 1:\n%s", n, stdout.String())
			}
			if np > 1 && !strings.Contains(stdout.String(), fmt.Sprintf("ranks         %d", np)) {
				t.Errorf("summary lacks the ranks line:\n%s", stdout.String())
			}
			for r := range np {
				if _, err := os.Stat(rundir.PartPath(out, catalog.TableMeasurements, r, "blind", 0)); err != nil {
					t.Errorf("rank %d wrote no measurement part: %v", r, err)
				}
			}
			got := readSorted(t, out)
			compareCatalogues(t, want, got)
		})
	}
}

type sortedRun struct {
	c  *pipetest.Catalogue
	vm []catalog.VarMetric
}

func readSorted(t *testing.T, run string) sortedRun {
	t.Helper()
	c := pipetest.ReadCatalogue(t, run)
	slices.SortFunc(c.Measurements, func(a, b catalog.Measurement) int { return cmp.Compare(a.ID, b.ID) })
	f, err := os.Open(rundir.TablePath(run, catalog.TableVarMetric))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vm, err := catalog.Read[catalog.VarMetric](f)
	if err != nil {
		t.Fatal(err)
	}
	return sortedRun{c: c, vm: vm}
}

// compareCatalogues compares the tables written by the pipeline exactly
// and varmetric with floats within 1e-12 relative (DuckDB's aggregates
// may sum in a thread-dependent order).
func compareCatalogues(t *testing.T, a, b sortedRun) {
	t.Helper()
	va, vb := reflect.ValueOf(*a.c), reflect.ValueOf(*b.c)
	for i := range va.NumField() {
		name := va.Type().Field(i).Name
		fa, fb := va.Field(i), vb.Field(i)
		if fa.Len() != fb.Len() {
			t.Errorf("%s: %d rows vs %d", name, fa.Len(), fb.Len())
			continue
		}
		for r := range fa.Len() {
			if x, y := fmt.Sprintf("%+v", fa.Index(r).Interface()), fmt.Sprintf("%+v", fb.Index(r).Interface()); x != y {
				t.Errorf("%s row %d differs:\n%s\n%s", name, r, x, y)
				break
			}
		}
	}
	if len(a.vm) != len(b.vm) || len(a.vm) == 0 {
		t.Fatalf("varmetric: %d rows vs %d", len(a.vm), len(b.vm))
	}
	sortVM := func(v []catalog.VarMetric) {
		slices.SortFunc(v, func(x, y catalog.VarMetric) int {
			return cmp.Or(cmp.Compare(x.Runcat, y.Runcat), cmp.Compare(x.Band, y.Band))
		})
	}
	sortVM(a.vm)
	sortVM(b.vm)
	for r := range a.vm {
		x, y := reflect.ValueOf(a.vm[r]), reflect.ValueOf(b.vm[r])
		for k := range x.NumField() {
			fx, fy := x.Field(k), y.Field(k)
			if fx.Kind() == reflect.Float64 {
				p, q := fx.Float(), fy.Float()
				if !(p == q || math.IsNaN(p) && math.IsNaN(q) || math.Abs(p-q) <= 1e-12*math.Max(math.Abs(p), math.Abs(q))) {
					t.Errorf("varmetric row %d %s: %v vs %v", r, x.Type().Field(k).Name, p, q)
				}
				continue
			}
			if fmt.Sprint(fx.Interface()) != fmt.Sprint(fy.Interface()) {
				t.Errorf("varmetric row %d %s: %v vs %v", r, x.Type().Field(k).Name, fx.Interface(), fy.Interface())
			}
		}
	}
}

// TestRunMPIKilledRank: SIGKILL one rank of "mpirun -np 2 gotrap run"
// while it extracts; mpirun must exit non-zero within 10 s with a message.
func TestRunMPIKilledRank(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates and runs a larger data set")
	}
	mpirun, bin := mpiGotrap(t)
	d := t.TempDir()
	data := filepath.Join(d, "big")
	// 120 images of 512x512: long enough (seconds) to kill a rank midway.
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "5", "--set", "timesteps=60",
		"--set", "size=512", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	out := filepath.Join(d, "run")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := mpirunCmd(ctx, mpirun, bin, 2, "run", "--quiet", "--out", out, filepath.Join(data, "images"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Rank 1 logs its pid first thing; kill it once extraction started.
	pidRE := regexp.MustCompile(`rank 1 of 2 \(pid (\d+)\)`)
	log1 := filepath.Join(out, "logs", "rank-0001.log")
	var pid int
	for pid == 0 {
		select {
		case err := <-done:
			t.Fatalf("mpirun ended (%v) before rank 1 could be killed\nstderr:\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		b, _ := os.ReadFile(log1)
		if m := pidRE.FindSubmatch(b); m != nil && bytes.Contains(b, []byte("stage timesteps: start")) {
			pid, _ = strconv.Atoi(string(m[1]))
		}
	}
	killed := time.Now()
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		t.Fatalf("mpirun still running 30 s after rank 1 was killed: a rank hangs\nstderr:\n%s", stderr.String())
	}
	took := time.Since(killed)
	t.Logf("mpirun exited (%v) %v after SIGKILL of rank 1; stderr:\n%s", err, took.Round(time.Millisecond), stderr.String())
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Errorf("mpirun: %v, want a non-zero exit", err)
	}
	if took > 10*time.Second {
		t.Errorf("mpirun took %v to stop, want at most 10 s", took)
	}
	if !strings.Contains(stderr.String(), "signal 9") && !strings.Contains(stderr.String(), "Killed") {
		t.Errorf("mpirun's message does not say a rank was killed:\n%s", stderr.String())
	}
	if _, err := os.Stat(rundir.TablePath(out, catalog.TableRuncat)); err == nil {
		t.Error("the killed job wrote a runcat table")
	}
}
