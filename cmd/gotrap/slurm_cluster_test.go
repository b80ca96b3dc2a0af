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

	"gotrap/catalog"
	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
	"gotrap/slurm"
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

// runPayload runs "gotrap run" on the images (the tiny preset) as one
// 2-rank MPI job (srun --mpi=pmix): its catalogue must equal want, the
// catalogue of a one-rank local run, and both ranks must have measured.
func runPayload(images string, want sortedRun) slurmPayload {
	return slurmPayload{
		args: func(t *testing.T) []string { return []string{"--arg=--quiet", images} },
		check: func(t *testing.T, run string) {
			for r := range 2 {
				if _, err := os.Stat(rundir.PartPath(run, catalog.TableMeasurements, r, "blind", 0)); err != nil {
					t.Errorf("rank %d wrote no measurement part: the job did not run 2 MPI ranks: %v", r, err)
				}
			}
			compareCatalogues(t, want, readSorted(t, run))
		},
	}
}

// slurmCluster is the cluster of a test: the MPI binary its jobs run.
type slurmCluster struct {
	bin string
}

// submit runs "gotrap slurm" with the test's common options (2 tasks, a
// 5-minute limit, root for Open MPI) and then extra, and returns its exit
// status, stdout and stderr.
func (c slurmCluster) submit(t *testing.T, dir string, extra ...string) (code int, stdout, stderr string) {
	t.Helper()
	args := append([]string{"slurm", "--ntasks", "2", "--time", "5", "--gotrap", c.bin, "--out", dir,
		"--env", "OMPI_ALLOW_RUN_AS_ROOT=1", "--env", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"}, extra...)
	var o, e bytes.Buffer
	code = run(args, &o, &e)
	return code, o.String(), e.String()
}

// runJob submits the payload with --wait, requires it to complete with
// its log in RUN/logs/ (with the script's header line), and checks it.
func (c slurmCluster) runJob(t *testing.T, run string, p slurmPayload, extra ...string) {
	t.Helper()
	start := time.Now()
	code, stdout, stderr := c.submit(t, run, append(append([]string{"--submit", "--wait", "--wait-timeout", "3m"}, extra...), p.args(t)...)...)
	t.Logf("job submitted and finished in %.1f s", time.Since(start).Seconds())
	if code != 0 {
		t.Fatalf("gotrap slurm exited %d\nstderr:\n%s\njob logs:\n%s", code, stderr, jobLogs(run))
	}
	// stdout: the job id, then (a run job) the run summary.
	id, rest, _ := strings.Cut(stdout, "\n")
	if sum, err := os.ReadFile(filepath.Join(run, "logs", "summary.txt")); err == nil && rest != string(sum) {
		t.Errorf("--wait printed after the job id\n%s\nwant the run summary\n%s", rest, sum)
	}
	log := filepath.Join(run, "logs", "slurm-"+id+".out")
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatalf("job log not in the run directory: %v\nstderr:\n%s\njob logs:\n%s", err, stderr, jobLogs(run))
	}
	if !strings.Contains(string(b), "gotrap job "+id+": 2 task(s)") {
		t.Errorf("%s lacks the script's header line:\n%s", log, b)
	}
	p.check(t, run)
	if t.Failed() {
		t.Logf("job log %s:\n%s", log, b)
	}
}

// TestSlurmCluster brings up the single-node cluster of
// scripts/slurm-cluster.sh and submits 2-task jobs with "gotrap slurm
// --submit --wait": mpicheck (MPI joins the tasks), "gotrap run" on the
// tiny preset (the catalogue of a one-rank local run), and a run that
// scancel -s TERM stops midway and a resubmission with --resume completes
// (again the local run's catalogue). Each job's log must land in
// RUN/logs. The cluster is stopped afterwards, also on failure, unless it
// was already up when the test began.
func TestSlurmCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Slurm cluster test starts daemons and takes about a minute")
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skip("not Debian: scripts/slurm-cluster.sh installs Slurm with apt")
	}
	if os.Geteuid() != 0 {
		t.Skip("not root: scripts/slurm-cluster.sh starts munged, slurmctld and slurmd as root")
	}
	root := testutil.ProjectRoot(t)
	lockClusterTest(t)

	// The MPI binary: the build of the MPI tests, made once per test
	// binary (mpiGotrap; it skips without mpirun).
	_, bin := mpiGotrap(t)
	start := time.Now()
	clusterUp(t, filepath.Join(root, "scripts", "slurm-cluster.sh"))
	t.Logf("cluster up in %.1f s", time.Since(start).Seconds())
	c := slurmCluster{bin: bin}
	d := t.TempDir()

	t.Run("mpicheck", func(t *testing.T) {
		c.runJob(t, filepath.Join(d, "mpicheck"), mpicheckPayload)
	})
	t.Run("run", func(t *testing.T) {
		data := filepath.Join(d, "tiny")
		if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "3", "--quiet", data); code != 0 {
			t.Fatalf("simulate: %s", stderr)
		}
		images := filepath.Join(data, "images")
		ref := filepath.Join(d, "tiny-ref")
		if code, _, stderr := runCmd(t, "run", "--quiet", "--out", ref, images); code != 0 {
			t.Fatalf("run: %s", stderr)
		}
		c.runJob(t, filepath.Join(d, "tiny-run"), runPayload(images, readSorted(t, ref)))
	})
	t.Run("sigterm-resume", func(t *testing.T) {
		c.sigtermResume(t, d)
	})
}

// sigtermResume submits a run of 80 images with one worker per rank,
// sends the job's tasks SIGTERM (scancel -s TERM) once the first image is
// staged, and requires the job to fail leaving a resumable run: a
// manifest, some but not all images staged. Resubmitting with --resume
// must complete it with the catalogue of a one-rank local run.
func (c slurmCluster) sigtermResume(t *testing.T, d string) {
	data := filepath.Join(d, "t40")
	if code, _, stderr := runCmd(t, "simulate", "--preset", "tiny", "--seed", "5", "--set", "timesteps=40",
		"--set", "size=512", "--quiet", data); code != 0 {
		t.Fatalf("simulate: %s", stderr)
	}
	images := filepath.Join(data, "images")
	ref := filepath.Join(d, "t40-ref")
	if code, _, stderr := runCmd(t, "run", "--quiet", "--out", ref, images); code != 0 {
		t.Fatalf("run: %s", stderr)
	}
	want := readSorted(t, ref)
	total := len(want.c.Images)

	run := filepath.Join(d, "t40-run")
	code, stdout, stderr := c.submit(t, run, "--submit", "--arg=--quiet", "--arg=--workers=1", images)
	if code != 0 {
		t.Fatalf("gotrap slurm --submit exited %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	client := &slurm.Client{}
	// Wait for the first staged image, then signal the job's tasks.
	atSignal := 0
	for atSignal == 0 {
		if st, err := client.Query(ctx, id); err == nil && st.State.Done() {
			t.Fatalf("job %s ended (%s) before an image was staged\n%s", id, st.State, jobLogs(run))
		}
		if ctx.Err() != nil {
			t.Fatalf("no image staged: %v\n%s", ctx.Err(), jobLogs(run))
		}
		time.Sleep(20 * time.Millisecond)
		atSignal, _ = staged(t, run)
	}
	if out, err := exec.CommandContext(ctx, "scancel", "--signal=TERM", id).CombinedOutput(); err != nil {
		t.Fatalf("scancel --signal=TERM %s: %v\n%s", id, err, out)
	}
	st, err := client.Wait(ctx, id, nil)
	if err != nil {
		t.Fatalf("waiting for job %s: %v", id, err)
	}
	n, _ := staged(t, run)
	t.Logf("job %s after SIGTERM: %s, exit status %d; %d images staged at the signal, %d at the end (of %d)",
		id, st.State, st.ExitStatus(), atSignal, n, total)
	if st.ExitStatus() == 0 {
		t.Fatalf("job %s completed although SIGTERM reached it with %d of %d images staged: the test needs a slower payload\n%s",
			id, atSignal, total, jobLogs(run))
	}
	if n >= total {
		t.Errorf("%d of %d images staged after SIGTERM: the job did not stop", n, total)
	}
	if _, err := os.Stat(filepath.Join(run, "manifest.json")); err != nil {
		t.Fatalf("no manifest after SIGTERM: %v", err)
	}
	if logs := jobLogs(run); !strings.Contains(logs, "interrupted (received terminated") || !strings.Contains(logs, "--resume --out "+run) {
		t.Errorf("the job log does not say that SIGTERM interrupted the run and how to resume:\n%s", logs)
	}
	if _, err := os.Stat(rundir.TablePath(run, catalog.TableRuncat)); err == nil {
		t.Error("the interrupted job wrote a runcat table")
	}
	// Without --resume gotrap slurm refuses the run directory.
	if code, _, stderr := c.submit(t, run, "--dry-run", images); code == 0 || !strings.Contains(stderr, "--resume") {
		t.Errorf("gotrap slurm on an interrupted RUN without --resume: exit %d, %s; want a refusal naming --resume", code, stderr)
	}
	c.runJob(t, run, runPayload(images, want), "--resume")
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
