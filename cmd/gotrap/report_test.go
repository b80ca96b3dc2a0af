package main

import (
	"bytes"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestReportCommand runs "gotrap report" on the hand-made run.
func TestReportCommand(t *testing.T) {
	dir := handRun(t)
	out, errs, code := runGotrap(t, "report", "--voevent", "--rate", "5", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"report: " + filepath.Join(dir, "report", "index.html"), "2 new sources (1 with vetting flags), 2 variable candidates, 3 with cut-outs", "source pages (interactive plots)",
		"3 VOEvents written, 1 suppressed or withheld"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if _, _, code := runGotrap(t, "report", "--role", "alert", "--voevent", dir); code == 0 {
		t.Error("a bad role was accepted")
	}
	if _, _, code := runGotrap(t, "report"); code != 2 {
		t.Errorf("no RUN: exit %d, want 2", code)
	}
	if _, _, code := runGotrap(t, "report", filepath.Join(dir, "nosuch")); code != 1 {
		t.Errorf("missing RUN: exit %d, want 1", code)
	}
}

// chromium returns the path of Debian's chromium, installing it (and
// chromium-driver, libxml2-utils: the report's test tools) when missing
// and root on Debian; otherwise the test skips.
func chromium(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("chromium"); err == nil {
		return p
	}
	pkgs := []string{"chromium", "chromium-driver", "libxml2-utils"}
	if _, err := os.Stat("/etc/debian_version"); err != nil || os.Geteuid() != 0 {
		t.Skipf("chromium is not installed and cannot be here (need root on Debian: apt-get install %s)", strings.Join(pkgs, " "))
	}
	args := append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)
	if _, err := exec.Command("apt-get", args...).CombinedOutput(); err != nil {
		exec.Command("apt-get", "update", "-qq").Run()
		if out, err := exec.Command("apt-get", args...).CombinedOutput(); err != nil {
			t.Skipf("could not install chromium: %v\n%s", err, out)
		}
	}
	p, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("installed chromium but it is not on PATH")
	}
	return p
}

// headless runs chromium on a page with a fresh profile and no network
// services; extra adds --dump-dom or --screenshot.
func headless(t *testing.T, bin, page string, extra ...string) (stdout, stderr string) {
	t.Helper()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--user-data-dir=" + t.TempDir(),
		"--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
		"--disable-quic", "--hide-scrollbars", "--enable-logging=stderr", "--v=0", "--virtual-time-budget=10000"}, extra...)
	args = append(args, "file://"+page)
	cmd := exec.Command(bin, args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %s: %v\n%s", page, err, e.String())
	}
	return o.String(), e.String()
}

var (
	selfCheckRE = regexp.MustCompile(`<p id="selfcheck" data-status="([a-z]+)"(?: data-images="(\d+)")?(?: data-plots="\d+")?>([^<]*)`)
	consoleRE   = regexp.MustCompile(`(?m)^.*:CONSOLE[:(].*$`)
	imgRE       = regexp.MustCompile(`<img `)
)

// pageStatus loads page in chromium and returns its self-check (status
// "ok" or "fail", the images it counted, its message; see
// internal/report's doc) and the console lines of chromium's log.
func pageStatus(t *testing.T, bin, page string) (status, images, msg string, console []string) {
	t.Helper()
	dom, logs := headless(t, bin, page, "--dump-dom")
	m := selfCheckRE.FindStringSubmatch(dom)
	if m == nil {
		return "missing", "", "no self-check in the DOM (did the script run?)", nil
	}
	return m[1], m[2], m[3], consoleRE.FindAllString(logs, -1)
}

// checkPage fails on a console message, a script error, a resource that
// did not load or an image that did not decode.
func checkPage(t *testing.T, bin, page string) {
	t.Helper()
	status, images, msg, console := pageStatus(t, bin, page)
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	nimg := len(imgRE.FindAllString(string(src), -1))
	if status != "ok" || images != strconv.Itoa(nimg) {
		t.Errorf("%s: self-check %s with %s images (page has %d): %s", page, status, images, nimg, msg)
	}
	if len(console) > 0 {
		t.Errorf("%s: console messages:\n%s", page, strings.Join(console, "\n"))
	}
}

// checkReport loads the top pages and up to maxPages source pages.
func checkReport(t *testing.T, bin, dir string, maxPages int) {
	index := filepath.Join(dir, "index.html")
	for _, p := range []string{"index.html", "sky.html", "etav.html", "candidates.html"} {
		checkPage(t, bin, filepath.Join(dir, p))
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "sources", "*.html"))
	if len(pages) > maxPages {
		pages = pages[:maxPages]
	}
	for _, p := range pages {
		checkPage(t, bin, p)
	}
	shot := filepath.Join(t.TempDir(), "summary.png")
	headless(t, bin, index, "--window-size=1280,2400", "--screenshot="+shot)
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil || img.Bounds().Dx() != 1280 {
		t.Fatalf("screenshot: %v (%v)", err, img.Bounds())
	}
	t.Logf("%s: the top pages and %d source pages load cleanly; screenshot %s", dir, len(pages), shot)
}

// TestReportInChromium renders the report of the hand-made run and of a
// simulated tiny run (gotrap simulate + gotrap run, in process) in
// headless Chromium. Extra run directories in GOTRAP_REPORT_RUNS
// (separated by ':', e.g. an rsm-mini run) are reported into temporary
// directories and checked too. (make screenshots: TestReportBrowser.)
func TestReportInChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	bin := chromium(t)
	hand := handRun(t)
	if _, e, code := runGotrap(t, "report", "--voevent", hand); code != 0 {
		t.Fatalf("report of the hand-made run: %s", e)
	}
	// TestReportBrowser loads every page in one browser; here a fresh
	// one per page (--dump-dom), for a few.
	checkReport(t, bin, filepath.Join(hand, "report"), 3)

	// The check sees a broken image and a script error.
	index := filepath.Join(hand, "report", "index.html")
	src, _ := os.ReadFile(index)
	broken := strings.Replace(string(src), "</body>", `<img src="plots/nosuch.svg"><script>console.error("boom")</script></body>`, 1)
	bad := filepath.Join(hand, "report", "broken.html")
	if err := os.WriteFile(bad, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	if status, _, msg, console := pageStatus(t, bin, bad); status != "fail" || !strings.Contains(msg, "nosuch.svg") || !strings.Contains(msg, "boom") || len(console) == 0 {
		t.Errorf("broken page: status %s, %q, console %q", status, msg, console)
	}

	runDir, out := tinyReport(t)
	// Seed 1: 4 new sources and 7 variable candidates (its 4 variables
	// and 3 of its transients, which are new sources too), 6 cut-outs
	// per candidate page.
	if !strings.Contains(out, "4 new sources") || !strings.Contains(out, " 66 cut-outs") {
		t.Errorf("tiny run report: %s (want the 4 new sources of seed 1 and 7 variables, 6 cut-outs each)", out)
	}
	checkReport(t, bin, filepath.Join(runDir, "report"), 3)

	// GOTRAP_REPORT_PAGES caps the source pages checked per extra run
	// (default 10; 0 checks every page).
	extraPages := 10
	if v := os.Getenv("GOTRAP_REPORT_PAGES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			t.Fatalf("GOTRAP_REPORT_PAGES=%q: want a count, 0 for all", v)
		}
		extraPages = n
		if n == 0 {
			extraPages = math.MaxInt
		}
	}
	for _, extra := range filepath.SplitList(os.Getenv("GOTRAP_REPORT_RUNS")) {
		if extra == "" {
			continue
		}
		dst := filepath.Join(t.TempDir(), "report")
		out, e, code := runGotrap(t, "report", "--voevent", "--out", dst, extra)
		if code != 0 {
			t.Fatalf("report of %s: %s", extra, e)
		}
		t.Logf("%s:\n%s", extra, out)
		checkReport(t, bin, dst, extraPages)
	}
}
