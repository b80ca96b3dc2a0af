package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
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

// TestSlurmChecksInputs: submitting refuses INPUTs that give no images
// (an empty directory, an @LIST naming a missing file, a glob matching
// nothing), naming each, and calls no Slurm command; writing the script
// only warns.
func TestSlurmChecksInputs(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBinary(t)
	img := filepath.Join(dir, "a.fits")
	os.WriteFile(img, nil, 0o644)
	empty := filepath.Join(dir, "empty")
	os.MkdirAll(empty, 0o755)
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("a.fits\ngone.fits\n"), 0o644)
	glob := filepath.Join(dir, "none-*.fits")
	inputs := []string{img, empty, "@" + list, glob}
	t.Run("submit refused", func(t *testing.T) {
		r, calls := fakeSlurmRunner(t, "")
		useFakeSlurm(t, r)
		var stdout, stderr bytes.Buffer
		args := append([]string{"slurm", "--gotrap", bin, "--mem", "8G", "--time", "1:00:00", "--out", filepath.Join(dir, "r1"), "--submit"}, inputs...)
		if code := run(args, &stdout, &stderr); code != 2 {
			t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
		}
		for _, want := range []string{"not submitting", "3 INPUT(s)", empty + ": pipeline: no input images", "gone.fits", glob + " (no match)"} {
			if !strings.Contains(stderr.String(), want) {
				t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
			}
		}
		if strings.Contains(stderr.String(), img+":") {
			t.Errorf("stderr names the good input %s:\n%s", img, stderr.String())
		}
		if len(*calls) != 0 {
			t.Errorf("Slurm commands run: %q", *calls)
		}
	})
	t.Run("script warns", func(t *testing.T) {
		var stdout, stderr bytes.Buffer
		args := append([]string{"slurm", "--gotrap", bin, "--mem", "8G", "--time", "1:00:00", "--out", filepath.Join(dir, "r2")}, inputs...)
		if code := run(args, &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "warning: 3 INPUT(s) give no images now") {
			t.Errorf("no warning naming the inputs:\n%s", stderr.String())
		}
	})
}

// TestSlurmLimitWarnings: a job without --time or without --mem and
// --mem-per-cpu gets a warning for each, and none with both.
func TestSlurmLimitWarnings(t *testing.T) {
	dir := t.TempDir()
	bin := fakeBinary(t)
	img := filepath.Join(dir, "a.fits")
	os.WriteFile(img, nil, 0o644)
	cases := []struct {
		name         string
		flags        []string
		time, memory bool // warnings expected
	}{
		{"neither", nil, true, true},
		{"time only", []string{"--time", "1:00:00"}, false, true},
		{"mem only", []string{"--mem", "8G"}, true, false},
		{"mem per cpu", []string{"--time", "1:00:00", "--mem-per-cpu", "2G"}, false, false},
		{"both", []string{"--time", "1:00:00", "--mem", "8G"}, false, false},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"slurm", "--gotrap", bin, "--out", filepath.Join(dir, fmt.Sprint("r", i))}, c.flags...)
			if code := run(append(args, img), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s", code, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "warning: no --time"); got != c.time {
				t.Errorf("--time warning %v, want %v:\n%s", got, c.time, stderr.String())
			}
			if got := strings.Contains(stderr.String(), "warning: no --mem"); got != c.memory {
				t.Errorf("--mem warning %v, want %v:\n%s", got, c.memory, stderr.String())
			}
		})
	}
}

// TestSlurmWaitPrintsSummary: --wait on a run job that completes ends
// with the run's summary (RUN/logs/summary.txt) on stdout.
func TestSlurmWaitPrintsSummary(t *testing.T) {
	dir := t.TempDir()
	img := filepath.Join(dir, "a.fits")
	os.WriteFile(img, nil, 0o644)
	run1 := filepath.Join(dir, "run1")
	log := filepath.Join(run1, "logs", "slurm-7.out")
	r, _ := fakeSlurmRunner(t, "JobId=7 JobState=COMPLETED Reason=None ExitCode=0:0 StdOut="+log+"\n")
	useFakeSlurm(t, r)
	// What the job's gotrap run would have left.
	summary := "images        1 in 1 timesteps, 1 bands, 1 sky regions\nnew sources   0 (0 likely transients, type 1)\n"
	os.MkdirAll(filepath.Dir(log), 0o755)
	os.WriteFile(filepath.Join(run1, "logs", "summary.txt"), []byte(summary), 0o644)
	var stdout, stderr bytes.Buffer
	code := run([]string{"slurm", "--gotrap", fakeBinary(t), "--time", "1:00:00", "--mem", "8G", "--out", run1, "--wait", img}, &stdout, &stderr)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if want := "7\n" + summary; stdout.String() != want {
		t.Errorf("stdout %q, want the job id then the summary %q", stdout.String(), want)
	}
}
