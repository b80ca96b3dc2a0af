package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteMarkdown writes r as the tables of docs/performance.md.
func (r *PipelineResult) WriteMarkdown(w io.Writer) {
	m, d := r.Machine, r.Dataset
	sets := ""
	if len(d.Sets) > 0 {
		sets = " --set " + strings.Join(d.Sets, " --set ")
	}
	fmt.Fprintf(w, "#### %s%s (seed %d): %d images of %dx%d px, %.1f GB\n\n", d.Preset, sets, d.Seed, d.Images, d.Width, d.Height, float64(d.Bytes)/1e9)
	rev := short(m.Revision)
	if rev == "" {
		rev = short(m.GitHead)
	}
	if m.Modified || m.GitDirty {
		rev += " + uncommitted changes"
	}
	fmt.Fprintf(w, "%s; %d CPUs, %.0f GiB; %s; gotrap %s; %s page cache; load average %.2f %.2f %.2f before, %.2f %.2f %.2f after; %s.\n\n",
		m.CPUModel, m.CPUs, float64(m.MemTotal)/(1<<30), m.GoVersion, rev, r.Cache,
		m.LoadBefore[0], m.LoadBefore[1], m.LoadBefore[2], m.LoadAfter[0], m.LoadAfter[1], m.LoadAfter[2], r.When)
	fmt.Fprintf(w, "`%s` (mode %s, ranks %d)\n\n", strings.Join(shortCmd(r.Command), " "), r.Mode, r.Ranks)

	fmt.Fprintln(w, "| stage | wall s | CPU s | CPU/wall | items | peak RSS MB |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|")
	for _, s := range r.Stages {
		fmt.Fprintf(w, "| %s | %.2f | %.2f | %.2f | %d | %s |\n", s.Name, s.Wall, s.CPU, ratio(s.CPU, s.Wall), s.Items, mb(s.RSS))
	}
	fmt.Fprintf(w, "| **gotrap run** | **%.2f** | **%.2f** | %.2f | %d images | %s |\n", r.Wall, r.User+r.Sys, ratio(r.User+r.Sys, r.Wall), d.Images, mb(r.MaxRSS))
	if s := r.Report; s != nil {
		fmt.Fprintf(w, "| report (gotrap report, separate) | %.2f | %.2f | %.2f | | %s |\n", s.Wall, s.CPU, ratio(s.CPU, s.Wall), mb(s.RSS))
	}
	fmt.Fprintln(w)

	x := r.Derived
	trapPerCore := TraPImages / float64(TraPSeconds) / TraPCores
	fmt.Fprintln(w, "| rate | gotrap | reference |")
	fmt.Fprintln(w, "|---|---:|---|")
	fmt.Fprintf(w, "| images/s (end to end) | %.2f | TraP RSM: %.1f on %d cores |\n", x.ImagesPerSec, TraPImages/float64(TraPSeconds), TraPCores)
	fmt.Fprintf(w, "| images/s per core (wall x %d cores) | %.3f | TraP RSM: %.3f (x%.1f) |\n", x.Cores, x.ImagesPerSecCore, trapPerCore, x.VsTraPPerCore)
	fmt.Fprintf(w, "| images per CPU second | %.3f | |\n", x.ImagesPerCPUSec)
	fmt.Fprintf(w, "| Mpixel/s per core (end to end) | %.2f | |\n", x.MpixPerSecCore)
	fmt.Fprintf(w, "| timesteps stage (extraction, association, forced fits): Mpixel per CPU second | %.2f | PySE: 1.4 (Gaussian fits), 7 (moments) |\n", x.ExtractMpixPerCPU)
	fmt.Fprintf(w, "| timesteps stage: images per CPU second | %.2f | TraP: 0.85 per core |\n", x.ExtractImgPerCPU)
	fmt.Fprintf(w, "| wall time scaled to %d images (linear) | %.0f s | TraP: %d s on %d cores |\n", TraPImages, x.VsTraPWallScaled, TraPSeconds, TraPCores)
	if cpu := r.User + r.Sys; cpu > 0 && d.Images > 0 {
		fmt.Fprintf(w, "| CPU time / %d cores (the wall time on an idle machine, at best) | %.1f s; %.0f s scaled to %d images | |\n",
			x.Cores, cpu/float64(x.Cores), cpu/float64(x.Cores)*TraPImages/float64(d.Images), TraPImages)
	}
	fmt.Fprintln(w)

	fmt.Fprintf(w, "I/O: read %s through read calls (%s from storage; rusage %s), wrote %s (%s to storage; rusage %s). ",
		gb(r.IO.RChar), gb(r.IO.ReadBytes), gb(r.IO.InBlock), gb(r.IO.WChar), gb(r.IO.WriteBytes), gb(r.IO.OutBlock))
	var rss []string
	for _, p := range r.Procs {
		rss = append(rss, fmt.Sprintf("%s[%d] %s", p.Name, p.PID, mb(p.PeakRSS)))
	}
	fmt.Fprintf(w, "Peak RSS per process (MB): %s.\n\n", strings.Join(rss, ", "))
	if len(r.Parquet) > 0 {
		var total int64
		var parts []string
		for _, p := range r.Parquet {
			total += p.Bytes
			parts = append(parts, fmt.Sprintf("%s %s", p.Name, mb(p.Bytes)))
		}
		fmt.Fprintf(w, "Parquet: %s MB in all (%s MB).\n\n", mb(total), strings.Join(parts, ", "))
	}
	if len(r.Queries) > 0 {
		fmt.Fprintln(w, "| gotrap query | rows | first s | median s | CPU s (median) |")
		fmt.Fprintln(w, "|---|---:|---:|---:|---:|")
		for _, q := range r.Queries {
			fmt.Fprintf(w, "| %s | %d | %.3f | %.3f | %.3f |\n", q.Name, q.Rows, first(q.Wall), medianF(q.Wall), medianF(q.CPU))
		}
		fmt.Fprintln(w)
	}
}

// Compare prints the ratios B/A of two results' times and rates.
func Compare(w io.Writer, a, b *PipelineResult) {
	for _, x := range []struct {
		n string
		r *PipelineResult
	}{{"A", a}, {"B", b}} {
		fmt.Fprintf(w, "%s: %s %d images, %s, %s, %s, load %.2f %.2f\n", x.n, x.r.Dataset.Preset, x.r.Dataset.Images,
			short(x.r.Machine.GitHead), x.r.Mode, x.r.When, x.r.Machine.LoadBefore[0], x.r.Machine.LoadAfter[0])
	}
	if a.Dataset.Images != b.Dataset.Images {
		fmt.Fprintln(w, "note: the datasets differ; compare the rates, not the times")
	}
	fmt.Fprintf(w, "%-28s %12s %12s %8s\n", "metric", "A", "B", "B/A")
	row := func(name string, x, y float64) {
		fmt.Fprintf(w, "%-28s %12.3f %12.3f %8s\n", name, x, y, fmtRatio(y, x))
	}
	row("wall s", a.Wall, b.Wall)
	row("CPU s", a.User+a.Sys, b.User+b.Sys)
	var names []string
	for _, s := range a.Stages {
		names = append(names, s.Name)
	}
	for _, s := range b.Stages {
		if !slices.Contains(names, s.Name) {
			names = append(names, s.Name)
		}
	}
	for _, n := range names {
		sa, sb := stage(a, n), stage(b, n)
		row(n+" wall s", sa.Wall, sb.Wall)
		row(n+" CPU s", sa.CPU, sb.CPU)
	}
	row("max RSS MB", float64(a.MaxRSS)/1e6, float64(b.MaxRSS)/1e6)
	row("images/s per core", a.Derived.ImagesPerSecCore, b.Derived.ImagesPerSecCore)
	row("images per CPU s", a.Derived.ImagesPerCPUSec, b.Derived.ImagesPerCPUSec)
	row("extract Mpix per CPU s", a.Derived.ExtractMpixPerCPU, b.Derived.ExtractMpixPerCPU)
	for _, q := range a.Queries {
		for _, p := range b.Queries {
			if p.Name == q.Name {
				row("query "+q.Name+" s", medianF(q.Wall), medianF(p.Wall))
			}
		}
	}
}

func stage(r *PipelineResult, name string) StageRT {
	for _, s := range r.Stages {
		if s.Name == name {
			return s
		}
	}
	return StageRT{Name: name}
}

func shortCmd(c []string) []string {
	out := slices.Clone(c)
	for i, a := range out {
		if strings.Contains(a, "/") && len(a) > 40 {
			out[i] = "…/" + a[strings.LastIndexByte(a[:len(a)-1], '/')+1:]
		}
	}
	return out
}

func short(rev string) string {
	if len(rev) > 12 {
		return rev[:12]
	}
	return rev
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func fmtRatio(a, b float64) string {
	if b == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3f", a/b)
}

func mb(n int64) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f", float64(n)/1e6)
}

func gb(n int64) string { return fmt.Sprintf("%.2f GB", float64(n)/1e9) }

func first(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	return x[0]
}

func medianF(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	return s[len(s)/2]
}
