//go:build mpi

package mpi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotrap/reduce"
	"gotrap/reduce/mpi"
	"gotrap/reduce/reducetest"
)

// The test binary plays two parts. Run normally, its tests start copies of
// itself under mpirun with GOTRAP_MPI_CHILD naming what the ranks do; in a
// child, TestMain does that and exits without running the tests.
const childEnv = "GOTRAP_MPI_CHILD"

const (
	checkSeed   = 20260501 // the same seed as the in-process test
	checkRounds = 4
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(childEnv); mode != "" {
		os.Exit(child(mode))
	}
	os.Exit(m.Run())
}

// child runs one rank of a job started by a test. Its stdout lines
// starting with RESULT, ABORTING or BENCH are read by the parent.
func child(mode string) int {
	err := mpi.Run(func(c reduce.Comm) error {
		switch mode {
		case "check":
			r, err := reducetest.Check(c, checkSeed, checkRounds)
			if err != nil {
				return err
			}
			fmt.Printf("RESULT %d %d %s\n", r.Rank, r.Size, hex.EncodeToString(r.Digest[:]))
			return nil
		case "abort", "error", "panic", "kill":
			if err := c.Barrier(); err != nil {
				return err
			}
			if c.Rank() == c.Size()-1 {
				fmt.Printf("ABORTING %d\n", time.Now().UnixNano())
				os.Stdout.Sync()
				switch mode {
				case "abort":
					c.Abort(errors.New("disk full"))
				case "error":
					return errors.New("disk full")
				case "panic":
					panic("disk full")
				case "kill":
					syscall.Kill(os.Getpid(), syscall.SIGKILL)
				}
			}
			// The others wait in a collective the failed rank never
			// enters: only the launcher can end them.
			return c.Barrier()
		case "bench-allreduce", "bench-alltoallv":
			return benchChild(c, mode)
		}
		return fmt.Errorf("unknown child mode %q", mode)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// mpirunArgs are the launcher flags of every test job: ranks may outnumber
// the cores (--oversubscribe), and each rank keeps every core instead of
// one (--bind-to none, or Go would see GOMAXPROCS=1).
func mpirun(t testing.TB, ctx context.Context, np int, mode string, extraEnv ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev); skipping the MPI engine tests")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, path, "-np", strconv.Itoa(np), "--oversubscribe", "--bind-to", "none",
		"-x", childEnv, exe)
	cmd.Env = append(os.Environ(),
		childEnv+"="+mode,
		"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1",
		// Ranks that busy-poll starve each other when oversubscribed.
		"OMPI_MCA_mpi_yield_when_idle=1",
	)
	cmd.Env = append(cmd.Env, extraEnv...)
	// Kill the whole launcher process group if the test times out.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	return cmd
}

// TestCollectivesUnderMPI runs reducetest.Check on 1, 2 and 4 MPI ranks
// and compares every rank's digest with the in-process engine's.
func TestCollectivesUnderMPI(t *testing.T) {
	for _, np := range []int{1, 2, 4} {
		t.Run(fmt.Sprintf("np=%d", np), func(t *testing.T) {
			want := make([]string, np)
			err := reduce.Run(np, func(c reduce.Comm) error {
				r, err := reducetest.Check(c, checkSeed, checkRounds)
				want[c.Rank()] = hex.EncodeToString(r.Digest[:])
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			// 60 s covers launching 4 ranks on 2 busy cores (about 1 s
			// here) many times over.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := mpirun(t, ctx, np, "check")
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			if err := cmd.Run(); err != nil {
				t.Fatalf("mpirun: %v\nstdout:\n%s\nstderr:\n%s", err, stdout.String(), stderr.String())
			}
			got := make([]string, np)
			sc := bufio.NewScanner(&stdout)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 4 || f[0] != "RESULT" {
					continue
				}
				r, _ := strconv.Atoi(f[1])
				s, _ := strconv.Atoi(f[2])
				if r < 0 || r >= np || s != np {
					t.Fatalf("bad result line %q", sc.Text())
				}
				got[r] = f[3]
			}
			for r := range np {
				if got[r] != want[r] {
					t.Errorf("rank %d: MPI digest %q, in-process %q", r, got[r], want[r])
				}
			}
		})
	}
}

// TestFailureStopsJob: a rank that aborts, returns an error, panics or is
// SIGKILLed while the others wait in a collective makes mpirun exit
// non-zero within 10 s, naming the rank and the reason where it had one.
func TestFailureStopsJob(t *testing.T) {
	if testing.Short() {
		t.Skip("launches several MPI jobs")
	}
	for _, mode := range []string{"abort", "error", "panic", "kill"} {
		t.Run(mode, func(t *testing.T) {
			const np = 3
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			cmd := mpirun(t, ctx, np, mode)
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			end := time.Now()
			if ctx.Err() != nil {
				t.Fatalf("mpirun still running after 60 s: a rank hangs\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() == 0 {
				t.Fatalf("mpirun: %v, want a non-zero exit\nstderr:\n%s", err, stderr.String())
			}
			var at int64
			for _, line := range strings.Split(stdout.String(), "\n") {
				if v, ok := strings.CutPrefix(line, "ABORTING "); ok {
					at, _ = strconv.ParseInt(v, 10, 64)
				}
			}
			if at == 0 {
				t.Fatalf("the failing rank never reported\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
			}
			took := end.Sub(time.Unix(0, at))
			t.Logf("mpirun exited %d, %v after the failure", ee.ExitCode(), took.Round(time.Millisecond))
			if took > 10*time.Second {
				t.Errorf("mpirun took %v after the failure, want at most 10 s", took)
			}
			if mode != "kill" {
				want := fmt.Sprintf("rank %d of %d aborts the job", np-1, np)
				if !strings.Contains(stderr.String(), want) || !strings.Contains(stderr.String(), "disk full") {
					t.Errorf("stderr lacks %q and the reason:\n%s", want, stderr.String())
				}
			}
		})
	}
}
