package reduce_test

import (
	"io/fs"
	"math"
	"runtime/debug"
	"testing"

	"gotrap/reduce"
)

// fakeFS is a readFile over a map.
func fakeFS(files map[string]string) func(string) ([]byte, error) {
	return func(p string) ([]byte, error) {
		s, ok := files[p]
		if !ok {
			return nil, fs.ErrNotExist
		}
		return []byte(s), nil
	}
}

func TestCgroupMemory(t *testing.T) {
	for _, c := range []struct {
		name  string
		files map[string]string
		want  int64
	}{
		{"no /proc", nil, 0},
		{"v2 own limit", map[string]string{
			"/proc/self/cgroup":                   "0::/job/step\n",
			"/sys/fs/cgroup/job/step/memory.max":  "4294967296\n",
			"/sys/fs/cgroup/job/memory.max":       "max\n",
			"/sys/fs/cgroup/memory.max":           "max\n",
			"/sys/fs/cgroup/job/step/memory.high": "1\n",
		}, 4 << 30},
		{"v2 parent smaller", map[string]string{
			"/proc/self/cgroup":                  "0::/job/step\n",
			"/sys/fs/cgroup/job/step/memory.max": "max",
			"/sys/fs/cgroup/job/memory.max":      "1073741824",
		}, 1 << 30},
		{"v2 container (path not visible)", map[string]string{
			"/proc/self/cgroup":         "0::/../../kubepods/pod1\n",
			"/sys/fs/cgroup/memory.max": "2147483648\n",
		}, 2 << 30},
		{"v2 unlimited", map[string]string{
			"/proc/self/cgroup":         "0::/\n",
			"/sys/fs/cgroup/memory.max": "max\n",
		}, 0},
		{"v1", map[string]string{
			"/proc/self/cgroup": "9:name=systemd:/\n4:memory:/process_api/abc\n3:cpuset:/\n",
			"/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes": "3221225472\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes":                 "9223372036854771712\n",
		}, 3 << 30},
		{"v1 unlimited (this machine)", map[string]string{
			"/proc/self/cgroup":                           "4:memory:/process_api/abc\n",
			"/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
		}, 0},
		{"v1 combined controllers", map[string]string{
			"/proc/self/cgroup":                             "5:cpu,memory:/a\n",
			"/sys/fs/cgroup/memory/a/memory.limit_in_bytes": "1048576000\n",
		}, 1048576000},
		{"garbage", map[string]string{
			"/proc/self/cgroup":         "nonsense\n0::relative\n",
			"/sys/fs/cgroup/memory.max": "12\n",
		}, 0},
	} {
		if got := reduce.CgroupMemory(fakeFS(c.files)); got != c.want {
			t.Errorf("%s: CgroupMemory = %d, want %d", c.name, got, c.want)
		}
	}
}

func TestMemoryShares(t *testing.T) {
	if got := reduce.GoMemoryLimit(8 << 30); got != 6<<30 {
		t.Errorf("GoMemoryLimit(8 GiB) = %d, want 6 GiB", got)
	}
	defer func() {
		if recover() == nil {
			t.Error("GoMemoryLimit(0) did not panic")
		}
	}()
	reduce.GoMemoryLimit(0)
}

func TestSetGoMemoryLimit(t *testing.T) {
	old := debug.SetMemoryLimit(-1)
	defer debug.SetMemoryLimit(old)
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

	if got := reduce.SetGoMemoryLimit(4<<30, env(nil)); got != 3<<30 || debug.SetMemoryLimit(-1) != 3<<30 {
		t.Errorf("SetGoMemoryLimit(4 GiB) = %d, runtime limit %d; want 3 GiB", got, debug.SetMemoryLimit(-1))
	}
	debug.SetMemoryLimit(math.MaxInt64)
	// GOMEMLIMIT in the environment wins: nothing is changed.
	if got := reduce.SetGoMemoryLimit(4<<30, env(map[string]string{"GOMEMLIMIT": "10GiB"})); got != math.MaxInt64 || debug.SetMemoryLimit(-1) != math.MaxInt64 {
		t.Errorf("with GOMEMLIMIT set: SetGoMemoryLimit = %d, runtime limit %d; want both unchanged", got, debug.SetMemoryLimit(-1))
	}
	// No allowance: nothing is changed.
	if got := reduce.SetGoMemoryLimit(0, env(nil)); got != math.MaxInt64 {
		t.Errorf("SetGoMemoryLimit(0) = %d, want no limit", got)
	}
}
