package pipeline

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress reports a stage's advance: on a terminal a line rewritten in
// place at most 5 times a second, otherwise a log line every interval.
// Safe for concurrent use; a nil *progress does nothing.
type progress struct {
	mu       sync.Mutex
	w        io.Writer // terminal or log stream; nil: none
	log      *logger
	term     bool
	interval time.Duration
	stage    string
	total    int
	n        int
	t0, last time.Time
}

func (p *progress) start(stage string, total int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stage, p.total, p.n = stage, total, 0
	p.t0 = time.Now()
	p.last = p.t0
}

func (p *progress) add(k int) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.n += k
	now := time.Now()
	every := p.interval
	if p.term {
		every = 200 * time.Millisecond
	}
	if now.Sub(p.last) < every && p.n < p.total {
		return
	}
	p.last = now
	line := p.line(now)
	if p.term && p.w != nil {
		fmt.Fprintf(p.w, "\r%-78s", line)
		return
	}
	if p.w != nil {
		fmt.Fprintf(p.w, "%s %s\n", Stamp(now), line)
	}
	p.log.printf("%s", line)
}

// event writes a timestamped line about the run (a stage starting or
// done) to the progress stream, below a terminal's progress line.
func (p *progress) event(format string, a ...any) {
	if p == nil || p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	clear := ""
	if p.term {
		clear = fmt.Sprintf("\r%-78s\r", "")
	}
	fmt.Fprintf(p.w, "%s%s %s\n", clear, Stamp(time.Now()), fmt.Sprintf(format, a...))
}

// Stamp is the timestamp of log and progress lines: RFC 3339, UTC,
// milliseconds.
func Stamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

// line is "extract  37/144 images  3.1 images/s  ETA 35s".
func (p *progress) line(now time.Time) string {
	el := now.Sub(p.t0).Seconds()
	rate := 0.0
	if el > 0 {
		rate = float64(p.n) / el
	}
	eta := "?"
	if rate > 0 {
		eta = time.Duration(float64(p.total-p.n) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%-9s %d/%d images  %.2f images/s  ETA %s", p.stage, p.n, p.total, rate, eta)
}

func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.term && p.w != nil && p.total > 0 {
		fmt.Fprintf(p.w, "\r%-78s\n", p.line(time.Now()))
	}
}

// logger writes timestamped lines to a rank's log file.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, a ...any) {
	if l == nil || l.w == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, "%s %s\n", Stamp(time.Now()), fmt.Sprintf(format, a...))
}
