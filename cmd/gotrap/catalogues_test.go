package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gotrap/internal/testutil"
)

// TestRunCatalogues runs gotrap run --catalogues as a user does on the
// real Selavy catalogue: with @LIST (IMAGE CATALOGUE pairs; the image not
// repeated as an INPUT) and with auto (the VOTable found beside the image
// by name, in a copy of the folder); both give the catalogue's 4
// components as the run's blind measurements. A bad --catalogues value is
// a usage error.
func TestRunCatalogues(t *testing.T) {
	dir := filepath.Join(testutil.SharedData(t), "selavy")
	d := t.TempDir()
	list := filepath.Join(d, "list.txt")
	line := filepath.Join(dir, "epoch01.fits") + " " + filepath.Join(dir, "epoch01.selavy.components.txt") + "\n"
	if err := os.WriteFile(list, []byte("# image catalogue\n"+line), 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCmd(t, "run", "--out", filepath.Join(d, "r1"), "--quiet", "--catalogues", "@"+list)
	if code != 0 {
		t.Fatalf("run --catalogues @LIST: %d %s", code, stderr)
	}
	if want := "measurements  4 blind"; !strings.Contains(stdout, want) {
		t.Errorf("summary lacks %q:\n%s", want, stdout)
	}
	// auto: the image and its VOTable side by side under other names.
	img := filepath.Join(d, "field.fits")
	for src, dst := range map[string]string{"epoch01.fits": img, "epoch01.selavy.components.xml": filepath.Join(d, "field.selavy.components.xml")} {
		b, err := os.ReadFile(filepath.Join(dir, src))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, stdout, stderr = runCmd(t, "run", "--out", filepath.Join(d, "r2"), "--quiet", "--catalogues", "auto", img)
	if code != 0 || !strings.Contains(stdout, "measurements  4 blind") || !strings.Contains(stdout, "rejected      0") {
		t.Errorf("run --catalogues auto: %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr = runCmd(t, "run", "--out", filepath.Join(d, "r3"), "--catalogues", "selavy", img); code == 0 || !strings.Contains(stderr, "want auto or @LIST") {
		t.Errorf("--catalogues selavy: exit %d, %s; want a usage error", code, stderr)
	}
}

// TestRunCataloguesResume: "gotrap run --resume --out RUN" alone resumes
// a catalogue run with the catalogues its manifest records; giving the
// image again without its catalogue is refused, naming the catalogue; a
// channel range does not go with --catalogues.
func TestRunCataloguesResume(t *testing.T) {
	src := filepath.Join(testutil.ProjectRoot(t), "internal", "catalogs", "testdata")
	d := t.TempDir()
	for _, n := range []string{"field.fits", "field_comp.fits"} {
		b, err := os.ReadFile(filepath.Join(src, n))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img, run := filepath.Join(d, "field.fits"), filepath.Join(d, "run")
	code, stdout, stderr := runCmd(t, "run", "--out", run, "--quiet", "--catalogues", "auto", img)
	if code != 0 || !strings.Contains(stdout, "measurements  5 blind") {
		t.Fatalf("run --catalogues auto (Aegean FITS): %d\n%s%s", code, stdout, stderr)
	}
	if code, stdout, stderr = runCmd(t, "run", "--resume", "--out", run, "--quiet"); code != 0 {
		t.Errorf("run --resume --out RUN: %d\n%s%s", code, stdout, stderr)
	}
	if code, _, stderr = runCmd(t, "run", "--resume", "--out", run, "--quiet", img); code == 0 || !strings.Contains(stderr, "the run used the catalogue "+filepath.Join(d, "field_comp.fits")) {
		t.Errorf("run --resume without the catalogue: exit %d, %s", code, stderr)
	}
	if code, _, stderr = runCmd(t, "run", "--out", filepath.Join(d, "r2"), "--channels", "all", "--catalogues", "auto", img); code == 0 || !strings.Contains(stderr, "not with a channel range") {
		t.Errorf("--channels with --catalogues: exit %d, %s; want a usage error", code, stderr)
	}
}
