package assoc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"

	"gotrap/catalog"
)

// The link store keeps every live runcat's association history (its
// assocxtrsource rows). With Config.SpillDir set, a runcat's links live
// in an append-only temporary file, in blocks of linkBlock fixed-size
// records: a runcat holds in memory only its last, partial block and the
// file offsets of its full blocks, so the engine's memory is O(live
// runcats + links/linkBlock) instead of O(links). Without SpillDir, the
// partial block simply grows (everything stays in memory).
//
// The file is unlinked as soon as it is created, so it disappears with
// the process whatever happens; Engine.Close closes it. Blocks of deleted
// (forked or emigrated) runcats are not reused: the file grows with the
// links ever written.

// linkBlock is the number of links of a full block (tests use others).
const linkBlock = 32

// linkSize is the size of a packed link: runcat, xtrsrc, type, distance,
// r, v_int, eta_int, f_datapoints, little endian, floats bit for bit.
const linkSize = 8 + 8 + 4 + 8*4 + 8

// linkList is one runcat's links, oldest first.
type linkList struct {
	blocks []int64               // file offsets of the full blocks
	tail   []catalog.Association // the links after the full blocks
}

// linkStore is an engine's store. Its first error is sticky: the engine
// reports it from the call during which it happened and every later one.
type linkStore struct {
	dir   string // "" keeps the links in memory
	block int    // links per block
	f     *os.File
	name  string // the file's name while it exists on disk
	off   int64
	buf   []byte
	err   error
}

// le is the byte order of the spill file's fixed-size link records
// (a local file read back by offset, not a message between ranks).
var le = binary.LittleEndian

func putLink(b []byte, a *catalog.Association) {
	le.PutUint64(b[0:], uint64(a.Runcat))
	le.PutUint64(b[8:], uint64(a.Xtrsrc))
	le.PutUint32(b[16:], uint32(a.Type))
	le.PutUint64(b[20:], math.Float64bits(a.Distance))
	le.PutUint64(b[28:], math.Float64bits(a.R))
	le.PutUint64(b[36:], math.Float64bits(a.VInt))
	le.PutUint64(b[44:], math.Float64bits(a.EtaInt))
	le.PutUint64(b[52:], uint64(a.FDatapoints))
}

func getLink(b []byte) catalog.Association {
	return catalog.Association{
		Runcat:      int64(le.Uint64(b[0:])),
		Xtrsrc:      int64(le.Uint64(b[8:])),
		Type:        int32(le.Uint32(b[16:])),
		Distance:    math.Float64frombits(le.Uint64(b[20:])),
		R:           math.Float64frombits(le.Uint64(b[28:])),
		VInt:        math.Float64frombits(le.Uint64(b[36:])),
		EtaInt:      math.Float64frombits(le.Uint64(b[44:])),
		FDatapoints: int64(le.Uint64(b[52:])),
	}
}

func (st *linkStore) fail(err error) {
	if st.err == nil {
		st.err = fmt.Errorf("assoc: link store: %w", err)
	}
}

// add appends a to l, writing l's block to the file when it is full.
func (st *linkStore) add(l *linkList, a catalog.Association) {
	l.tail = append(l.tail, a)
	if len(l.tail) >= st.block && st.dir != "" && st.err == nil {
		st.flush(l)
	}
}

// flush writes l's first st.block tail links as a block.
func (st *linkStore) flush(l *linkList) {
	if st.f == nil {
		f, err := os.CreateTemp(st.dir, "assoc-links-*.bin")
		if err != nil {
			st.fail(err)
			return
		}
		st.f, st.name = f, f.Name()
		if os.Remove(st.name) == nil {
			st.name = ""
		}
	}
	if cap(st.buf) < st.block*linkSize {
		st.buf = make([]byte, st.block*linkSize)
	}
	b := st.buf[:st.block*linkSize]
	for i := range st.block {
		putLink(b[i*linkSize:], &l.tail[i])
	}
	if _, err := st.f.WriteAt(b, st.off); err != nil {
		st.fail(err)
		return
	}
	l.blocks = append(l.blocks, st.off)
	st.off += int64(len(b))
	n := copy(l.tail, l.tail[st.block:])
	l.tail = l.tail[:n]
}

// read appends l's links to dst, oldest first.
func (st *linkStore) read(dst []catalog.Association, l *linkList) ([]catalog.Association, error) {
	if st.err != nil {
		return dst, st.err
	}
	if len(l.blocks) > 0 {
		if st.f == nil {
			return dst, errors.New("assoc: link store: no file")
		}
		if cap(st.buf) < st.block*linkSize {
			st.buf = make([]byte, st.block*linkSize)
		}
		b := st.buf[:st.block*linkSize]
		for _, off := range l.blocks {
			if _, err := st.f.ReadAt(b, off); err != nil {
				st.fail(err)
				return dst, st.err
			}
			for i := range st.block {
				dst = append(dst, getLink(b[i*linkSize:]))
			}
		}
	}
	return append(dst, l.tail...), nil
}

// close closes and removes the file.
func (st *linkStore) close() error {
	if st.f == nil {
		return nil
	}
	err := st.f.Close()
	if st.name != "" {
		if e := os.Remove(st.name); e != nil && err == nil {
			err = e
		}
		st.name = ""
	}
	st.f = nil
	if err != nil {
		return fmt.Errorf("assoc: link store: %w", err)
	}
	return nil
}
