package reduce_test

import (
	"runtime"
	"testing"

	"gotrap/reduce"
)

func TestCPUs(t *testing.T) {
	cur := runtime.GOMAXPROCS(0)
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	cases := []struct {
		env  map[string]string
		want int
	}{
		{nil, cur},
		{map[string]string{"SLURM_CPUS_PER_TASK": "1"}, 1},
		{map[string]string{"SLURM_CPUS_PER_TASK": " 1 "}, 1},
		{map[string]string{"SLURM_CPUS_PER_TASK": "100000"}, cur}, // never more than Go's value
		{map[string]string{"SLURM_CPUS_PER_TASK": "0"}, cur},
		{map[string]string{"SLURM_CPUS_PER_TASK": "x"}, cur},
		{map[string]string{"SLURM_CPUS_PER_TASK": "1", "GOMAXPROCS": "2"}, cur}, // the user's choice wins
	}
	for _, c := range cases {
		if got := reduce.CPUs(env(c.env)); got != c.want {
			t.Errorf("CPUs(%v) = %d, want %d", c.env, got, c.want)
		}
	}
	if cur > 1 {
		defer runtime.GOMAXPROCS(cur)
		if got := reduce.LimitGOMAXPROCS(env(map[string]string{"SLURM_CPUS_PER_TASK": "1"})); got != 1 || runtime.GOMAXPROCS(0) != 1 {
			t.Errorf("LimitGOMAXPROCS = %d, GOMAXPROCS now %d, want 1", got, runtime.GOMAXPROCS(0))
		}
	}
}
