package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/rundir"
	"gotrap/internal/testutil"
)

// copyTree copies the regular files below src into dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestFingerprintCASA: a CASA image directory gets a content hash of its
// table files: a copy elsewhere has the same; a changed byte, an added
// file or a renamed one changes it; the size is the files' total.
func TestFingerprintCASA(t *testing.T) {
	src := filepath.Join(testutil.ProjectRoot(t), "testdata", "casa", "cube.image")
	fp := func(p string) rundir.InputFile {
		t.Helper()
		in, err := fingerprint(p)
		if err != nil {
			t.Fatal(err)
		}
		return in
	}
	a := fp(src)
	var total int64
	filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			st, _ := d.Info()
			total += st.Size()
		}
		return nil
	})
	if a.XXH64 == "" || a.Size != total {
		t.Fatalf("fingerprint %+v: want a hash and size %d", a, total)
	}
	edits := []struct {
		name string
		edit func(dir string)
		same bool
	}{
		{"copy", func(string) {}, true},
		{"byte", func(dir string) {
			p := filepath.Join(dir, "table.f0_TSM0")
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			b[len(b)/2] ^= 1
			os.WriteFile(p, b, 0o644)
		}, false},
		{"added", func(dir string) { os.WriteFile(filepath.Join(dir, "extra"), nil, 0o644) }, false},
		{"renamed", func(dir string) {
			if err := os.Rename(filepath.Join(dir, "table.info"), filepath.Join(dir, "table.info2")); err != nil {
				t.Fatal(err)
			}
		}, false},
	}
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "cube.image")
			copyTree(t, src, dir)
			e.edit(dir)
			b := fp(dir)
			b.Path, b.ModTime = a.Path, a.ModTime
			if (b.XXH64 == a.XXH64) != e.same {
				t.Errorf("hash %s vs the original's %s: same %v, want %v", b.XXH64, a.XXH64, b.XXH64 == a.XXH64, e.same)
			}
		})
	}
}

// TestResumeCatalogues: a --catalogues run records each catalogue's hash
// in the manifest; --resume goes on with the same catalogues and refuses,
// saying why, without them, with a changed one, with Selavy maps that
// appeared beside the image, or with a catalogue for an input the run
// extracted.
func TestResumeCatalogues(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(testutil.ProjectRoot(t), "internal", "catalogs", "testdata")
	img, cat := filepath.Join(dir, "field.fits"), filepath.Join(dir, "field_comp.csv")
	for _, n := range []string{"field.fits", "field_comp.csv"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	run := filepath.Join(t.TempDir(), "run")
	cfg := testConfig()
	cats := map[string]string{img: cat}
	if _, err := Run(context.Background(), Options{Run: run, Inputs: []string{img}, Config: cfg, Workers: 1, Catalogues: cats}); err != nil {
		t.Fatal(err)
	}
	m, err := rundir.ReadManifest(run)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Inputs) != 1 || m.Inputs[0].Catalogue == nil || m.Inputs[0].Catalogue.Path != cat || m.Inputs[0].Catalogue.XXH64 == "" {
		t.Fatalf("manifest inputs %+v: want field.fits with its catalogue's hash", m.Inputs)
	}
	resume := func(c map[string]string) error {
		_, err := Run(context.Background(), Options{Run: run, Inputs: []string{img}, Config: cfg, Workers: 1, Catalogues: c, Resume: true})
		return err
	}
	if err := resume(cats); err != nil {
		t.Fatalf("resume with the same catalogue: %v", err)
	}
	if err := resume(nil); err == nil || !strings.Contains(err.Error(), "the run used the catalogue "+cat) {
		t.Errorf("resume without the catalogue: error %v", err)
	}
	b, err := os.ReadFile(cat)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cat, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := resume(cats); err == nil || !strings.Contains(err.Error(), "its catalogue "+cat+" changed") {
		t.Errorf("resume with a changed catalogue: error %v", err)
	}

	// Selavy maps appearing beside the image (here copies of the image:
	// any file of the names) change the input.
	if err := os.WriteFile(cat, b, 0o644); err != nil {
		t.Fatal(err)
	}
	imgBytes, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"field.noiseMap.fits", "field.meanMap.fits"} {
		if err := os.WriteFile(filepath.Join(dir, n), imgBytes, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := resume(cats); err == nil || !strings.Contains(err.Error(), "Selavy noise and mean maps") {
		t.Errorf("resume with new maps: error %v", err)
	}

	// A run that extracted the image, resumed with a catalogue.
	plain := filepath.Join(t.TempDir(), "run")
	if _, err := Run(context.Background(), Options{Run: plain, Inputs: []string{img}, Config: cfg, Workers: 1}); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), Options{Run: plain, Inputs: []string{img}, Config: cfg, Workers: 1, Catalogues: cats, Resume: true})
	if err == nil || !strings.Contains(err.Error(), "the run extracted it") {
		t.Errorf("resume of an extracting run with a catalogue: error %v", err)
	}
}
