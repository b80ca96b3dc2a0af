package pipeline

import (
	"cmp"
	"encoding/binary"
	"fmt"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
)

// The catalogue tables of a distributed association: every rank's engine
// holds a disjoint set of runcats, and every table is keyed by runcat
// first, so rank 0 merges the ranks' sorted snapshots (a k-way merge on
// the table's key) and streams the rows into the Parquet writer in
// batches. Rows travel in encoding/binary's packed layout (bit for bit).

// appendRows appends len(rows) and the rows, packed little endian.
func appendRows[T any](b []byte, rows []T) ([]byte, error) {
	b = le.AppendUint64(b, uint64(len(rows)))
	if len(rows) == 0 {
		return b, nil
	}
	return binary.Append(b, le, rows)
}

// readRows reads what appendRows wrote at the start of b.
func readRows[T any](b []byte) ([]T, []byte, error) {
	if len(b) < 8 {
		return nil, nil, errBundle
	}
	n := le.Uint64(b)
	b = b[8:]
	var zero T
	sz := binary.Size(zero)
	if sz <= 0 || n > uint64(len(b)/sz) {
		return nil, nil, errBundle
	}
	rows := make([]T, n)
	if n == 0 {
		return rows, b, nil
	}
	k, err := binary.Decode(b, le, rows)
	if err != nil {
		return nil, nil, errBundle
	}
	return rows, b[k:], nil
}

// catParts are the ranks' encoded snapshots, read one table at a time
// (nextTable) so that rank 0 holds one decoded table at once.
type catParts struct {
	raw [][]byte // per rank, the tables not read yet
}

// encodeCatalogue is this rank's engine state as one message: the
// tables in the order writeDistCatalogue writes them.
func encodeCatalogue(e *assoc.Engine) ([]byte, error) {
	var b []byte
	var err error
	for _, f := range []func([]byte) ([]byte, error){
		func(b []byte) ([]byte, error) { return appendRows(b, e.Associations()) },
		func(b []byte) ([]byte, error) { return appendRows(b, e.Runcats()) },
		func(b []byte) ([]byte, error) { return appendRows(b, e.Fluxes()) },
		func(b []byte) ([]byte, error) { return appendRows(b, e.NewSources()) },
		func(b []byte) ([]byte, error) { return appendRows(b, e.AssocSkyRegions()) },
	} {
		if b, err = f(b); err != nil {
			return nil, fmt.Errorf("pipeline: encoding the catalogue: %w", err)
		}
	}
	return b, nil
}

// nextTable decodes the next table of every rank.
func nextTable[T any](p *catParts) ([][]T, error) {
	out := make([][]T, len(p.raw))
	for r := range p.raw {
		rows, rest, err := readRows[T](p.raw[r])
		if err != nil {
			return nil, fmt.Errorf("%w (catalogue of rank %d)", err, r)
		}
		out[r], p.raw[r] = rows, rest
	}
	return out, nil
}

// gatherCatalogue is a collective: every rank sends its engine's tables
// to rank 0, which returns them per rank; the others return nil.
func gatherCatalogue(a *assocRun, e *assoc.Engine) (*catParts, error) {
	b, err := encodeCatalogue(e)
	if err != nil {
		return nil, err
	}
	send := make([][]byte, a.size)
	send[0] = b
	if a.me != 0 {
		a.log.printf("catalogue: %d bytes of tables sent to rank 0", len(b))
	}
	recv, err := a.comm.Alltoallv(send)
	if err != nil {
		return nil, fmt.Errorf("pipeline: gathering the catalogue: %w", err)
	}
	if a.me != 0 {
		return nil, nil
	}
	return &catParts{raw: recv}, nil
}

// mergeBatch is the number of rows handed to the Parquet writer at once.
const mergeBatch = 8192

// writeMerged writes the k-way merge of parts (each sorted by cmpRow,
// keys distinct across parts) to RUN/TABLE.parquet, in batches, calls
// each for every row and adds the number of rows to *n. It consumes
// parts.
func writeMerged[T any](run, table string, parts [][]T, cmpRow func(a, b *T) int, each func(*T), copts []catalog.Option, n *int) error {
	w, err := catalog.Create[T](catalog.TableFile(run, table), copts...)
	if err != nil {
		return err
	}
	batch := make([]T, 0, mergeBatch)
	for {
		best := -1
		for k := range parts {
			if len(parts[k]) > 0 && (best < 0 || cmpRow(&parts[k][0], &parts[best][0]) < 0) {
				best = k
			}
		}
		if (best < 0 || len(batch) == cap(batch)) && len(batch) > 0 {
			if err := w.Write(batch...); err != nil {
				w.Abort()
				return err
			}
			*n += len(batch)
			batch = batch[:0]
		}
		if best < 0 {
			break
		}
		row := &parts[best][0]
		if each != nil {
			each(row)
		}
		batch = append(batch, *row)
		parts[best] = parts[best][1:]
	}
	return w.Close()
}

// mergeTable reads the next table of p and writes it with writeMerged.
func mergeTable[T any](p *catParts, run, table string, cmpRow func(a, b *T) int, each func(*T), copts []catalog.Option, n *int) error {
	parts, err := nextTable[T](p)
	if err != nil {
		return err
	}
	return writeMerged(run, table, parts, cmpRow, each, copts, n)
}

// writeDistCatalogue writes the tables of a distributed association on
// rank 0 from the ranks' parts, in the canonical order, one table at a
// time, and fills the counts of sum.
func writeDistCatalogue(run string, p *catParts, bands []catalog.Band, regions []catalog.SkyRegion, rows []catalog.Image,
	copts []catalog.Option, sum *Summary, n *int) error {
	sum.Runcats, sum.MonitorSrcs, sum.NewSources, sum.Likely = 0, 0, 0, 0
	nAssoc := 0
	for _, err := range []func() error{
		func() error { return writeTable(run, catalog.TableImages, rows, copts, n) },
		func() error {
			return mergeTable(p, run, catalog.TableAssociations, func(a, b *catalog.Association) int {
				return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.Xtrsrc, b.Xtrsrc))
			}, func(*catalog.Association) { nAssoc++ }, copts, n)
		},
		func() error {
			return mergeTable(p, run, catalog.TableRuncat, func(a, b *catalog.Runcat) int {
				return cmp.Compare(a.ID, b.ID)
			}, func(r *catalog.Runcat) {
				sum.Runcats++
				if r.MonSrc {
					sum.MonitorSrcs++
				}
			}, copts, n)
		},
		func() error {
			return mergeTable(p, run, catalog.TableRuncatFlux, func(a, b *catalog.RuncatFlux) int {
				return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.Band, b.Band))
			}, nil, copts, n)
		},
		func() error {
			return mergeTable(p, run, catalog.TableNewSources, func(a, b *catalog.NewSource) int {
				return cmp.Compare(a.Runcat, b.Runcat)
			}, func(s *catalog.NewSource) {
				sum.NewSources++
				if s.Type == catalog.NewSourceLikely {
					sum.Likely++
				}
			}, copts, n)
		},
		func() error { return writeTable(run, catalog.TableSkyRegions, regions, copts, n) },
		func() error { return writeTable(run, catalog.TableBands, bands, copts, n) },
		func() error {
			return mergeTable(p, run, TableAssocSkyRegions, func(a, b *assoc.AssocSkyRegion) int {
				return cmp.Or(cmp.Compare(a.Runcat, b.Runcat), cmp.Compare(a.SkyRegion, b.SkyRegion))
			}, nil, copts, n)
		},
	} {
		if e := err(); e != nil {
			return e
		}
	}
	for r, b := range p.raw {
		if len(b) != 0 {
			return fmt.Errorf("%w (catalogue of rank %d: %d bytes left)", errBundle, r, len(b))
		}
	}
	sum.Associations, sum.Bands, sum.SkyRegions = nAssoc, len(bands), len(regions)
	return nil
}
