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
// records, each block headed by the file offset of the runcat's previous
// block: a runcat holds in memory only its last, partial block and the
// offset of its newest full block, so the engine's memory is O(live
// runcats), whatever the number of links (a list of every block's offset
// grew by 8 bytes per linkBlock links, about 160 MB a day for a live run
// at AARTFAAC's rate). Without SpillDir, the partial block simply grows
// (everything stays in memory).
//
// The file is unlinked as soon as it is created, so it disappears with
// the process whatever happens; Engine.Close closes it. The blocks of a
// deleted (forked or emigrated) runcat are given back (release) and
// written over by the next blocks, so the file holds at most the links of
// the live runcats at any time, plus a block each: a run that goes on for
// months does not grow it with the links of sources long gone.

// linkBlock is the number of links of a full block (tests use others).
const linkBlock = 32

// linkSize is the size of a packed link: runcat, xtrsrc, type, distance,
// r, v_int, eta_int, f_datapoints, little endian, floats bit for bit.
const linkSize = 8 + 8 + 4 + 8*4 + 8

// blockHeader is the size of a block's header: the file offset of the
// runcat's previous block, or -1.
const blockHeader = 8

// linkList is one runcat's links, oldest first.
type linkList struct {
	last   int64                 // file offset of the newest full block (when blocks > 0)
	blocks int                   // full blocks in the file
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
	// free are the offsets of released blocks, written over first.
	free []int64
	// journal: added and deleted record the links added and the runcats
	// released since the last Engine.TakeJournal.
	journal bool
	added   []catalog.Association
	deleted []int64
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
	if st.journal {
		st.added = append(st.added, a)
	}
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
	b := st.blockBuf()
	prev := int64(-1)
	if l.blocks > 0 {
		prev = l.last
	}
	le.PutUint64(b, uint64(prev))
	for i := range st.block {
		putLink(b[blockHeader+i*linkSize:], &l.tail[i])
	}
	off := st.off
	if k := len(st.free); k > 0 {
		off = st.free[k-1]
	}
	if _, err := st.f.WriteAt(b, off); err != nil {
		st.fail(err)
		return
	}
	l.last, l.blocks = off, l.blocks+1
	if k := len(st.free); k > 0 {
		st.free = st.free[:k-1]
	} else {
		st.off += int64(len(b))
	}
	n := copy(l.tail, l.tail[st.block:])
	l.tail = l.tail[:n]
}

// blockBuf returns the store's buffer of one block.
func (st *linkStore) blockBuf() []byte {
	n := blockHeader + st.block*linkSize
	if cap(st.buf) < n {
		st.buf = make([]byte, n)
	}
	return st.buf[:n]
}

// offsets returns the file offsets of l's full blocks, newest first,
// following the chain of block headers.
func (st *linkStore) offsets(l *linkList) ([]int64, error) {
	if l.blocks == 0 {
		return nil, nil
	}
	if st.f == nil {
		return nil, errors.New("assoc: link store: no file")
	}
	offs := make([]int64, 0, l.blocks)
	var h [blockHeader]byte
	for off := l.last; len(offs) < l.blocks; {
		offs = append(offs, off)
		if len(offs) == l.blocks {
			break
		}
		if _, err := st.f.ReadAt(h[:], off); err != nil {
			return nil, err
		}
		if off = int64(le.Uint64(h[:])); off < 0 {
			return nil, fmt.Errorf("block chain ends after %d of %d blocks", len(offs), l.blocks)
		}
	}
	return offs, nil
}

// release gives l's blocks back for reuse and empties l: its runcat is
// deleted (read its links first).
func (st *linkStore) release(runcat int64, l *linkList) {
	if st.journal {
		st.deleted = append(st.deleted, runcat)
	}
	if st.err == nil {
		offs, err := st.offsets(l)
		if err != nil {
			st.fail(err)
		}
		st.free = append(st.free, offs...)
	}
	l.last, l.blocks, l.tail = 0, 0, nil
}

// read appends l's links to dst, oldest first.
func (st *linkStore) read(dst []catalog.Association, l *linkList) ([]catalog.Association, error) {
	if st.err != nil {
		return dst, st.err
	}
	offs, err := st.offsets(l)
	if err != nil {
		st.fail(err)
		return dst, st.err
	}
	b := st.blockBuf()
	for i := len(offs) - 1; i >= 0; i-- {
		if _, err := st.f.ReadAt(b, offs[i]); err != nil {
			st.fail(err)
			return dst, st.err
		}
		for j := range st.block {
			dst = append(dst, getLink(b[blockHeader+j*linkSize:]))
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

// Journal makes the engine record the association links it adds and the
// runcats it deletes (forked, or moved to another engine), for
// TakeJournal: a live run publishes the associations table as parts of
// the links added since its last publish (internal/pipeline).
func (e *Engine) Journal() { e.links.journal = true }

// TakeJournal returns the links added and the runcats deleted since the
// last call (or Journal), in the order they happened, and forgets them.
// A deleted runcat's links, added before or in this journal, are no
// longer the engine's (Associations leaves them out); a link of a moved
// runcat is added again by the engine that receives it.
func (e *Engine) TakeJournal() (added []catalog.Association, deleted []int64) {
	added, deleted = e.links.added, e.links.deleted
	e.links.added, e.links.deleted = nil, nil
	return added, deleted
}
