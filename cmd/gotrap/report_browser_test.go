package main

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
)

// browser is a headless Chromium driven over the DevTools protocol, with
// the console messages of its tab (errors, warnings and exceptions).
type browser struct {
	t    *testing.T
	ctx  context.Context
	mu   sync.Mutex
	msgs []string
}

func newBrowser(t *testing.T, bin string) *browser {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.UserDataDir(t.TempDir()), chromedp.Flag("disable-gpu", true), chromedp.Flag("hide-scrollbars", true),
		chromedp.WindowSize(1400, 900))
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	t.Cleanup(func() { cancelT(); cancel(); cancelA() })
	b := &browser{t: t, ctx: ctx}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() {
				b.mu.Lock()
				b.msgs = append(b.msgs, fmt.Sprintf("%s %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text))
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// console returns and clears the messages seen so far.
func (b *browser) console() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	m := b.msgs
	b.msgs = nil
	return m
}

func (b *browser) do(steps ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, steps...); err != nil {
		b.t.Fatalf("chromium: %v", err)
	}
}

func eval[T any](b *browser, js string) T {
	b.t.Helper()
	v, err := chromedp.Run(b.ctx, chromedp.Evaluate[T](js))
	if err != nil {
		b.t.Fatalf("chromium: evaluating %.80q: %v", js, err)
	}
	return v
}

// load opens page at the given viewport width and waits for its
// self-check (see internal/report's doc); it returns the status message.
func (b *browser) load(page string, width int64) (status, msg string) {
	b.t.Helper()
	b.do(chromedp.EmulateViewport(width, 900), chromedp.Navigate("file://"+page))
	poll := func() error {
		_, err := chromedp.Run(b.ctx, chromedp.Poll[bool](`document.getElementById('selfcheck') !== null && document.getElementById('selfcheck').getAttribute('data-status') !== 'pending'`,
			chromedp.WithPollingTimeout(20*time.Second)))
		return err
	}
	err := poll()
	// The poll can start in the execution context of the page left
	// behind, which the navigation then destroys (seen under load); the
	// new page's context answers a second poll.
	for try := 0; err != nil && strings.Contains(err.Error(), "Cannot find context with specified id") && try < 3; try++ {
		err = poll()
	}
	if err != nil {
		b.t.Fatalf("%s: no self-check result: %v", page, err)
	}
	r := eval[[]string](b, `[document.getElementById('selfcheck').getAttribute('data-status'), document.getElementById('selfcheck').textContent]`)
	return r[0], r[1]
}

// plotBox is what layoutJS measures of one interactive plot, in CSS px.
type plotBox struct {
	Spec                     string
	Left, Right, Width       float64 // the plot's container
	ChartW                   float64 // uPlot's drawn width
	LegL, LegR, LegT, LegB   float64 // the legend's box
	PlotT, PlotB             float64 // the container's top and bottom
	LegScrollW, LegClientW   float64
	ClippedLabels, Labels    int
	ViewportW, DocumentWidth float64
}

const layoutJS = `Array.from(document.querySelectorAll('div.gt-plot')).map(function (el) {
  var r = el.getBoundingClientRect(), lg = el.querySelector('.u-legend'), l = lg.getBoundingClientRect();
  var labels = Array.from(lg.querySelectorAll('.u-series')), clipped = 0;
  labels.forEach(function (s) { var b = s.getBoundingClientRect();
    if (s.scrollWidth > s.clientWidth + 1 || b.left < r.left - 0.5 || b.right > r.right + 0.5) { clipped++; } });
  return {Spec: el.getAttribute('data-spec'), Left: r.left, Right: r.right, Width: el.clientWidth,
    ChartW: GT.charts.filter(function (c) { return c.el === el; })[0].u.width,
    LegL: l.left, LegR: l.right, LegT: l.top, LegB: l.bottom, PlotT: r.top, PlotB: r.bottom,
    LegScrollW: lg.scrollWidth, LegClientW: lg.clientWidth, ClippedLabels: clipped, Labels: labels.length,
    ViewportW: window.innerWidth, DocumentWidth: document.documentElement.scrollWidth};
})`

// checkLayout fails when a plot does not fill its container, runs off the
// page, or its legend's box leaves the plot's or clips a label.
func (b *browser) checkLayout(page string, width int64) int {
	b.t.Helper()
	boxes := eval[[]plotBox](b, layoutJS)
	for _, p := range boxes {
		// 1 px: uPlot sizes its canvas in whole CSS pixels.
		if p.ChartW < p.Width-1 || p.ChartW > p.Width+1 {
			b.t.Errorf("%s at %d px: plot %s is %.0f px wide in a %.0f px container", page, width, p.Spec, p.ChartW, p.Width)
		}
		if p.Right > p.ViewportW+0.5 || p.DocumentWidth > p.ViewportW+0.5 {
			b.t.Errorf("%s at %d px: plot %s ends at %.0f px, page %.0f px wide, viewport %.0f", page, width, p.Spec, p.Right, p.DocumentWidth, p.ViewportW)
		}
		// 0.5 px: sub-pixel layout rounding.
		if p.LegL < p.Left-0.5 || p.LegR > p.Right+0.5 || p.LegT < p.PlotT-0.5 || p.LegB > p.PlotB+0.5 {
			b.t.Errorf("%s at %d px: legend of %s [%.1f, %.1f]x[%.1f, %.1f] leaves the plot [%.1f, %.1f]x[%.1f, %.1f]",
				page, width, p.Spec, p.LegL, p.LegR, p.LegT, p.LegB, p.Left, p.Right, p.PlotT, p.PlotB)
		}
		if p.LegScrollW > p.LegClientW+1 || p.ClippedLabels > 0 || p.Labels == 0 {
			b.t.Errorf("%s at %d px: legend of %s: %d of %d entries clipped, scroll width %.0f > %.0f", page, width, p.Spec, p.ClippedLabels, p.Labels, p.LegScrollW, p.LegClientW)
		}
	}
	return len(boxes)
}

// screenshot captures the viewport, checks it is a PNG of the viewport's
// width, and keeps it as DIR/name in GOTRAP_SCREENSHOTS=DIR (make
// screenshots writes docs/).
func (b *browser) screenshot(name string, width int64) {
	b.t.Helper()
	buf, err := chromedp.Run(b.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil || int64(img.Bounds().Dx()) != width {
		b.t.Fatalf("screenshot %s: %v (%v), want %d px wide", name, err, img.Bounds(), width)
	}
	if dir := os.Getenv("GOTRAP_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), buf, 0o644); err != nil {
			b.t.Fatal(err)
		}
	}
}

// pointAt scrolls plot k into view and returns the viewport coordinates
// of the first point of series s of its spec that links to a page.
func pointAt(b *browser, k, s int) (x, y float64, href string) {
	b.t.Helper()
	r := eval[[]any](b, fmt.Sprintf(`(function () {
  var c = GT.charts[%d]; c.el.scrollIntoView({block: 'center'});
  var sp = window.GTPLOTS[c.el.getAttribute('data-spec')], ps = sp.series[%d].pts.filter(function (p) { return p[3]; });
  if (!ps.length) { return [0, 0, '']; }
  var at = c.locate(ps[0][3]); return [at.x, at.y, ps[0][3]];
})()`, k, s))
	return r[0].(float64), r[1].(float64), r[2].(string)
}

// clickThrough clicks the first linked point of series s of plot k and
// checks the browser opens that point's source page.
func (b *browser) clickThrough(page string, k, s int) string {
	b.t.Helper()
	x, y, href := pointAt(b, k, s)
	if href == "" {
		b.t.Fatalf("%s: plot %d series %d has no linked point", page, k, s)
	}
	// Hovering shows the point's values.
	b.do(chromedp.MouseEvent(chromedp.MouseMoved, x, y))
	tip := eval[string](b, fmt.Sprintf(`(function () { var t = GT.charts[%d].el.querySelector('.gt-tip'); return t.style.display === 'block' ? t.textContent : ''; })()`, k))
	if !strings.Contains(tip, "click: source page") {
		b.t.Errorf("%s: hovering the point of %s shows %q", page, href, tip)
	}
	b.do(chromedp.MouseClickXY(x, y))
	want := filepath.Join(filepath.Dir(page), href)
	loc, err := b.sourcePath()
	if err != nil || loc != want {
		b.t.Fatalf("%s: clicking the point of %s opened %q (%v), want %s", page, href, loc, err, want)
	}
	return href
}

// sourcePath waits (10 s at most) for the tab to show a source page and
// returns its path; evaluating fails while the navigation replaces the
// page, so it retries.
func (b *browser) sourcePath() (string, error) {
	var err error
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		var loc string
		loc, err = chromedp.Run(b.ctx, chromedp.Evaluate[string](`document.readyState === 'complete' ? location.pathname : ''`))
		if err == nil && strings.Contains(loc, "/sources/") {
			return loc, nil
		}
	}
	return "", fmt.Errorf("no source page after 10 s (last error %v)", err)
}

// checkPages loads the top pages and the source pages (the first
// maxSources; negative: all) of the report in dir at 1400 px, and the top
// pages and one source page at 800 px, and checks each: self-check,
// console, layout (checkLayout). With shots it takes the screenshots.
// It returns the number of source pages and of plots measured.
func (b *browser) checkPages(dir string, maxSources int, shots bool) (sources, plots int) {
	t := b.t
	t.Helper()
	srcs, _ := filepath.Glob(filepath.Join(dir, "sources", "*.html"))
	if len(srcs) == 0 {
		t.Fatalf("%s: no source pages", dir)
	}
	if maxSources >= 0 && len(srcs) > maxSources {
		srcs = srcs[:maxSources]
	}
	top := []string{"index.html", "sky.html", "etav.html", "candidates.html"}
	var pages []string
	for _, p := range top {
		pages = append(pages, filepath.Join(dir, p))
	}
	pages = append(pages, srcs...)
	for _, width := range []int64{1400, 800} {
		for i, page := range pages {
			if width == 800 && i > len(top) {
				break // at 800 px: the top pages and one source page
			}
			status, msg := b.load(page, width)
			if status != "ok" {
				t.Errorf("%s at %d px: self-check %s: %s", page, width, status, msg)
			}
			if m := b.console(); len(m) > 0 {
				t.Errorf("%s at %d px: console:\n%s", page, width, strings.Join(m, "\n"))
			}
			plots += b.checkLayout(page, width)
			if shots && i <= len(top) {
				name := strings.TrimSuffix(filepath.Base(page), ".html")
				if i == len(top) {
					name = "source"
				}
				b.screenshot(fmt.Sprintf("report-%s-%d.png", name, width), width)
			}
		}
	}
	return len(srcs), plots
}

// TestReportBrowser drives headless Chromium over the DevTools protocol
// through the report of a simulated tiny run: every page loads from
// file:// with no console message and a clean self-check, at 1400 and
// 800 px every plot fills its container and its legend fits inside it; a
// click on an eta-V point and on a sky-map point opens that source's
// page; a table link opens a source page; dragging zooms. With
// GOTRAP_SCREENSHOTS=DIR the screenshots go to DIR (make screenshots).
// Run directories in GOTRAP_REPORT_RUNS (':'-separated, e.g. an rsm-mini
// run) are reported into temporary folders and their top pages and first
// 10 source pages checked the same way.
func TestReportBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	bin := chromium(t)
	runDir, out := tinyReport(t)
	if !strings.Contains(out, "interactive") {
		t.Fatalf("report: %s (want an interactive report: make web embeds the plotting library)", out)
	}
	dir := filepath.Join(runDir, "report")
	b := newBrowser(t, bin)

	sources, plots := b.checkPages(dir, -1, true)
	// index 2 + sky 1 + eta-V 2 bands + a light curve per source page, at
	// 1400 px, and again for the 5 pages at 800 px.
	if want := 2*(2+1+2+1) + sources - 1; plots != want {
		t.Errorf("%d plots measured, want %d", plots, want)
	}

	// Resizing the window resizes the plots (1400 -> 800 px, no reload).
	etav := filepath.Join(dir, "etav.html")
	b.load(etav, 1400)
	w0 := eval[float64](b, `GT.charts[0].u.width`)
	b.do(chromedp.EmulateViewport(800, 900))
	w1, err := chromedp.Run(b.ctx, chromedp.Poll[float64](`GT.charts[0].u.width < 800 && GT.charts[0].u.width`, chromedp.WithPollingTimeout(5*time.Second)))
	if err != nil || w0 < 1000 || w1 >= 800 {
		t.Errorf("eta-V plot %.0f px wide at 1400 px, %.0f px after resizing to 800 (%v)", w0, w1, err)
	}
	b.checkLayout(etav+" (resized)", 800)

	// Zoom: a drag across the eta-V plot narrows its eta range.
	b.load(etav, 1400)
	r := eval[[]float64](b, `(function () { var c = GT.charts[0]; c.el.scrollIntoView({block: 'center'}); var o = c.u.over.getBoundingClientRect();
  return [o.left, o.top, o.width, o.height, c.u.scales.x.min, c.u.scales.x.max]; })()`)
	held := func(p *input.DispatchMouseEventParams) { p.Button, p.Buttons = input.MouseButtonLeft, 1 }
	x0, y0 := r[0]+0.3*r[2], r[1]+0.3*r[3]
	x1, y1 := r[0]+0.6*r[2], r[1]+0.7*r[3]
	b.do(chromedp.MouseEvent(chromedp.MouseMoved, x0, y0),
		chromedp.MouseEvent(chromedp.MousePressed, x0, y0, chromedp.ButtonLeft, chromedp.ClickCount(1)),
		chromedp.MouseEvent(chromedp.MouseMoved, (x0+x1)/2, (y0+y1)/2, held),
		chromedp.MouseEvent(chromedp.MouseMoved, x1, y1, held),
		chromedp.MouseEvent(chromedp.MouseReleased, x1, y1, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	z := eval[[]float64](b, `[GT.charts[0].u.scales.x.min, GT.charts[0].u.scales.x.max]`)
	if !(z[0] > r[4] && z[1] < r[5]) {
		t.Errorf("drag zoom: eta range [%g, %g] -> [%g, %g], want a narrower one", r[4], r[5], z[0], z[1])
	}

	// Click-through: an eta-V point of a variable candidate (series 2), a
	// sky-map point of a new source (series 2), a candidate table's link.
	b.load(etav, 1400)
	b.clickThrough(etav, 0, 2)
	sky := filepath.Join(dir, "sky.html")
	b.load(sky, 1400)
	b.clickThrough(sky, 0, 2)
	b.load(filepath.Join(dir, "candidates.html"), 1400)
	href := eval[string](b, `document.querySelector('#newsrc a').getAttribute('href')`)
	b.do(chromedp.Click(`#newsrc a`))
	if loc, err := b.sourcePath(); err != nil || loc != filepath.Join(dir, href) {
		t.Errorf("candidates.html: the table link %s opened %q (%v)", href, loc, err)
	}
	// The filter box hides the rows without the words typed.
	b.load(filepath.Join(dir, "candidates.html"), 1400)
	n := eval[[]float64](b, `(function () { var inp = document.querySelector('input.gt-filter'), t = document.getElementById('newsrc');
  var all = t.tBodies[0].rows.length, first = t.tBodies[0].rows[0].cells[1].textContent;
  inp.value = first; inp.dispatchEvent(new Event('input'));
  var shown = Array.from(t.tBodies[0].rows).filter(function (r) { return r.style.display !== 'none'; }).length;
  return [all, shown]; })()`)
	if n[0] < 2 || n[1] != 1 {
		t.Errorf("candidates.html: filtering the new sources by the first one's name shows %v of %v rows, want 1", n[1], n[0])
	}
	if m := b.console(); len(m) > 0 {
		t.Errorf("console:\n%s", strings.Join(m, "\n"))
	}

	for _, extra := range filepath.SplitList(os.Getenv("GOTRAP_REPORT_RUNS")) {
		if extra == "" {
			continue
		}
		dst := filepath.Join(t.TempDir(), "report")
		if _, e, code := runGotrap(t, "report", "--out", dst, extra); code != 0 {
			t.Fatalf("report of %s: %s", extra, e)
		}
		n, plots := b.checkPages(dst, 10, false)
		t.Logf("%s: the top pages and %d source pages checked, %d plots", extra, n, plots)
	}
}
