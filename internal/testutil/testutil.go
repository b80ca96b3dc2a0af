// Package testutil holds helpers shared by gotrap's tests: locating the
// real radio images beside the project and comparing floats with a stated
// tolerance. It is imported only from _test.go files.
package testutil

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

// ProjectRoot returns the directory holding go.mod, found by walking up from
// the working directory of the test (the package directory).
func ProjectRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("testutil: no go.mod above the test's directory")
		}
		dir = parent
	}
}

// SharedData returns the path of ../shared/data beside the project root, or
// of $GOTRAP_SHARED_DATA when set. The test is skipped, with a message
// saying why, when the folder is absent (a user's fresh clone); CI always
// has it.
func SharedData(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("GOTRAP_SHARED_DATA")
	if dir == "" {
		dir = filepath.Join(ProjectRoot(t), "..", "shared", "data")
	}
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("real radio images not available (%v): put them in ../shared/data beside the project or set GOTRAP_SHARED_DATA", err)
	}
	return dir
}

// SharedFile returns the path of the named file in SharedData, skipping the
// test when the folder is absent and failing it when only the file is.
func SharedFile(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(SharedData(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared data present but %s is missing: %v", name, err)
	}
	return p
}

// Close reports whether a and b agree within abs or within rel times the
// larger magnitude. NaN equals nothing.
func Close(a, b, abs, rel float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return false
	}
	d := math.Abs(a - b)
	return d <= abs || d <= rel*math.Max(math.Abs(a), math.Abs(b))
}
