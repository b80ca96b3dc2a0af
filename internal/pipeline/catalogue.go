package pipeline

import (
	"bytes"
	"cmp"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"gotrap/catalog"
	"gotrap/internal/rundir"
	"gotrap/reduce"
)

// TableAssocSkyRegions is the extra table of assocskyrgn rows (SPEC 1:
// which sky regions should contain each runcat), written as
// RUN/assocskyrgn.parquet; catalog/duck makes it the view assocskyrgn.
const TableAssocSkyRegions = "assocskyrgn"

// measurementSink writes the timesteps stage's measurements into this rank's part
// files measurements/rank=RRRR/{blind,forced,monitor}-00000.parquet.
type measurementSink struct {
	w [3]*catalog.FileWriter[catalog.Measurement]
	n [3]int
	// opts are the writers' options (the parts' merges write with them too).
	opts []catalog.Option
}

// measurementRowGroup is the row group size of the measurement parts. A
// writer holds one row group of records (432 B each) until it is full,
// and converts it whole into columns when it writes it: 4,096 rows keep
// the three writers of a rank under 8 MB. With 16,384 the writers and
// their conversions were 57 MB of the timesteps' peak heap at 576 images
// of rsm-mini, and the default 65,536 made them the largest item of a
// long run's heap (docs/performance.md "Memory"); DuckDB scans them
// equally.
const measurementRowGroup = 1 << 12

func newMeasurementSink(run string, rank int, copts []catalog.Option) (*measurementSink, error) {
	return newMeasurementSinkPart(run, rank, copts, 0)
}

// newMeasurementSinkPart opens this rank's part files number part (a live
// run opens one per publish: live.publish).
func newMeasurementSinkPart(run string, rank int, copts []catalog.Option, part int) (*measurementSink, error) {
	s := &measurementSink{opts: append(slices.Clip(copts), catalog.WithRowGroupRows(measurementRowGroup))}
	for k, stage := range measurementStages {
		w, err := catalog.Create[catalog.Measurement](rundir.PartPath(run, catalog.TableMeasurements, rank, stage, part), s.opts...)
		if err != nil {
			s.abort()
			return nil, err
		}
		s.w[k] = w
	}
	return s, nil
}

func (s *measurementSink) write(k int, ms []catalog.Measurement) error {
	s.n[k] += len(ms)
	return s.w[k].Write(ms...)
}
func (s *measurementSink) blind(ms []catalog.Measurement) error   { return s.write(0, ms) }
func (s *measurementSink) forced(ms []catalog.Measurement) error  { return s.write(1, ms) }
func (s *measurementSink) monitor(ms []catalog.Measurement) error { return s.write(2, ms) }

func (s *measurementSink) abort() {
	for _, w := range s.w {
		if w != nil {
			w.Abort()
		}
	}
}

func (s *measurementSink) close() error {
	// The three parts are committed together (rundir.Batch): a live run
	// closes them at every commit.
	var b rundir.Batch
	for k, w := range s.w {
		if err := w.CloseTo(&b); err != nil {
			for _, v := range s.w[k+1:] {
				v.Abort()
			}
			b.Abort()
			return err
		}
	}
	return b.Commit()
}

// removeParts removes the measurement part files of stage ("": of every
// stage) that any rank wrote (rundir.PartPath names), and the rank=RRRR
// and measurements folders left empty. Other files there are the user's
// and stay.
func removeParts(run, stage string) error {
	return removePartsBelow(run, catalog.TableMeasurements, stage, -1)
}

// removePartsBelow removes the part files of table written by stage (""
// every stage) numbered below below (all when below < 0), and the
// folders left empty.
func removePartsBelow(run, table, stage string, below int) error {
	dir := rundir.TableDir(run, table)
	parts, err := filepath.Glob(rundir.PartGlob(run, table, stage))
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	for _, p := range parts {
		n, ok := rundir.PartSeq(p)
		if !ok || (below >= 0 && n >= below) {
			continue
		}
		if err := os.Remove(p); err != nil && !isNotExist(err) {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	ranks, _ := filepath.Glob(rundir.RankDirGlob(run, table))
	for _, d := range append(ranks, dir) {
		os.Remove(d) // only when empty
	}
	return nil
}

// isNotExistStat reports whether path does not exist.
func isNotExistStat(path string) bool {
	_, err := os.Stat(path)
	return isNotExist(err)
}

// readImagesTable reads the images table of run: images.parquet, or
// while a live run goes its parts (live.publishImages), by image id.
func readImagesTable(run string) ([]catalog.Image, error) {
	if p := rundir.TablePath(run, catalog.TableImages); !isNotExistStat(p) {
		return readStaged[catalog.Image](p)
	}
	parts, err := filepath.Glob(rundir.PartGlob(run, catalog.TableImages, ""))
	if err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	if len(parts) == 0 {
		return nil, fmt.Errorf("pipeline: %s: no images table (%s) or parts", run, filepath.Base(rundir.TablePath(run, catalog.TableImages)))
	}
	var rows []catalog.Image
	for _, p := range parts {
		r, err := readStaged[catalog.Image](p)
		if err != nil {
			return nil, err
		}
		rows = append(rows, r...)
	}
	slices.SortFunc(rows, func(x, y catalog.Image) int { return cmp.Compare(x.ID, y.ID) })
	return rows, nil
}

// startCatalogue prepares the catalogue of a run (a collective): rank 0
// removes what an earlier call left of the tables that the timesteps
// stage rewrites (varmetric.parquet, which would shadow the view DuckDB
// computes, and every measurement part, perhaps of more ranks), then
// every rank opens its measurement parts.
//
// A live run's (part > 0: the timesteps it had committed, plus one)
// keeps the catalogue that readers see while it replays its timesteps:
// its parts take the number part, and its first publish removes the
// older ones (live.publish).
func startCatalogue(run string, a *assocRun, copts []catalog.Option, part int) (*measurementSink, error) {
	if part > 0 {
		return newMeasurementSinkPart(run, a.me, copts, part)
	}
	if a.me == 0 {
		if err := os.Remove(rundir.TablePath(run, catalog.TableVarMetric)); err != nil && !isNotExist(err) {
			return nil, fmt.Errorf("pipeline: %w", err)
		}
		if err := removeParts(run, ""); err != nil {
			return nil, err
		}
		for _, t := range []string{catalog.TableAssociations, catalog.TableImages} {
			if err := removePartsBelow(run, t, "", -1); err != nil {
				return nil, err
			}
		}
	}
	if err := a.comm.Barrier(); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	return newMeasurementSink(run, a.me, copts)
}

// rejectUnplanned rejects in rows the images outside every timestep: an
// unreadable header, or a geometry the association cannot use (Plan).
func rejectUnplanned(plan *Plan, rows []catalog.Image) {
	in := make([]bool, plan.Len())
	for _, ts := range plan.Timesteps {
		for _, i := range ts {
			in[i] = true
		}
	}
	for i := range rows {
		if !in[i] {
			rows[i].Rejected = true
			rows[i].RejectReason = sql.NullInt64{Int64: catalog.RejectReadError, Valid: true}
			rows[i].RejectComment = plan.Image(i).HeaderErr
		}
	}
}

// writeCommit records timestep t (0-based) of plan as committed.
func writeCommit(run string, plan *Plan, t int) error {
	c := rundir.Commit{Timesteps: t + 1}
	for _, ts := range plan.Timesteps[:t+1] {
		c.Images += len(ts)
	}
	if ts := plan.Timesteps[t]; len(ts) > 0 {
		c.LastStart = plan.Image(ts[0]).geo().tauStart.UTC()
	}
	return rundir.WriteCommit(run, c)
}

// writeTable writes rows to RUN/TABLE.parquet atomically, committed with
// b (rundir.Batch), and adds their number to *n.
func writeTable[T any](run, table string, rows []T, copts []catalog.Option, n *int, b *rundir.Batch) error {
	*n += len(rows)
	w, err := catalog.Create[T](rundir.TablePath(run, table), copts...)
	if err != nil {
		return err
	}
	if err := w.Write(rows...); err != nil {
		w.Abort()
		return err
	}
	return w.CloseTo(b)
}

func fillCounts(sum *Summary, rcs []catalog.Runcat, ns []catalog.NewSource, nAssoc, nBands, nRegions int) {
	sum.Runcats, sum.MonitorSrcs = len(rcs), 0
	for _, r := range rcs {
		if r.MonSrc {
			sum.MonitorSrcs++
		}
	}
	sum.NewSources, sum.Likely = len(ns), 0
	for _, s := range ns {
		if s.Type == catalog.NewSourceLikely {
			sum.Likely++
		}
	}
	sum.Associations, sum.Bands, sum.SkyRegions = nAssoc, nBands, nRegions
}

// reuseCatalogue takes the images rows and the counts of sum from the
// finished catalogue tables of run (a resumed run whose tables are done).
func reuseCatalogue(run string, comm reduce.Comm, rows []catalog.Image, sum *Summary) error {
	got, err := readStaged[catalog.Image](rundir.TablePath(run, catalog.TableImages))
	if err != nil {
		return err
	}
	if len(got) != len(rows) {
		return fmt.Errorf("pipeline: %s has %d rows for %d images", rundir.TablePath(run, catalog.TableImages), len(got), len(rows))
	}
	copy(rows, got)
	return countCatalogue(run, sum)
}

// countCatalogue fills the counts of sum from a finished catalogue.
func countCatalogue(run string, sum *Summary) error {
	rcs, err := readStaged[catalog.Runcat](rundir.TablePath(run, catalog.TableRuncat))
	if err != nil {
		return err
	}
	ns, err := readStaged[catalog.NewSource](rundir.TablePath(run, catalog.TableNewSources))
	if err != nil {
		return err
	}
	as, err := readStaged[catalog.Association](rundir.TablePath(run, catalog.TableAssociations))
	if err != nil {
		return err
	}
	bs, err := readStaged[catalog.Band](rundir.TablePath(run, catalog.TableBands))
	if err != nil {
		return err
	}
	rs, err := readStaged[catalog.SkyRegion](rundir.TablePath(run, catalog.TableSkyRegions))
	if err != nil {
		return err
	}
	fillCounts(sum, rcs, ns, len(as), len(bs), len(rs))
	counts := []*int{&sum.Blind, &sum.Forced, &sum.Monitor}
	for k, stage := range []string{"blind", "forced", "monitor"} {
		// One part per rank of the run that wrote the catalogue.
		files, err := filepath.Glob(rundir.PartGlob(run, catalog.TableMeasurements, stage))
		if err != nil {
			return fmt.Errorf("pipeline: %w", err)
		}
		if len(files) == 0 {
			return fmt.Errorf("pipeline: %s: no %s measurement parts", run, stage)
		}
		for _, f := range files {
			ms, err := readStaged[catalog.Measurement](f)
			if err != nil {
				return err
			}
			*counts[k] += len(ms)
		}
	}
	return nil
}

// maxUnreadableListed is how many unreadable files the summary names;
// the rest are counted.
const maxUnreadableListed = 50

// Format writes the run summary as text.
func (s *Summary) Format(w io.Writer) {
	fmt.Fprintf(w, "images        %d in %d timesteps, %d bands, %d sky regions\n", s.Images, s.Timesteps, s.Bands, s.SkyRegions)
	fmt.Fprintf(w, "rejected      %d", s.Rejected)
	for i, k := range sortedKeys(s.RejectedBy) {
		sep := ", "
		if i == 0 {
			sep = " ("
		}
		fmt.Fprintf(w, "%s%s: %d", sep, k, s.RejectedBy[k])
	}
	if len(s.RejectedBy) > 0 {
		fmt.Fprint(w, ")")
	}
	fmt.Fprintln(w)
	if n := len(s.Unreadable); n > 0 {
		fmt.Fprintf(w, "unreadable    %d files (rejected; images.parquet has them all):\n", n)
		for i, u := range s.Unreadable {
			if i == maxUnreadableListed && n > i+1 {
				fmt.Fprintf(w, "  ... and %d more\n", n-i)
				break
			}
			fmt.Fprintf(w, "  %s: %s\n", u.Path, u.Reason)
		}
	}
	fmt.Fprintf(w, "measurements  %d blind, %d forced (null detections), %d monitor", s.Blind, s.Forced, s.Monitor)
	if s.Backward > 0 {
		fmt.Fprintf(w, ", %d backward forced fits", s.Backward)
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "sources       %d in the running catalogue (%d monitor), %d associations\n", s.Runcats, s.MonitorSrcs, s.Associations)
	fmt.Fprintf(w, "new sources   %d (%d likely transients, type 1)\n", s.NewSources, s.Likely)
	if s.Reused > 0 || s.ForcedUsed > 0 {
		fmt.Fprintf(w, "resumed       %d extractions and %d forced-fit images reused\n", s.Reused, s.ForcedUsed)
	}
	if s.Ranks > 1 {
		var calls, recv int64
		for _, c := range s.Comm {
			calls += c.Calls
			recv += c.Recv
		}
		fmt.Fprintf(w, "ranks         %d (rank 0: %d collectives, %d bytes received)\n", s.Ranks, calls, recv)
	}
	for _, st := range s.Stages {
		fmt.Fprintf(w, "stage %-9s %8.2f s  %d items\n", st.Name, st.Seconds, st.Items)
	}
}

// WriteSummary writes RUN/logs/summary.txt atomically.
func WriteSummary(run string, s *Summary) error {
	var b bytes.Buffer
	s.Format(&b)
	return rundir.WriteFile(rundir.SummaryPath(run), b.Bytes())
}

func writeSummary(run string, s *Summary) error { return WriteSummary(run, s) }

// countRows returns the number of rows of a Parquet file of records T.
func countRows[T any](path string) (int, error) {
	rows, err := readStaged[T](path)
	return len(rows), err
}
