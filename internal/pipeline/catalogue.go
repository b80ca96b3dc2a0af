package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"gotrap/catalog"
	"gotrap/internal/rundir"
)

// TableAssocSkyRegions is the extra table of assocskyrgn rows (SPEC 1:
// which sky regions should contain each runcat), written as
// RUN/assocskyrgn.parquet; catalog/duck makes it the view assocskyrgn.
const TableAssocSkyRegions = "assocskyrgn"

// measurementSink writes pass 2's measurements into this rank's part
// files measurements/rank=RRRR/{blind,forced,monitor}-00000.parquet.
type measurementSink struct {
	w [3]*catalog.FileWriter[catalog.Measurement]
	n [3]int
}

// measurementRowGroup is the row group size of the measurement parts. A
// writer holds one row group of records (432 B each) until it is full:
// 16,384 rows keep the three writers of a rank under ~25 MB, where the
// default 65,536 made them the largest item of a long run's heap
// (docs/performance.md "Memory"), and DuckDB scans either equally.
const measurementRowGroup = 1 << 14

func newMeasurementSink(run string, rank int, copts []catalog.Option) (*measurementSink, error) {
	s := &measurementSink{}
	copts = append(slices.Clip(copts), catalog.WithRowGroupRows(measurementRowGroup))
	for k, stage := range []string{"blind", "forced", "monitor"} {
		w, err := catalog.Create[catalog.Measurement](catalog.PartFile(run, catalog.TableMeasurements, rank, stage, 0), copts...)
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
	for k, w := range s.w {
		if err := w.Close(); err != nil {
			for _, v := range s.w[k+1:] {
				v.Abort()
			}
			return err
		}
	}
	return nil
}

// removeParts removes the measurement part files of stage ("": of every
// stage) that any rank wrote (catalog.PartFile names), and the rank=RRRR
// and measurements folders left empty. Other files there are the user's
// and stay.
func removeParts(run, stage string) error {
	if stage == "" {
		stage = "*"
	}
	dir := filepath.Join(run, catalog.TableMeasurements)
	parts, err := filepath.Glob(filepath.Join(dir, "rank=[0-9][0-9][0-9][0-9]", stage+"-[0-9][0-9][0-9][0-9][0-9].parquet"))
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	for _, p := range parts {
		if err := os.Remove(p); err != nil && !isNotExist(err) {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	ranks, _ := filepath.Glob(filepath.Join(dir, "rank=[0-9][0-9][0-9][0-9]"))
	for _, d := range append(ranks, dir) {
		os.Remove(d) // only when empty
	}
	return nil
}

// writeCatalogue runs the final association pass and writes every table
// of the catalogue but varmetric. It returns the number of rows written.
func writeCatalogue(ctx context.Context, run string, ar *assocRun, reqs []imageRequests,
	rows []catalog.Image, copts []catalog.Option, sum *Summary) (_ int, err error) {
	// A varmetric.parquet of an earlier, killed run would shadow the
	// view DuckDB computes; the catalogue stage writes it again. Part
	// files of an earlier attempt (perhaps on more ranks) go too: rank 0
	// removes them before any rank writes its own.
	if ar.me == 0 {
		if err := os.Remove(catalog.TableFile(run, catalog.TableVarMetric)); err != nil && !isNotExist(err) {
			return 0, fmt.Errorf("pipeline: %w", err)
		}
		if err := removeParts(run, ""); err != nil {
			return 0, err
		}
	}
	if err := ar.comm.Barrier(); err != nil {
		return 0, fmt.Errorf("pipeline: %w", err)
	}
	sink, err := newMeasurementSink(run, ar.me, copts)
	if err != nil {
		return 0, err
	}
	eng, err := ar.pass2(ctx, reqs, sink)
	if err != nil {
		sink.abort()
		return 0, err
	}
	if err := sink.close(); err != nil {
		return 0, err
	}
	// Every rank's parts are complete after this collective.
	if err := sumInts(ar.comm, &sink.n[0], &sink.n[1], &sink.n[2]); err != nil {
		return 0, err
	}
	sum.Blind, sum.Forced, sum.Monitor = sink.n[0], sink.n[1], sink.n[2]
	n := sink.n[0] + sink.n[1] + sink.n[2]
	if eng == nil {
		// Rank 0 holds the engine and writes the shared tables.
		return n, nil
	}
	defer closeEngine(eng, &err)
	if ar.tiled() {
		// Every rank holds the runcats of its tiles: rank 0 merges them.
		err = writeDistCatalogue(ar, eng, run, rows, copts, sum, &n)
		return n, err
	}
	// One engine: its tables are streamed (the association table, which
	// grows with the run, a runcat at a time).
	rcs := eng.Runcats()
	ns := eng.NewSources()
	regions := eng.SkyRegions()
	bands := eng.Bands()
	nAssoc := 0
	for _, f := range []func() error{
		func() error { return writeTable(run, catalog.TableImages, rows, copts, &n) },
		func() error {
			return writeStream(run, catalog.TableAssociations, eng.AssociationReader().Read,
				func(*catalog.Association) { nAssoc++ }, copts, &n)
		},
		func() error { return writeTable(run, catalog.TableRuncat, rcs, copts, &n) },
		func() error { return writeTable(run, catalog.TableRuncatFlux, eng.Fluxes(), copts, &n) },
		func() error { return writeTable(run, catalog.TableNewSources, ns, copts, &n) },
		func() error { return writeTable(run, catalog.TableSkyRegions, regions, copts, &n) },
		func() error { return writeTable(run, catalog.TableBands, bands, copts, &n) },
		func() error { return writeTable(run, TableAssocSkyRegions, eng.AssocSkyRegions(), copts, &n) },
	} {
		if err = f(); err != nil {
			return n, err
		}
	}
	fillCounts(sum, rcs, ns, nAssoc, len(bands), len(regions))
	return n, nil
}

// writeTable writes rows to RUN/TABLE.parquet atomically and adds their
// number to *n.
func writeTable[T any](run, table string, rows []T, copts []catalog.Option, n *int) error {
	*n += len(rows)
	return catalog.WriteFile(catalog.TableFile(run, table), rows, copts...)
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

// countCatalogue fills the counts of sum from a finished catalogue.
func countCatalogue(run string, sum *Summary) error {
	rcs, err := readStaged[catalog.Runcat](catalog.TableFile(run, catalog.TableRuncat))
	if err != nil {
		return err
	}
	ns, err := readStaged[catalog.NewSource](catalog.TableFile(run, catalog.TableNewSources))
	if err != nil {
		return err
	}
	as, err := readStaged[catalog.Association](catalog.TableFile(run, catalog.TableAssociations))
	if err != nil {
		return err
	}
	bs, err := readStaged[catalog.Band](catalog.TableFile(run, catalog.TableBands))
	if err != nil {
		return err
	}
	rs, err := readStaged[catalog.SkyRegion](catalog.TableFile(run, catalog.TableSkyRegions))
	if err != nil {
		return err
	}
	fillCounts(sum, rcs, ns, len(as), len(bs), len(rs))
	counts := []*int{&sum.Blind, &sum.Forced, &sum.Monitor}
	for k, stage := range []string{"blind", "forced", "monitor"} {
		// One part per rank of the run that wrote the catalogue.
		files, err := filepath.Glob(filepath.Join(run, catalog.TableMeasurements, "rank=*", stage+"-*.parquet"))
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
	return rundir.WriteFile(filepath.Join(run, "logs", "summary.txt"), b.Bytes())
}

func writeSummary(run string, s *Summary) error { return WriteSummary(run, s) }

var _ sink = (*measurementSink)(nil)
