package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"gotrap/internal/testutil"
)

// slurmPayload is what the cluster test's job runs: the gotrap slurm
// arguments that choose it, and the check of what it wrote in the run
// directory.
type slurmPayload struct {
	args  func(t *testing.T) []string
	check func(t *testing.T, run string)
}

// mpicheckPayload runs "gotrap mpicheck" on every rank: MPI must join the
// two tasks into one world of size 2.
var mpicheckPayload = slurmPayload{
	args: func(t *testing.T) []string { return []string{"--subcommand", "mpicheck"} },
	check: func(t *testing.T, run string) {
		res := readMPICheck(t, filepath.Join(run, "mpicheck.json"))
		if res.Engine != "mpi" || res.Size != 2 || len(res.Ranks) != 2 || !res.AllreduceOK || !res.AllgathervOK {
			t.Errorf("mpicheck.json: %+v; want the mpi engine with 2 ranks and correct collectives", res)
		}
		if res.SlurmJobID == "" {
			t.Errorf("mpicheck.json has no Slurm job id: the ranks did not run under Slurm")
		}
		for i, r := range res.Ranks {
			if r.Rank != i || r.CPUs < 1 {
				t.Errorf("rank %d: %+v", i, r)
			}
		}
	},
}

// TestSlurmCluster brings up the single-node cluster of
// scripts/slurm-cluster.sh, submits a 2-task job with "gotrap slurm
// --submit --wait", waits for it and checks its output and that its log
// landed in RUN/logs. The cluster is stopped afterwards, also on failure,
// unless it was already up when the test began.
//
// The payload is one line below: when gotrap run takes MPI ranks, a
// payload that runs it on the tiny preset and compares the catalogue with
// a one-rank local run replaces mpicheckPayload.
func TestSlurmCluster(t *testing.T) {
	payload := mpicheckPayload

	if testing.Short() {
		t.Skip("-short: the Slurm cluster test starts daemons and takes about half a minute")
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skip("not Debian: scripts/slurm-cluster.sh installs Slurm with apt")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: scripts/slurm-cluster.sh starts munged, slurmctld and slurmd as root")
	}
	root := testutil.ProjectRoot(t)
	lockClusterTest(t)

	// Build the MPI binary while the cluster comes up.
	bin := filepath.Join(t.TempDir(), "gotrap-mpi")
	built := make(chan error, 1)
	var buildOut bytes.Buffer
	go func() {
		cmd := exec.Command("go", "build", "-tags", "mpi", "-o", bin, "./cmd/gotrap")
		cmd.Dir, cmd.Stdout, cmd.Stderr = root, &buildOut, &buildOut
		built <- cmd.Run()
	}()
	start := time.Now()
	clusterUp(t, filepath.Join(root, "scripts", "slurm-cluster.sh"))
	t.Logf("cluster up in %.1f s", time.Since(start).Seconds())
	if err := <-built; err != nil {
		t.Fatalf("go build -tags mpi: %v\n%s", err, buildOut.String())
	}

	run1 := filepath.Join(t.TempDir(), "run")
	var stdout, stderr bytes.Buffer
	args := append([]string{"slurm", "--submit", "--wait", "--wait-timeout", "3m", "--ntasks", "2", "--time", "5",
		"--gotrap", bin, "--out", run1,
		"--env", "OMPI_ALLOW_RUN_AS_ROOT=1", "--env", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"}, payload.args(t)...)
	start = time.Now()
	code := run(args, &stdout, &stderr)
	t.Logf("job submitted and finished in %.1f s", time.Since(start).Seconds())
	if code != 0 {
		t.Fatalf("gotrap slurm exited %d\nstderr:\n%s\njob logs:\n%s", code, stderr.String(), jobLogs(run1))
	}
	id := strings.TrimSpace(stdout.String())
	log := filepath.Join(run1, "logs", "slurm-"+id+".out")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("job log not in the run directory: %v\nstderr:\n%s\njob logs:\n%s", err, stderr.String(), jobLogs(run1))
	}
	if !strings.Contains(string(b), "gotrap job "+id+": 2 task(s)") {
		t.Errorf("%s lacks the script's header line:\n%s", log, b)
	}
	payload.check(t, run1)
	if t.Failed() {
		t.Logf("job log %s:\n%s", log, b)
	}
}

// lockClusterTest serialises the cluster tests of concurrent go test
// processes on this machine (they share one cluster).
func lockClusterTest(t *testing.T) {
	f, err := os.OpenFile("/run/lock/gotrap-slurm-test.lock", os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
}

// clusterUp starts the cluster and registers its teardown (when this test
// started it) and, on failure, a dump of the daemons' logs.
func clusterUp(t *testing.T, script string) {
	t.Helper()
	sh := func(arg string) (string, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, script, arg)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		// Should a daemon keep the output pipe open, do not wait for it.
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		return out.String(), err
	}
	_, notUp := sh("status")
	if notUp != nil {
		t.Cleanup(func() {
			if out, err := sh("down"); err != nil {
				t.Errorf("slurm-cluster.sh down: %v\n%s", err, out)
			}
		})
	} else {
		t.Log("the cluster was already up; it stays up")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("cluster logs:\n%s", clusterLogs())
		}
	})
	if out, err := sh("up"); err != nil {
		t.Fatalf("slurm-cluster.sh up: %v\n%s", err, out)
	}
}

// clusterLogs returns the tails of the daemons' logs.
func clusterLogs() string {
	dir := os.Getenv("SLURM_CLUSTER_DIR")
	if dir == "" {
		dir = "/var/lib/slurm/gotrap"
	}
	var b strings.Builder
	for _, f := range []string{filepath.Join(dir, "log", "slurmctld.log"), filepath.Join(dir, "log", "slurmd.log"), "/var/log/munge/munged.log"} {
		b.WriteString("--- " + f + "\n" + tailFile(f, 30))
	}
	return b.String()
}

// jobLogs returns the tails of the job logs in run/logs.
func jobLogs(run string) string {
	logs, _ := filepath.Glob(filepath.Join(run, "logs", "*"))
	if len(logs) == 0 {
		return "(none in " + filepath.Join(run, "logs") + ")\n"
	}
	var b strings.Builder
	for _, f := range logs {
		b.WriteString("--- " + f + "\n" + tailFile(f, 40))
	}
	return b.String()
}
