package slurm

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// goldenJobs are representative flag sets; each renders to
// testdata/NAME.golden.
var goldenJobs = []struct {
	name string
	job  Job
}{
	{"minimal", Job{
		Output:  "/scratch/run1/logs/slurm-%j.out",
		Command: []string{"/opt/gotrap/bin/gotrap", "run", "--out", "/scratch/run1", "/data/rsm/*.fits"},
	}},
	{"full-srun", Job{
		Name: "gotrap-rsm", Nodes: 2, NTasks: 8, NTasksPerNode: 4, CPUsPerTask: 4,
		Mem: "64G", Time: "1-12:00:00", Partition: "compute", Account: "lofar", QOS: "normal",
		MailType: "END,FAIL", MailUser: "astro@example.org",
		Output:  "/scratch/rsm/logs/slurm-%j.out",
		Requeue: true, Signal: "TERM@120", Extra: []string{"--exclusive", "--constraint=avx2"},
		Modules: []string{"openmpi/4.1.4", "gcc/12"},
		Env:     []string{"GOTRAP_LOG=debug", "NOTE=two words"},
		Setup:   []string{"cd /scratch/rsm", `echo "it's $HOSTNAME"`},
		Command: []string{"/opt/gotrap/bin/gotrap-mpi", "run", "--out", "/scratch/rsm", "-c", "/home/astro/rsm.toml",
			"/data/rsm/beam0/*.fits", "/data/rsm/it's here.fits"},
	}},
	{"mpirun", Job{
		Name: "gotrap-check", NTasks: 4, MemPerCPU: "2000", Time: "10",
		Output:   "/tmp/check/logs/slurm-%j.out",
		Launcher: Mpirun, Modules: []string{"openmpi"},
		Env:     []string{"OMPI_ALLOW_RUN_AS_ROOT=1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"},
		Command: []string{"/usr/local/bin/gotrap", "mpicheck", "--out", "/tmp/check"},
	}},
	{"single-process", Job{
		Name: "gotrap-laptop", CPUsPerTask: 8, Mem: "0", Time: "2:00:00",
		Output:   "/home/u/run/logs/slurm-%j.out",
		Launcher: NoLauncher,
		Command:  []string{"gotrap", "run", "--ranks", "8", "--out", "/home/u/run", "/home/u/img.fits"},
	}},
}

func TestRenderGolden(t *testing.T) {
	for _, g := range goldenJobs {
		t.Run(g.name, func(t *testing.T) {
			got, err := g.job.Script()
			if err != nil {
				t.Fatal(err)
			}
			again, _ := g.job.Script()
			if !bytes.Equal(got, again) {
				t.Fatal("two renders of the same job differ")
			}
			path := filepath.Join("testdata", g.name+".golden")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./slurm -run TestRenderGolden -update)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("script differs from %s (rerun with -update if intended):\n--- got\n%s--- want\n%s", path, got, want)
			}
		})
	}
}

// TestRenderedScriptsParse runs bash -n over each golden script: the
// quoting must give valid shell.
func TestRenderedScriptsParse(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	for _, g := range goldenJobs {
		s, err := g.job.Script()
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bash, "-n")
		cmd.Stdin = bytes.NewReader(s)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("%s: bash -n: %v\n%s", g.name, err, out)
		}
	}
}

// TestShellQuoteRoundTrip: bash turns each quoted argument back into the
// original string.
func TestShellQuoteRoundTrip(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash not installed")
	}
	args := []string{"plain", "", "two words", "it's", `"dq"`, "$HOME", "*.fits", "a\\b", "''", "x'y'z", "é", "-n"}
	var script strings.Builder
	for _, a := range args {
		script.WriteString("printf '%s\\0' " + shellQuote(a) + "\n")
	}
	out, err := exec.Command(bash, "-c", script.String()).Output()
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
	if len(got) != len(args) {
		t.Fatalf("got %d args %q, want %d", len(got), got, len(args))
	}
	for i := range args {
		if got[i] != args[i] {
			t.Errorf("shellQuote(%q) = %s gives %q", args[i], shellQuote(args[i]), got[i])
		}
	}
}

func TestRenderSrunDetails(t *testing.T) {
	j := Job{NTasks: 2, CPUsPerTask: 3, MPI: "pmix_v4", Command: []string{"gotrap", "mpicheck"}}
	s, err := j.Script()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"#SBATCH --ntasks=2\n",
		"srun --mpi=pmix_v4 --kill-on-bad-exit=1 --cpus-per-task=3 gotrap mpicheck\n",
		"export OMPI_MCA_mpi_yield_when_idle=1",
	} {
		if !strings.Contains(string(s), want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	if strings.Contains(string(s), "--requeue") || strings.Contains(string(s), "--open-mode") {
		t.Errorf("requeue lines without Requeue:\n%s", s)
	}
}

func TestValidate(t *testing.T) {
	cmd := []string{"gotrap", "run"}
	bad := []struct {
		name string
		job  Job
		want string // in the message
	}{
		{"no command", Job{}, "no command"},
		{"space in partition", Job{Partition: "a b", Command: cmd}, "--partition"},
		{"newline in name", Job{Name: "a\n#SBATCH --x", Command: cmd}, "--job-name"},
		{"negative tasks", Job{NTasks: -1, Command: cmd}, "--ntasks"},
		{"mem unit", Job{Mem: "8GB", Command: cmd}, "--mem"},
		{"mem and per cpu", Job{Mem: "8G", MemPerCPU: "1G", Command: cmd}, "exclude"},
		{"time", Job{Time: "1:2:3:4", Command: cmd}, "--time"},
		{"mail type", Job{MailType: "END,SOMETIMES", Command: cmd}, "SOMETIMES"},
		{"signal", Job{Signal: "TERM 120", Command: cmd}, "--signal"},
		{"extra", Job{Extra: []string{"gres=gpu"}, Command: cmd}, "sbatch option"},
		{"extra space", Job{Extra: []string{"--comment=a b"}, Command: cmd}, "sbatch option"},
		{"env key", Job{Env: []string{"1X=2"}, Command: cmd}, "KEY=VALUE"},
		{"env no value", Job{Env: []string{"X"}, Command: cmd}, "KEY=VALUE"},
		{"setup newline", Job{Setup: []string{"a\nb"}, Command: cmd}, "one line"},
		{"launcher", Job{Launcher: "aprun", Command: cmd}, "launcher"},
		{"module", Job{Modules: []string{"openmpi; rm -rf /"}, Command: cmd}, "module"},
		{"arg newline", Job{Command: []string{"gotrap", "a\nb"}}, "no newlines"},
	}
	for _, c := range bad {
		err := c.job.Validate()
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: Validate() = %v, want ErrInvalid mentioning %q", c.name, err, c.want)
		}
		if _, err := c.job.Script(); !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: Script() = %v, want ErrInvalid", c.name, err)
		}
	}
	for _, g := range goldenJobs {
		if err := g.job.Validate(); err != nil {
			t.Errorf("%s: %v", g.name, err)
		}
	}
}
