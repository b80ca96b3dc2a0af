package slurm

import (
	"bytes"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Launcher starts the job's tasks inside the batch script.
type Launcher string

const (
	// Srun starts the tasks with "srun --mpi=MPI" (MPI defaults to pmix,
	// which Debian's Open MPI supports; pmi2 does not work with it).
	Srun Launcher = "srun"
	// Mpirun starts them with Open MPI's "mpirun --bind-to none", which
	// reads the allocation from Slurm.
	Mpirun Launcher = "mpirun"
	// NoLauncher runs the command once, in the batch script itself: a
	// single in-process run (gotrap run --ranks N) on one node.
	NoLauncher Launcher = "none"
)

// Job describes a batch job. Zero values leave the option to Slurm (the
// partition's defaults) and render no line. Render checks the values; the
// fields are plain data with no hidden state.
type Job struct {
	Name          string // --job-name
	Nodes         int    // --nodes
	NTasks        int    // --ntasks: MPI ranks
	NTasksPerNode int    // --ntasks-per-node
	CPUsPerTask   int    // --cpus-per-task: threads per rank
	Mem           string // --mem per node, as Slurm takes it ("8G"); see ParseMemory
	MemPerCPU     string // --mem-per-cpu; exclusive with Mem
	Time          string // --time, as Slurm takes it ("2:00:00"); see ParseTimeLimit
	Partition     string // --partition
	Account       string // --account
	QOS           string // --qos
	MailType      string // --mail-type, e.g. "END,FAIL"
	MailUser      string // --mail-user
	// Output is the job's log file (--output; stderr goes there too).
	// Slurm does not create its directory: the caller must.
	Output string
	// Requeue lets Slurm requeue the job after preemption or a node
	// failure (--requeue); the log is then appended to (--open-mode=append)
	// so the first attempt's lines are kept.
	Requeue bool
	// Signal asks Slurm to send a signal before the time limit
	// (--signal), e.g. "TERM@120": gotrap finishes its current image and
	// writes the manifest so that the job can resume.
	Signal string
	// Extra holds more sbatch options, one per line ("--gres=gpu:1").
	Extra []string

	// Modules are loaded with "module load" before the run.
	Modules []string
	// Env holds KEY=VALUE pairs exported before the run.
	Env []string
	// Setup holds shell lines run before the launch (source a venv, cd).
	Setup []string

	Launcher Launcher // default Srun
	MPI      string   // srun --mpi=...; default "pmix"
	// Command is the program each task runs and its arguments, quoted
	// for the shell as needed. It must not be empty.
	Command []string
}

var (
	// sbatchValue is what may follow --opt= on an #SBATCH line: sbatch
	// splits those lines at white space and does not unquote reliably.
	sbatchValue = regexp.MustCompile(`^[A-Za-z0-9_@%+=:,./~^-]+$`)
	envKey      = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	mailTypes   = map[string]bool{
		"NONE": true, "BEGIN": true, "END": true, "FAIL": true, "REQUEUE": true, "ALL": true,
		"INVALID_DEPEND": true, "STAGE_OUT": true, "TIME_LIMIT": true, "TIME_LIMIT_90": true,
		"TIME_LIMIT_80": true, "TIME_LIMIT_50": true, "ARRAY_TASKS": true,
	}
	signalSpec = regexp.MustCompile(`^(R:|B:|RB:|BR:)?[A-Z0-9]+(@[0-9]+)?$`)
)

// Validate checks the job and returns an error wrapping [ErrInvalid] that
// names the first bad field.
func (j *Job) Validate() error {
	type opt struct{ name, v string }
	for _, o := range []opt{
		{"job-name", j.Name}, {"partition", j.Partition}, {"account", j.Account},
		{"qos", j.QOS}, {"mail-user", j.MailUser}, {"output", j.Output},
	} {
		if o.v != "" && !sbatchValue.MatchString(o.v) {
			return invalid("--%s %q: only letters, digits and _@%%+=:,./~^- are allowed", o.name, o.v)
		}
	}
	for _, o := range []struct {
		name string
		n    int
	}{{"nodes", j.Nodes}, {"ntasks", j.NTasks}, {"ntasks-per-node", j.NTasksPerNode}, {"cpus-per-task", j.CPUsPerTask}} {
		if o.n < 0 {
			return invalid("--%s %d: must be positive", o.name, o.n)
		}
	}
	if j.Mem != "" && j.MemPerCPU != "" {
		return invalid("--mem and --mem-per-cpu exclude each other")
	}
	for _, o := range []opt{{"mem", j.Mem}, {"mem-per-cpu", j.MemPerCPU}} {
		if o.v == "" {
			continue
		}
		if _, err := ParseMemory(o.v); err != nil {
			return invalid("--%s %q: want a size such as 4000M or 8G", o.name, o.v)
		}
	}
	if j.Time != "" {
		if _, err := ParseTimeLimit(j.Time); err != nil {
			return invalid("--time %q: want M, H:M:S or D-H:M:S", j.Time)
		}
	}
	if j.MailType != "" {
		for _, t := range strings.Split(j.MailType, ",") {
			if !mailTypes[t] {
				return invalid("--mail-type %q: unknown type %q", j.MailType, t)
			}
		}
	}
	if j.Signal != "" && !signalSpec.MatchString(j.Signal) {
		return invalid("--signal %q: want [B:]SIG[@SECONDS], e.g. TERM@120", j.Signal)
	}
	for _, x := range j.Extra {
		k, v, _ := strings.Cut(x, "=")
		if !strings.HasPrefix(k, "-") || !sbatchValue.MatchString(strings.TrimLeft(k, "-")) ||
			(v != "" && !sbatchValue.MatchString(v)) {
			return invalid("sbatch option %q: want --name or --name=value without spaces", x)
		}
	}
	for _, m := range j.Modules {
		if !sbatchValue.MatchString(m) {
			return invalid("module %q: want a module name such as openmpi/4.1", m)
		}
	}
	for _, kv := range j.Env {
		k, _, ok := strings.Cut(kv, "=")
		if !ok || !envKey.MatchString(k) {
			return invalid("environment %q: want KEY=VALUE", kv)
		}
		if strings.ContainsAny(kv, "\n\r\x00") {
			return invalid("environment %q: no newlines", kv)
		}
	}
	for _, l := range j.Setup {
		if strings.ContainsAny(l, "\n\r\x00") {
			return invalid("setup line %q: one line each", l)
		}
	}
	switch j.Launcher {
	case "", Srun, Mpirun, NoLauncher:
	default:
		return invalid("launcher %q: want srun, mpirun or none", j.Launcher)
	}
	if j.MPI != "" && !envKey.MatchString(j.MPI) {
		return invalid("srun --mpi %q", j.MPI)
	}
	if len(j.Command) == 0 || j.Command[0] == "" {
		return invalid("no command")
	}
	for _, a := range j.Command {
		if strings.ContainsAny(a, "\n\r\x00") {
			return invalid("command argument %q: no newlines", a)
		}
	}
	return nil
}

// Render writes the batch script: #SBATCH lines, then module loads,
// exports and setup lines, then the launch. It contains no time stamp or
// version, so the same Job always renders the same bytes. Errors wrap
// [ErrInvalid] (see Validate) or come from w.
func (j *Job) Render(w io.Writer) error {
	if err := j.Validate(); err != nil {
		return err
	}
	var b bytes.Buffer
	b.WriteString("#!/bin/bash\n")
	b.WriteString("# Batch script written by 'gotrap slurm'. Inspect and edit it, then\n# submit it with: sbatch THIS_FILE\n")
	opt := func(name, v string) {
		if v != "" {
			fmt.Fprintf(&b, "#SBATCH --%s=%s\n", name, v)
		}
	}
	num := func(name string, n int) {
		if n > 0 {
			opt(name, strconv.Itoa(n))
		}
	}
	opt("job-name", j.Name)
	num("nodes", j.Nodes)
	num("ntasks", j.NTasks)
	num("ntasks-per-node", j.NTasksPerNode)
	num("cpus-per-task", j.CPUsPerTask)
	opt("mem", j.Mem)
	opt("mem-per-cpu", j.MemPerCPU)
	opt("time", j.Time)
	opt("partition", j.Partition)
	opt("account", j.Account)
	opt("qos", j.QOS)
	opt("mail-type", j.MailType)
	opt("mail-user", j.MailUser)
	opt("output", j.Output)
	if j.Requeue {
		b.WriteString("#SBATCH --requeue\n#SBATCH --open-mode=append\n")
	}
	opt("signal", j.Signal)
	for _, x := range j.Extra {
		fmt.Fprintf(&b, "#SBATCH %s\n", x)
	}

	// No -u: module and environment scripts often read unset variables.
	b.WriteString("\nset -eo pipefail\n")
	if len(j.Modules) > 0 {
		b.WriteString("\n")
		for _, m := range j.Modules {
			fmt.Fprintf(&b, "module load %s\n", m)
		}
	}
	if len(j.Env) > 0 {
		b.WriteString("\n")
		for _, kv := range j.Env {
			k, v, _ := strings.Cut(kv, "=")
			fmt.Fprintf(&b, "export %s=%s\n", k, shellQuote(v))
		}
	}
	if len(j.Setup) > 0 {
		b.WriteString("\n")
		for _, l := range j.Setup {
			b.WriteString(l + "\n")
		}
	}

	launcher := j.Launcher
	if launcher == "" {
		launcher = Srun
	}
	if launcher != NoLauncher {
		b.WriteString(`
# Open MPI ranks busy-poll while they wait; when they outnumber this node's
# cores they starve each other unless they yield.
tasks_here=${SLURM_TASKS_PER_NODE%%[(,]*}
if [ "${tasks_here:-1}" -gt "$(nproc)" ]; then
  export OMPI_MCA_mpi_yield_when_idle=1
fi
`)
	}
	b.WriteString(`
echo "gotrap job ${SLURM_JOB_ID}: ${SLURM_NTASKS:-1} task(s) on ${SLURM_JOB_NODELIST}, restart ${SLURM_RESTART_COUNT:-0}, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
`)
	var cmd []string
	switch launcher {
	case Srun:
		mpi := j.MPI
		if mpi == "" {
			mpi = "pmix"
		}
		cmd = append(cmd, "srun", "--mpi="+mpi, "--kill-on-bad-exit=1")
		if j.CPUsPerTask > 0 {
			// Slurm 22.05's srun no longer reads SLURM_CPUS_PER_TASK.
			cmd = append(cmd, "--cpus-per-task="+strconv.Itoa(j.CPUsPerTask))
		}
	case Mpirun:
		// mpirun would bind each rank to one core: Go would see one CPU.
		cmd = append(cmd, "mpirun", "--bind-to", "none")
	}
	for _, a := range j.Command {
		cmd = append(cmd, shellQuote(a))
	}
	b.WriteString(strings.Join(cmd, " ") + "\n")
	_, err := w.Write(b.Bytes())
	return err
}

// Script returns the rendered batch script.
func (j *Job) Script() ([]byte, error) {
	var b bytes.Buffer
	if err := j.Render(&b); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// shellQuote quotes s for bash when it holds anything but safe characters.
// Glob characters are quoted too: gotrap expands input globs itself.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("_@%+=:,./-", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
