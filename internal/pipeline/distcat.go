package pipeline

import (
	"cmp"
	"errors"
	"fmt"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/internal/rundir"
	"gotrap/internal/wire"
)

// The catalogue tables of an association. With one engine, rank 0
// streams each table from the engine into its Parquet writer. With a
// distributed association every rank's engine holds a disjoint set of
// runcats, and every table is keyed by runcat first: rank 0 k-way merges
// the ranks' sorted tables (on the table's key), which reach it in chunks
// of at most chunkRows rows over several collective rounds, so that no
// rank ever holds a whole table (the association table grows with the
// run). Rows travel as wire.PutRows writes them (bit for bit).

// rowReader appends up to max (> 0) next rows of a table, in the table's
// order, to dst; it appends none at the end of the table.
type rowReader[T any] func(dst []T, max int) ([]T, error)

// sliceRows reads rows.
func sliceRows[T any](rows []T) rowReader[T] {
	return func(dst []T, max int) ([]T, error) {
		k := min(max, len(rows))
		dst = append(dst, rows[:k]...)
		rows = rows[k:]
		return dst, nil
	}
}

// mergeBatch is the number of rows handed to the Parquet writer at once.
const mergeBatch = 8192

// chunkRows is the number of rows a rank sends rank 0 per round of a
// gathered table (a var for tests).
var chunkRows = 8192

// writeStream writes the rows of read to RUN/TABLE.parquet, in batches,
// calls each for every row and adds the number of rows to *n. The file
// is committed with b (writeDistCatalogue).
func writeStream[T any](run, table string, read rowReader[T], each func(*T), copts []catalog.Option, n *int, b *rundir.Batch) error {
	w, err := catalog.Create[T](rundir.TablePath(run, table), copts...)
	if err != nil {
		return err
	}
	var batch []T
	for {
		if batch, err = read(batch[:0], mergeBatch); err != nil {
			w.Abort()
			return err
		}
		if len(batch) == 0 {
			return w.CloseTo(b)
		}
		if each != nil {
			for i := range batch {
				each(&batch[i])
			}
		}
		if err := w.Write(batch...); err != nil {
			w.Abort()
			return err
		}
		*n += len(batch)
	}
}

// Chunk status, the first byte of a rank's chunk, and the round's
// request from rank 0 (one byte per rank).
const (
	chunkMore   = 0 // rows follow; the rank has more
	chunkLast   = 1 // rows follow; the rank has no more
	chunkFailed = 2 // the rank could not read its table

	roundIdle  = 0 // the rank sends nothing this round
	roundSend  = 1 // the rank sends its next chunk
	roundAbort = 2 // (in every byte) the gather failed
)

var errGatherAborted = errors.New("pipeline: another rank failed while the catalogue was gathered")

// gatherMerged is a collective: every rank passes its part of a table
// (read, sorted by cmpRow, keys distinct across ranks); rank 0 writes
// their merge to RUN/TABLE.parquet as writeStream does. Each round,
// rank 0 broadcasts which ranks must send their next chunk (those whose
// rows received so far are all written, and that have more), receives
// them, and writes every row that sorts below the rows still to come
// from every rank. Rank 0 holds at most one chunk per rank. The file is
// committed with bt (writeDistCatalogue).
func gatherMerged[T any](a *assocRun, read rowReader[T], run, table string, cmpRow func(a, b *T) int,
	each func(*T), copts []catalog.Option, n *int, bt *rundir.Batch) error {
	if a.size == 1 {
		// One rank: its table, already in order, is the table.
		return writeStream(run, table, read, each, copts, n, bt)
	}
	var (
		w     *catalog.FileWriter[T]
		err   error // rank 0's first error
		parts [][]T // rank 0: per rank, the rows received and not written
		done  []bool
		batch []T
	)
	if a.me == 0 {
		parts, done = make([][]T, a.size), make([]bool, a.size)
		if w, err = catalog.Create[T](rundir.TablePath(run, table), copts...); err == nil {
			defer func() {
				if w != nil {
					w.Abort()
				}
			}()
		}
	}
	var chunk []T
	sent := 0
	for {
		// A fresh request each round: no rank's view of the last one
		// is overwritten.
		mask := make([]byte, a.size)
		if a.me == 0 {
			for r := range mask {
				mask[r] = roundIdle
				switch {
				case err != nil:
					mask[r] = roundAbort
				case len(parts[r]) == 0 && !done[r]:
					mask[r] = roundSend
				}
			}
		}
		m, berr := a.comm.Bcast(mask, 0)
		if berr != nil {
			return fmt.Errorf("pipeline: gathering %s: %w", table, berr)
		}
		if len(m) != a.size {
			return fmt.Errorf("pipeline: gathering %s: a request of %d bytes for %d ranks", table, len(m), a.size)
		}
		if m[0] == roundAbort {
			if a.me == 0 {
				return err
			}
			return errGatherAborted
		}
		idle := true
		for _, v := range m {
			idle = idle && v == roundIdle
		}
		if idle {
			break
		}
		send := make([][]byte, a.size)
		if m[a.me] == roundSend {
			var rerr error
			chunk, rerr = read(chunk[:0], chunkRows)
			var b []byte
			if rerr != nil {
				a.log.printf("catalogue: %s: %v", table, rerr)
				b = []byte{chunkFailed}
			} else {
				st := byte(chunkMore)
				if len(chunk) < chunkRows {
					st = chunkLast
				}
				e := wire.NewEncoder(nil)
				e.Uint8(st)
				wire.PutRows(e, chunk)
				b = e.Data()
			}
			sent += len(b)
			send[0] = b
		}
		recv, cerr := a.comm.Alltoallv(send)
		if cerr != nil {
			return fmt.Errorf("pipeline: gathering %s: %w", table, cerr)
		}
		if a.me != 0 {
			continue
		}
		for r, b := range recv {
			if m[r] != roundSend || err != nil {
				continue
			}
			d := wire.NewDecoder(b)
			st := d.Uint8()
			if d.Err() != nil || st > chunkFailed {
				err = fmt.Errorf("pipeline: %s from rank %d: bad chunk status %d %v", table, r, st, d.Err())
				continue
			}
			if st == chunkFailed {
				err = fmt.Errorf("pipeline: rank %d could not read its %s table", r, table)
				continue
			}
			rows := wire.Rows[T](d)
			if derr := d.Done(); derr != nil {
				err = fmt.Errorf("pipeline: %s from rank %d: %w", table, r, derr)
				continue
			}
			parts[r], done[r] = rows, st == chunkLast
		}
		if err != nil {
			continue
		}
		// Merge while every rank's next row is known.
		for {
			best := -1
			ready := true
			for r := range parts {
				if len(parts[r]) == 0 {
					ready = ready && done[r]
					continue
				}
				if best < 0 || cmpRow(&parts[r][0], &parts[best][0]) < 0 {
					best = r
				}
			}
			if (!ready || best < 0 || len(batch) == mergeBatch) && len(batch) > 0 {
				if err = w.Write(batch...); err != nil {
					break
				}
				*n += len(batch)
				batch = batch[:0]
			}
			if !ready || best < 0 {
				break
			}
			row := &parts[best][0]
			if each != nil {
				each(row)
			}
			batch = append(batch, *row)
			parts[best] = parts[best][1:]
		}
	}
	if a.me != 0 {
		a.log.printf("catalogue: %d bytes of %s sent to rank 0", sent, table)
		return nil
	}
	err = w.CloseTo(bt)
	w = nil
	return err
}

// testHookTables, when set, receives each rank's collectives of
// writeDistCatalogue.
var testHookTables func(rank int, use commUse)

// writeDistCatalogue writes the tables of a distributed association from
// the ranks' engines (a collective), one table at a time: the gathered
// ones first, then rank 0's images, skyregion and band tables (after the
// last collective, so that an error there cannot leave a rank waiting).
// Rank 0 writes the files and fills the counts of sum. Without whole the
// associations and images tables are left to the caller (a live run's
// parts, which grow with each commit).
func writeDistCatalogue(a *assocRun, eng *assoc.Engine, run string, rows []catalog.Image,
	copts []catalog.Option, sum *Summary, n *int, whole bool) (err error) {
	// Rank 0's files are committed together at the end (rundir.Batch:
	// their data synced at once, then renamed, then the folder synced):
	// a live run writes them at every commit, and a sync of each file
	// and of the folder after it were two journal commits a file.
	var tb rundir.Batch
	defer func() {
		if err != nil {
			tb.Abort()
		}
	}()
	var c Summary
	nAssoc := 0
	comm0 := commNow(a.comm)
	for _, err := range []func() error{
		func() error {
			if !whole {
				return nil // a live run's are parts (live.publishAssociations)
			}
			return gatherMerged(a, eng.AssociationReader().Read, run, catalog.TableAssociations, func(a, b *catalog.Association) int {
				return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.Xtrsrc, b.Xtrsrc))
			}, func(*catalog.Association) { nAssoc++ }, copts, n, &tb)
		},
		func() error {
			return gatherMerged(a, sliceRows(eng.Runcats()), run, catalog.TableRuncat, func(a, b *catalog.Runcat) int {
				return cmp.Compare(a.ID, b.ID)
			}, func(r *catalog.Runcat) {
				c.Runcats++
				if r.MonSrc {
					c.MonitorSrcs++
				}
			}, copts, n, &tb)
		},
		func() error {
			return gatherMerged(a, sliceRows(eng.Fluxes()), run, catalog.TableRuncatFlux, func(a, b *catalog.RuncatFlux) int {
				return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.Band, b.Band))
			}, nil, copts, n, &tb)
		},
		func() error {
			return gatherMerged(a, sliceRows(eng.NewSources()), run, catalog.TableNewSources, func(a, b *catalog.NewSource) int {
				return cmp.Compare(a.Runcat, b.Runcat)
			}, func(s *catalog.NewSource) {
				c.NewSources++
				if s.Type == catalog.NewSourceLikely {
					c.Likely++
				}
			}, copts, n, &tb)
		},
		func() error {
			return gatherMerged(a, sliceRows(eng.AssocSkyRegions()), run, TableAssocSkyRegions, func(a, b *assoc.AssocSkyRegion) int {
				return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.SkyRegion, b.SkyRegion))
			}, nil, copts, n, &tb)
		},
	} {
		if e := err(); e != nil {
			return e
		}
	}
	use := commNow(a.comm).since(comm0)
	a.log.printf("catalogue tables gathered to rank 0: %s", use)
	if testHookTables != nil {
		testHookTables(a.me, use)
	}
	if a.me != 0 {
		return nil
	}
	bands, regions := eng.Bands(), eng.SkyRegions()
	var images error
	if whole {
		images = writeTable(run, catalog.TableImages, rows, copts, n, &tb)
	}
	for _, err := range []error{
		images,
		writeTable(run, catalog.TableSkyRegions, regions, copts, n, &tb),
		writeTable(run, catalog.TableBands, bands, copts, n, &tb),
	} {
		if err != nil {
			return err
		}
	}
	if err := tb.Commit(); err != nil {
		return err
	}
	sum.Runcats, sum.MonitorSrcs, sum.NewSources, sum.Likely = c.Runcats, c.MonitorSrcs, c.NewSources, c.Likely
	sum.Associations, sum.Bands, sum.SkyRegions = nAssoc, len(bands), len(regions)
	return nil
}
