package duck

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

const helperEnv = "GOTRAP_DUCK_KILL_HELPER"

// TestMain lets the test binary act as the writer that TestKilledWriter
// kills.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperEnv); dir != "" {
		killHelper(dir)
		return
	}
	os.Exit(m.Run())
}

// killHelper writes one complete part file and then a second one row
// group at a time, announcing each written row group on stdout, until it
// is killed.
func killHelper(run string) {
	rng := rand.New(rand.NewPCG(7, 7))
	rows := make([]catalog.Measurement, 1000)
	for i := range rows {
		rows[i] = catalog.Measurement{ID: int64(i), Image: 1, RA: rng.Float64() * 360, FInt: rng.Float64()}
	}
	if err := catalog.WriteFile(rundir.PartPath(run, catalog.TableMeasurements, 0, "blind", 0), rows); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	w, err := catalog.Create[catalog.Measurement](rundir.PartPath(run, catalog.TableMeasurements, 1, "blind", 0), catalog.WithRowGroupRows(1000))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	fmt.Println("tmp", w.TempPath())
	for i := 0; ; i++ {
		if err := w.Write(rows...); err != nil {
			fmt.Println("error", err)
			os.Exit(1)
		}
		fmt.Println("rowgroup", i)
		time.Sleep(time.Millisecond)
	}
}

// TestKilledWriter kills a writing process with SIGKILL in the middle of
// a file and shows that the half-written file is invisible: no *.parquet
// of it exists, DuckDB's own glob does not pick it up, and the run's
// views see only the complete file.
func TestKilledWriter(t *testing.T) {
	run := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+run)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	groups := 0
	partial := rundir.PartPath(run, catalog.TableMeasurements, 1, "blind", 0)
	tmp := ""
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatal(line)
		}
		if p, ok := strings.CutPrefix(line, "tmp "); ok {
			tmp = p
		}
		if strings.HasPrefix(line, "rowgroup") {
			groups++
			// Kill once some row groups have reached the file (the
			// writer buffers 1 MB before the OS sees anything).
			if st, err := os.Stat(tmp); err == nil && st.Size() > 0 && groups >= 5 {
				break
			}
		}
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL on Unix
		t.Fatal(err)
	}
	cmd.Wait()

	if _, err := os.Stat(partial); !os.IsNotExist(err) {
		t.Fatalf("the killed writer's file exists under its final name: %v", err)
	}
	st, err := os.Stat(tmp)
	if err != nil || st.Size() == 0 {
		t.Fatalf("expected a non-empty temporary file from the killed writer: %v", err)
	}
	t.Logf("killed after %d row groups; temporary file %s has %d bytes", groups, filepath.Base(tmp), st.Size())

	db, err := Open(context.Background(), run, Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	glob := filepath.Join(run, catalog.TableMeasurements, "**", "*.parquet")
	var files []string
	rows, err := db.SQL().Query("SELECT file FROM glob(" + quote(glob) + ") ORDER BY file")
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var f string
		rows.Scan(&f)
		files = append(files, f)
	}
	rows.Close()
	if len(files) != 1 || !strings.HasSuffix(files[0], filepath.Join("rank=0000", "blind-00000.parquet")) {
		t.Errorf("DuckDB glob %s = %v, want only the complete rank=0000 file", glob, files)
	}
	var n int64
	// Reading through the glob succeeds (a half-written file would fail
	// with a missing footer) and sees only the complete file.
	if err := db.SQL().QueryRow("SELECT count(*) FROM read_parquet(" + quote(glob) + ", hive_partitioning = true)").Scan(&n); err != nil || n != 1000 {
		t.Errorf("read_parquet(glob): %d rows (%v), want 1000", n, err)
	}
	if err := db.SQL().QueryRow("SELECT count(*) FROM measurements").Scan(&n); err != nil || n != 1000 {
		t.Errorf("measurements view: %d rows (%v), want 1000", n, err)
	}
}
