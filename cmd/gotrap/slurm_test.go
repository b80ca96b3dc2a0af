package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/slurm"
)

// fakeBinary writes an empty file to stand for the gotrap the job runs.
func fakeBinary(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "gotrap-mpi")
	if err := os.WriteFile(p, nil, 0o755); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestSlurmDryRun(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.fits")
	if err := os.WriteFile(img, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bin := fakeBinary(t)
	t.Chdir(dir)
	var stdout, stderr bytes.Buffer
	code := run([]string{"slurm", "--ntasks", "4", "--cpus-per-task", "2", "--mem", "8G", "--time", "1:00:00",
		"--partition", "debug", "--requeue", "--signal", "TERM@120", "--module", "openmpi",
		"--env", "OMPI_ALLOW_RUN_AS_ROOT=1", "--gotrap", bin, "--out", "run1", "a.fits", "imgs/*.fits",
		"--arg=--quiet"}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	run1 := filepath.Join(dir, "run1")
	path := filepath.Join(run1, "gotrap.sbatch")
	if got := strings.TrimSpace(stdout.String()); got != path {
		t.Errorf("stdout %q, want the script path %q", got, path)
	}
	if st, err := os.Stat(filepath.Join(run1, "logs")); err != nil || !st.IsDir() {
		t.Errorf("RUN/logs not created: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	for _, want := range []string{
		"#SBATCH --job-name=gotrap-run1\n",
		"#SBATCH --ntasks=4\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --mem=8G\n",
		"#SBATCH --time=1:00:00\n", "#SBATCH --partition=debug\n", "#SBATCH --requeue\n",
		"#SBATCH --signal=TERM@120\n",
		"#SBATCH --output=" + filepath.Join(run1, "logs", "slurm-%j.out") + "\n",
		"module load openmpi\n", "export OMPI_ALLOW_RUN_AS_ROOT=1\n",
		"srun --mpi=pmix --kill-on-bad-exit=1 --cpus-per-task=2 " + bin + " run --out " + run1 +
			" --resume --quiet " + img + " '" + filepath.Join(dir, "imgs/*.fits") + "'\n",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
}

func TestSlurmUsageErrors(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBinary(t)
	img := filepath.Join(dir, "a.fits")
	os.WriteFile(img, nil, 0o644)
	done := filepath.Join(dir, "done")
	os.MkdirAll(done, 0o755)
	os.WriteFile(filepath.Join(done, "manifest.json"), []byte("{}"), 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{img}, "--out RUN is required"},
		{"no inputs", []string{"--out", dir + "/r"}, "no INPUT"},
		{"missing input", []string{"--out", dir + "/r", dir + "/nope.fits"}, "nope.fits"},
		{"bad mem", []string{"--out", dir + "/r", "--mem", "8GB", img}, "--mem"},
		{"bad launcher", []string{"--out", dir + "/r", "--launcher", "aprun", img}, "launcher"},
		{"dry and submit", []string{"--out", dir + "/r", "--dry-run", "--submit", img}, "excludes"},
		{"existing run", []string{"--out", done, img}, "--resume"},
		{"subcommand", []string{"--out", dir + "/r", "--subcommand", "rm", img}, "subcommand"},
		{"mpicheck inputs", []string{"--out", dir + "/r", "--subcommand", "mpicheck", img}, "no INPUT"},
		{"binary", []string{"--out", dir + "/r", "--gotrap", dir + "/none", img}, "not a file"},
	}
	for _, c := range cases {
		var stdout, stderr bytes.Buffer
		args := append([]string{"slurm", "--gotrap", bin}, c.args...)
		if code := run(args, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), c.want) {
			t.Errorf("%s: exit %d, stderr %q; want 2 and %q", c.name, code, stderr.String(), c.want)
		}
	}
}

// fakeSlurmRunner answers sbatch with job 7 and the queries with a job
// that runs, then ends as final (a scontrol line).
func fakeSlurmRunner(t *testing.T, scontrolFinal string) (slurm.RunnerFunc, *[]string) {
	var calls []string
	polls := 0
	return func(ctx context.Context, name string, args ...string) ([]byte, error) {
		calls = append(calls, name+" "+strings.Join(args, " "))
		switch name {
		case "sbatch":
			return []byte("7\n"), nil
		case "squeue":
			polls++
			if polls < 2 {
				return []byte("7|RUNNING|None\n"), nil
			}
			return []byte("7|FAILED|NonZeroExitCode\n"), nil
		case "scontrol":
			return []byte(scontrolFinal), nil
		}
		return nil, &slurm.CommandError{Name: name, ExitCode: 1, Stderr: "Slurm accounting storage is disabled"}
	}, &calls
}

func useFakeSlurm(t *testing.T, r slurm.Runner) {
	old := slurmClient
	slurmClient = func() *slurm.Client {
		return &slurm.Client{Runner: r, MinPoll: 1, MaxPoll: 2}
	}
	t.Cleanup(func() { slurmClient = old })
}

func TestSlurmSubmitWaitFailure(t *testing.T) {
	dir := t.TempDir()
	run1 := filepath.Join(dir, "run1")
	log := filepath.Join(run1, "logs", "slurm-7.out")
	r, calls := fakeSlurmRunner(t, "JobId=7 JobState=FAILED Reason=NonZeroExitCode ExitCode=3:0 StdOut="+log+"\n")
	useFakeSlurm(t, r)
	// The job's log, as Slurm would have written it.
	os.MkdirAll(filepath.Dir(log), 0o755)
	os.WriteFile(log, []byte("gotrap job 7\nrank 1: image 12: cannot read\n"), 0o644)

	var stdout, stderr bytes.Buffer
	code := run([]string{"slurm", "--gotrap", fakeBinary(t), "--subcommand", "mpicheck", "--out", run1, "--wait"}, &stdout, &stderr)
	if code != 3 {
		t.Fatalf("exit %d, want the job's exit code 3; stderr:\n%s", code, stderr.String())
	}
	if got := strings.TrimSpace(stdout.String()); got != "7" {
		t.Errorf("stdout %q, want the job id", got)
	}
	for _, want := range []string{"job 7 RUNNING", "job 7 FAILED", "exit code 3", "image 12: cannot read"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if want := "sbatch --parsable " + filepath.Join(run1, "gotrap.sbatch"); (*calls)[0] != want {
		t.Errorf("first command %q, want %q", (*calls)[0], want)
	}
}

func TestSlurmSubmitOnly(t *testing.T) {
	r, calls := fakeSlurmRunner(t, "")
	useFakeSlurm(t, r)
	var stdout, stderr bytes.Buffer
	code := run([]string{"slurm", "--gotrap", fakeBinary(t), "--subcommand", "mpicheck", "--out", t.TempDir(), "--submit"}, &stdout, &stderr)
	if code != 0 || strings.TrimSpace(stdout.String()) != "7" || len(*calls) != 1 {
		t.Errorf("exit %d, stdout %q, calls %q; want 0, the id, sbatch only", code, stdout.String(), *calls)
	}
}

func TestSlurmSubmitRejected(t *testing.T) {
	useFakeSlurm(t, slurm.RunnerFunc(func(ctx context.Context, name string, args ...string) ([]byte, error) {
		return nil, &slurm.CommandError{Name: name, Args: args, ExitCode: 1, Err: errors.New("exit status 1"),
			Stderr: "sbatch: error: Batch job submission failed: Invalid partition name specified"}
	}))
	var stdout, stderr bytes.Buffer
	code := run([]string{"slurm", "--gotrap", fakeBinary(t), "--subcommand", "mpicheck", "--partition", "gpu",
		"--out", t.TempDir(), "--submit"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "Invalid partition name") {
		t.Errorf("exit %d, stderr %q; want 1 and sbatch's message", code, stderr.String())
	}
}

func TestSlurmHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"slurm", "--help"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"--dry-run", "--submit", "--wait", "--ntasks", "--cpus-per-task", "--mem", "--time",
		"--partition", "--account", "--qos", "--mail-type", "--mail-user", "--module", "--env", "--launcher", "srun --mpi=pmix"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("help lacks %q", want)
		}
	}
}

func TestMPICheckInProcess(t *testing.T) {
	out := t.TempDir()
	var stdout, stderr bytes.Buffer
	if code := run([]string{"mpicheck", "--ranks", "3", "--iterations", "10", "--out", out}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	res := readMPICheck(t, filepath.Join(out, "mpicheck.json"))
	if res.Engine != "in-process" || res.Size != 3 || len(res.Ranks) != 3 || !res.AllreduceOK || !res.AllgathervOK {
		t.Errorf("result %+v", res)
	}
	if !strings.Contains(stdout.String(), "allreduce ok, allgatherv ok") {
		t.Errorf("stdout:\n%s", stdout.String())
	}
}

func readMPICheck(t *testing.T, path string) mpiCheckResult {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r mpiCheckResult
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return r
}
