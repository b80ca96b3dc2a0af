package rundir

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWriteStaged: the file appears with its content, replaces an older
// one, leaves no temporary file, creates its folder; SyncFS succeeds on
// the folder and names a missing one.
func TestWriteStaged(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "work", "extract")
	p := filepath.Join(dir, "00000001.json")
	for _, content := range []string{"first\n", "second, longer\n"} {
		if err := WriteStaged(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(p)
		if err != nil || string(b) != content {
			t.Fatalf("read back %q, %v; want %q", b, err, content)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 || ents[0].Name() != "00000001.json" {
		t.Errorf("folder holds %v, want only the file", ents)
	}
	if st, err := os.Stat(p); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode %v (%v), want 0644", st.Mode(), err)
	}
	if err := SyncFS(dir); err != nil {
		t.Errorf("SyncFS: %v", err)
	}
	missing := filepath.Join(dir, "nope")
	if err := SyncFS(missing); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("SyncFS of a missing folder: %v, want an error naming it", err)
	}
}
