package reduce

import (
	"runtime"
	"strconv"
	"strings"
)

// CPUs returns how many CPUs this rank should keep busy with its own
// goroutines (kernel worker pools, the catalogue queries' threads).
//
// Go 1.25 and later (this module needs 1.26) already start with
// GOMAXPROCS = min(logical CPUs, CPUs in the affinity mask, cgroup CPU
// quota rounded up), and update it as those change; the GOMAXPROCS
// environment variable overrides all of that. So an MPI binding
// (mpirun --bind-to core, -c N) or Slurm's task/affinity plugin is already
// reflected in runtime.GOMAXPROCS(0). What Go does not see is a Slurm
// allocation that is not enforced by a mask: srun --cpu-bind=none, or
// mpirun inside an sbatch job, leave every core of the node in the mask.
// CPUs therefore returns runtime.GOMAXPROCS(0), lowered to
// SLURM_CPUS_PER_TASK when that is a positive integer, unless GOMAXPROCS
// is set in the environment (the user's explicit choice wins).
//
// getenv is os.Getenv in the command (STYLE 5: only cmd reads the
// environment); tests pass a map's lookup.
func CPUs(getenv func(string) string) int {
	n := runtime.GOMAXPROCS(0)
	if strings.TrimSpace(getenv("GOMAXPROCS")) != "" {
		return n
	}
	if s, err := strconv.Atoi(strings.TrimSpace(getenv("SLURM_CPUS_PER_TASK"))); err == nil && s > 0 && s < n {
		n = s
	}
	return n
}

// LimitGOMAXPROCS sets GOMAXPROCS to CPUs(getenv) when that is lower than
// the current value, and returns the value in effect. Lowering it turns off
// the runtime's automatic updates (runtime.SetDefaultGOMAXPROCS restores
// them); when nothing needs lowering, nothing is changed.
func LimitGOMAXPROCS(getenv func(string) string) int {
	cur := runtime.GOMAXPROCS(0)
	if n := CPUs(getenv); n < cur {
		runtime.GOMAXPROCS(n)
		return n
	}
	return cur
}
