package pipeline

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"gotrap/catalog"
	"gotrap/catalog/assoc"
	"gotrap/internal/fitsimg"
	"gotrap/internal/rundir"
	"gotrap/internal/wire"
)

// A live run (gotrap watch) is the timesteps stage fed as it goes: once
// the plan's timesteps are done (those of the run so far, replayed from
// RUN/work as --append does), rank 0 asks its Feed for the files of the
// next closed timesteps, every rank extends the plan with them
// (Plan.Extend: the ids, timesteps, bands and regions one plan over all
// the files gives) and the engine runs them as it ran the others. After
// each batch the catalogue is published: the measurement parts written
// so far are closed (readers see them), the tables are rewritten from
// the association engines, and Options.AfterCommit runs on rank 0 (the
// command's events, responses and status; the rest it returns in the
// background of the next batch, whose publish waits for it first). When
// the feed ends, the run ends as a batch run does (tables, backward
// fits, limits), so a watched run's catalogue is the batch run's over
// the same files.

// Feed gives a live run the files of its next timesteps.
type Feed interface {
	// Next blocks until the files of one or more timesteps later than
	// those given before are ready, and returns them; io.EOF (with no
	// files) ends the run. ctx is the run's.
	Next(ctx context.Context) ([]string, error)
}

// ReadyFeed is a Feed that can also give, without waiting, the files of
// the timesteps closed by now: a live run takes them before it publishes
// the batch before, so that their extraction runs during the publish.
type ReadyFeed interface {
	Feed
	// Ready returns the files of the timesteps closed by now, later
	// than those given before, or none (nor an error) when there are
	// none or the feed is ending (its Next says so). It does not block
	// for long.
	Ready(ctx context.Context) ([]string, error)
}

// live is the part of a live run that the stream does not hold: the
// feed, the manifest's inputs and the publishing of the catalogue.
type live struct {
	feed     Feed
	run      string
	man      *rundir.Manifest
	sink     *measurementSink
	copts    []catalog.Option
	sum      *Summary
	assigner imageAssigner
	read     fitsimg.Options
	channels Channels
	tol      time.Duration
	workers  int
	log      *logger
	// after is Options.AfterCommit; afterDone, when not nil, receives
	// the result of the work it left for the background (afterWait).
	after     func(rundir.Commit) (func() error, error)
	afterDone chan error
	// part numbers the measurement part files: increasing, the
	// timesteps committed when the part was opened, plus one (0: the
	// first part of a new run).
	part int
	// published is set after the first publish.
	published bool
	// mparts, aparts and iparts merge this rank's closed measurement,
	// association and (rank 0) images parts (partMerger); nil before
	// the first publish.
	mparts, aparts, iparts *partMerger
	// packs are this rank's work packs (workpack.go) and packed the
	// timesteps whose staged files are in them.
	packs  []catalog.Part
	packed int
	// packing, when not nil, receives the result of the packing that
	// runs in the background (packWork); packs is the packer's until
	// then.
	packing chan error
	// released counts the timesteps whose images' Meta the plan has
	// dropped (Plan.release).
	released int
	// inputs maps each input's path to its entry in the manifest's
	// inputs as the run started (rank 0), -1 for a file taken since:
	// those are in the inputs log only (rundir.AppendInputs; the
	// manifest's Inputs do not grow), held in unhashed until their
	// content hash is recorded at a commit, and dropped then.
	inputs   map[string]int
	unhashed map[string]*rundir.InputFile
}

// testHookLivePublished, when set, receives after each publish of a live
// run the images rows and Meta each rank still holds (with the images of
// committed timesteps before the last that the plan holds, not spilled),
// and the manifest entries (rank 0's).
var testHookLivePublished func(rank, rows, metas, inputs int)

// liveMsg is what rank 0 broadcasts of its feed's answer.
type liveMsg struct {
	Paths []string `json:"paths,omitempty"`
	// Monitors are the run's live monitors after this call.
	Monitors []rundir.LiveMonitor `json:"monitors,omitempty"`
	End      bool                 `json:"end,omitempty"`
	Err      string               `json:"err,omitempty"`
}

// next is a collective: rank 0 takes the next files from the feed and
// every rank extends the plan, the images rows and owners, and rank 0 the
// manifest's inputs. With wait, it returns false when the feed has
// ended; without, it takes only the files ready now (ReadyFeed.Ready;
// none from another Feed) and returns whether there were any.
func (l *live) next(ctx context.Context, s *stream, wait bool) (bool, error) {
	a := s.a
	var msg liveMsg
	if a.me == 0 {
		var paths []string
		var err error
		rf, ready := l.feed.(ReadyFeed)
		switch {
		case wait:
			paths, err = l.feed.Next(ctx)
		case ready:
			paths, err = rf.Ready(ctx)
		}
		switch {
		case !wait && err == nil && len(paths) == 0:
			// Nothing ready: a message with no paths.
		case errors.Is(err, io.EOF) && len(paths) == 0:
			msg.End = true
		case err != nil:
			msg.Err = err.Error()
		default:
			msg.Paths = paths
			mons, err := l.alertMonitors(len(a.plan.Timesteps))
			if err != nil {
				msg.Paths, msg.Err = nil, err.Error()
			}
			msg.Monitors = mons
		}
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return false, fmt.Errorf("pipeline: %w", err)
	}
	if b, err = a.comm.Bcast(b, 0); err != nil {
		return false, fmt.Errorf("pipeline: %w", err)
	}
	if err := json.Unmarshal(b, &msg); err != nil {
		return false, fmt.Errorf("pipeline: feed from rank 0: %w", err)
	}
	switch {
	case msg.Err != "":
		return false, fmt.Errorf("pipeline: watching: %s", msg.Err)
	case msg.End:
		return false, nil
	case !wait && len(msg.Paths) == 0:
		return false, nil
	}
	monitors := !slices.Equal(l.man.LiveMonitors, msg.Monitors) // changed
	l.man.LiveMonitors = msg.Monitors
	from := len(a.plan.Timesteps)
	added, unreadable, err := a.plan.Extend(ctx, msg.Paths, l.read, l.channels, l.tol, l.workers)
	if err != nil {
		return false, err
	}
	for _, u := range unreadable {
		l.log.printf("watch: header unreadable, not taken: %s", u)
		s.prog.event("warning: header unreadable, not taken: %s", u)
	}
	for _, i := range added {
		img := a.plan.Image(i)
		row := imageRow(img)
		if img.HeaderErr != "" {
			row.Rejected = true
			row.RejectReason.Int64, row.RejectReason.Valid = catalog.RejectReadError, true
			row.RejectComment = img.HeaderErr
		}
		a.rows = append(a.rows, row)
		if _, ok := s.ex.firstOf[img.Path]; !ok && s.ex.firstOf != nil {
			s.ex.firstOf[img.Path] = img.ID
		}
	}
	a.owner = l.assigner.assign(a.plan, a.size, a.owner, from)
	if a.me == 0 && len(added) > 0 {
		l.indexInputs()
		var ins []rundir.InputFile
		for _, i := range added {
			p := a.plan.Image(i).Path
			if _, ok := l.inputs[p]; ok {
				continue
			}
			in, err := fingerprintRun(p, nil)
			if err != nil {
				return false, err
			}
			l.inputs[p] = -1
			l.unhashed[p] = &in
			ins = append(ins, in)
		}
		// The manifest is written again only when the monitors changed
		// (they must be recorded before their timestep is committed):
		// the publish after the timesteps writes it anyway.
		if err := appendInputs(l.run, l.man, ins, monitors); err != nil {
			return false, err
		}
	}
	return true, nil
}

// publish is a collective after a batch of timesteps of a live run, the
// plan's first committed: the measurement parts written since the last
// publish are closed and new ones opened, the catalogue tables are
// rewritten, the inputs' hashes recorded, and rank 0 calls after. The
// plan may hold later timesteps already (next without waiting), whose
// images are being extracted: nothing of theirs is published.
func (l *live) publish(s *stream, e *assoc.Engine, committed int) (err error) {
	a := s.a
	if testHookLivePublished != nil {
		defer func() {
			if err != nil {
				return
			}
			// Of the committed timesteps' images: not those taken
			// since (next without waiting), which come after them.
			end := a.plan.Len()
			for _, ts := range a.plan.Timesteps[committed:] {
				for _, i := range ts {
					end = min(end, i)
				}
			}
			// The images before the last committed timestep's are
			// spilled (spillPlan).
			spilled, ok := spillBoundary(a.plan, committed)
			if !ok {
				spilled = a.plan.base
			}
			metas, rows, inputs := 0, 0, len(l.man.Inputs)+len(l.unhashed)
			metas += max(0, spilled-a.plan.base) // held, not spilled: counted as Meta held
			for i := a.plan.base; i < a.plan.Len(); i++ {
				if a.plan.Image(i).Meta != nil && i < end {
					metas++
				}
				if i >= a.rowBase && i < a.rowBase+len(a.rows) && i < end {
					rows++
				}
				if _, ok := l.unhashed[a.plan.Image(i).Path]; ok && i >= end {
					inputs--
				}
			}
			for p, k := range l.inputs {
				if _, ok := l.unhashed[p]; k == -1 && !ok {
					inputs++ // a path taken, its hash logged, still held
				}
			}
			testHookLivePublished(a.me, rows, metas, inputs)
		}()
	}
	// The last commit's events and responses (rank 0's AfterCommit, in
	// the background of these timesteps) read the catalogue this publish
	// rewrites: they end first.
	if err := l.afterWait(); err != nil {
		return err
	}
	// Readers (gotrap query, report) wait while the commit is published:
	// they see the catalogue before it or after it.
	if a.me == 0 {
		g, err := rundir.Publish(l.run)
		if err != nil {
			return err
		}
		defer func() {
			if err == nil {
				err = g.Done()
			} else {
				g.Close()
			}
		}()
	}
	if err := a.comm.Barrier(); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if err := l.sink.close(); err != nil {
		return err
	}
	level := 0
	if !l.published && l.part > 0 {
		level = catalog.LevelReplay // a restarted run's history
	}
	if l.mparts == nil {
		l.mparts = newPartMerger[catalog.Measurement](l.run, catalog.TableMeasurements, measurementStages[:], a.me, l.sink.opts)
		l.aparts = newPartMerger[catalog.Association](l.run, catalog.TableAssociations, []string{""}, a.me, l.partOpts())
		l.iparts = newPartMerger[catalog.Image](l.run, catalog.TableImages, []string{""}, 0, l.partOpts())
	}
	if err := l.mparts.add(catalog.Part{Seq: l.part, Level: level}); err != nil {
		return err
	}
	if err := l.publishAssociations(a, e, l.part, level); err != nil {
		return err
	}
	if err := l.packWork(a, l.part, level, committed); err != nil {
		return err
	}
	first := l.part
	l.part = max(l.part+1, committed+1)
	sink, err := newMeasurementSinkPart(l.run, a.me, l.copts, l.part)
	if err != nil {
		return err
	}
	sink.n = l.sink.n
	*l.sink = *sink
	// Every rank's parts are closed after this collective.
	if err := a.comm.Barrier(); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if a.me == 0 && !l.published && first > 0 {
		// A live run started again replayed its timesteps into parts
		// numbered from first: the older parts go now, and the
		// varmetric.parquet of its last end (the view computes it while
		// the run is live).
		if err := removePartsBelow(l.run, catalog.TableMeasurements, "", first); err != nil {
			return err
		}
		if err := removePartsBelow(l.run, catalog.TableAssociations, "", first); err != nil {
			return err
		}
		if err := os.Remove(rundir.TablePath(l.run, catalog.TableVarMetric)); err != nil && !isNotExist(err) {
			return fmt.Errorf("pipeline: %w", err)
		}
	}
	if a.me == 0 {
		// The images rows of the timesteps committed since the last
		// publish (rank 0 holds them all).
		if err := l.publishImages(a, first, level, committed); err != nil {
			return err
		}
	}
	if a.me == 0 && !l.published && first > 0 {
		if err := removePartsBelow(l.run, catalog.TableImages, "", first); err != nil {
			return err
		}
	}
	if a.me == 0 && !l.published {
		// The associations and images are parts while the run is live:
		// the tables its last end wrote go.
		for _, t := range []string{catalog.TableAssociations, catalog.TableImages} {
			if err := os.Remove(rundir.TablePath(l.run, t)); err != nil && !isNotExist(err) {
				return fmt.Errorf("pipeline: %w", err)
			}
		}
	}
	l.published = true
	var sum Summary
	n := 0
	if err := writeDistCatalogue(a, e, l.run, nil, l.copts, &sum, &n, false); err != nil {
		return err
	}
	// The committed images are not read whole again: their headers'
	// metadata goes (the run's end needs their geometry only), and their
	// files' first-image entries (hashing happens on extraction).
	for _, ts := range a.plan.Timesteps[l.released:committed] {
		for _, i := range ts {
			delete(s.ex.firstOf, a.plan.Image(i).Path)
		}
	}
	a.plan.release(l.released, committed)
	l.released = committed
	// Their rows are in the images parts (rank 0's; the others' are the
	// same): the run's end reads them back (live.endRows).
	if committed > 0 {
		ts := a.plan.Timesteps[committed-1]
		if len(ts) > 0 {
			a.dropRows(ts[len(ts)-1] + 1)
		}
	}
	if a.me != 0 {
		return l.spillPlan(a, committed)
	}
	filled, err := fillHashes(a.plan, s.hashes, l.entry)
	if err != nil {
		return err
	}
	for _, in := range filled {
		p := inputPath(in)
		delete(l.unhashed, p)
		// Its entry is in the inputs log now; the feed gives no file
		// twice, so the path need not stay in memory (a watch takes a
		// path every image).
		if l.inputs[p] == -1 {
			delete(l.inputs, p)
		}
	}
	clear(s.hashes) // recorded in the manifest
	if err := appendInputs(l.run, l.man, filled, true); err != nil {
		return err
	}
	if err := l.spillPlan(a, committed); err != nil {
		return err
	}
	if l.after == nil {
		return nil
	}
	c, err := rundir.ReadCommit(l.run)
	if err != nil {
		return err
	}
	rest, err := l.after(c)
	if err != nil || rest == nil {
		return err
	}
	// The events and responses run while the next timesteps are taken
	// and processed: rank 1 no longer waits for them in next, nor this
	// rank's extraction of the next batch. The commit is durable and
	// published already; a crash before they are done leaves them to the
	// restart, which computes every timestep's again (nothing is
	// delivered twice).
	done := make(chan error, 1)
	l.afterDone = done
	go func() { done <- rest() }()
	return nil
}

// spillPlan spills the images of the committed timesteps but the last
// (planspill.go), once nothing of this publish reads them.
func (l *live) spillPlan(a *assocRun, committed int) error {
	to, ok := spillBoundary(a.plan, committed)
	if !ok {
		return nil
	}
	return a.plan.spill(l.run, a.me, to)
}

// spillBoundary returns the first image of the last of the committed
// timesteps of plan, the images before which a publish spills, and
// false when there is none.
func spillBoundary(plan *Plan, committed int) (int, bool) {
	if committed < 2 || len(plan.Timesteps[committed-1]) == 0 {
		return 0, false
	}
	return plan.Timesteps[committed-1][0], true
}

// afterWait waits for the AfterCommit work in the background (publish),
// if any, and returns its error.
func (l *live) afterWait() error { return awaitBackground(&l.afterDone) }

// awaitBackground waits for the result of work in the background on *c,
// if any (*c not nil), clears *c and returns the result.
func awaitBackground(c *chan error) error {
	if *c == nil {
		return nil
	}
	err := <-*c
	*c = nil
	return err
}

// partOpts are the writer options of the associations and images parts:
// row groups of measurementRowGroup rows, as the measurements', so that a
// merge holds one such group (the default, 65,536 rows, made the merges
// of a long live run hold more as its parts grew).
func (l *live) partOpts() []catalog.Option {
	return append(slices.Clip(l.copts), catalog.WithRowGroupRows(measurementRowGroup))
}

// indexInputs builds l.inputs from the manifest's inputs, once.
func (l *live) indexInputs() {
	if l.inputs != nil {
		return
	}
	l.inputs = make(map[string]int, len(l.man.Inputs))
	l.unhashed = map[string]*rundir.InputFile{}
	for k, in := range l.man.Inputs {
		l.inputs[inputPath(in)] = k
	}
}

// entry returns the manifest entry of the input path (fillHashes), nil
// for none or one whose hash is recorded already.
func (l *live) entry(path string) *rundir.InputFile {
	l.indexInputs()
	k, ok := l.inputs[path]
	switch {
	case !ok:
		return nil
	case k >= 0:
		return &l.man.Inputs[k]
	}
	return l.unhashed[path]
}

// appendInputs records the new or changed entries ins of a live run's
// inputs in its inputs log (the plan stage started it), then, with
// manifest, writes the rest of the manifest (small).
func appendInputs(run string, m *rundir.Manifest, ins []rundir.InputFile, manifest bool) error {
	if !m.InputsLog {
		return fmt.Errorf("pipeline: %s: a live run's manifest without its inputs log", run)
	}
	if err := rundir.AppendInputs(run, ins...); err != nil {
		return err
	}
	if !manifest {
		return nil
	}
	return rundir.WriteManifest(run, m)
}

// publishAssociations writes this rank's association part seq (a
// collective): the links its engine added since the last publish
// (assoc.Engine.TakeJournal), without those of runcats deleted since
// (forked, moved) on any rank. When runcats were deleted, their rows
// also leave the rank's earlier parts, which are rewritten: a batch
// run's table holds only the links of the runcats that remain, and so
// does the live run's. Then the parts are merged as the measurements'.
// A run with the parts has no RUN/associations.parquet (live.publish,
// and the run's end writes the table whole again).
func (l *live) publishAssociations(a *assocRun, e *assoc.Engine, seq, level int) error {
	added, deleted := e.TakeJournal()
	var enc wire.Encoder
	enc.Int64s(deleted)
	all, err := a.comm.Allgatherv(enc.Data())
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	gone := map[int64]bool{}
	for r, b := range all {
		d := wire.NewDecoder(b)
		ids := d.Int64s()
		if err := d.Done(); err != nil {
			return fmt.Errorf("pipeline: deleted runcats from rank %d: %w", r, err)
		}
		for _, id := range ids {
			gone[id] = true
		}
	}
	drop := func(x *catalog.Association) bool { return gone[x.Runcat] }
	if len(gone) > 0 {
		added = slices.DeleteFunc(added, func(x catalog.Association) bool { return drop(&x) })
		// The parts are rewritten in place: the merge in flight, if
		// any, ends first.
		if err := l.aparts.settle(); err != nil {
			return err
		}
		for _, p := range l.aparts.parts {
			if err := rewriteParts(l.run, catalog.TableAssociations, a.me, "", []int{p.Seq}, drop, l.partOpts()); err != nil {
				return err
			}
		}
	}
	if err := catalog.WriteFile(rundir.PartPath(l.run, catalog.TableAssociations, a.me, "", seq), added, l.partOpts()...); err != nil {
		return err
	}
	return l.aparts.add(catalog.Part{Seq: seq, Level: level})
}

// endRows returns the images rows of the whole run at its end: those of
// the committed timesteps from the images parts (dropped from memory as
// they were published) and those still held. Every rank reads the parts
// rank 0 wrote before its last publish returned.
func (l *live) endRows(a *assocRun) ([]catalog.Image, error) {
	if a.rowBase == 0 {
		return a.rows, nil
	}
	rows, err := readImagesTable(l.run)
	if err != nil {
		return nil, err
	}
	if len(rows) < a.rowBase {
		return nil, fmt.Errorf("pipeline: %s: the images parts hold %d rows, the run committed %d images", l.run, len(rows), a.rowBase)
	}
	rows = append(rows[:a.rowBase], a.rows...)
	for i := range rows {
		if rows[i].ID != a.plan.Image(i).ID {
			return nil, fmt.Errorf("pipeline: %s: the images parts hold image %d where the run has %d", l.run, rows[i].ID, a.plan.Image(i).ID)
		}
	}
	return rows, nil
}

// publishImages writes the images rows of timesteps [l.released,
// committed) as images part seq (rank 0) and merges the parts as the
// measurements'. Those rows are final: the images table of a live run
// grows by a part a commit instead of being written whole each time.
func (l *live) publishImages(a *assocRun, seq, level, committed int) error {
	var rows []catalog.Image
	for _, ts := range a.plan.Timesteps[l.released:committed] {
		for _, i := range ts {
			rows = append(rows, *a.row(i))
		}
	}
	if len(rows) == 0 {
		return nil
	}
	slices.SortFunc(rows, func(x, y catalog.Image) int { return cmp.Compare(x.ID, y.ID) })
	if err := catalog.WriteFile(rundir.PartPath(l.run, catalog.TableImages, 0, "", seq), rows, l.partOpts()...); err != nil {
		return err
	}
	return l.iparts.add(catalog.Part{Seq: seq, Level: level})
}

// packWork starts packing the staged files of this rank's images of the
// timesteps committed since the last publish (workpack.go) into pack
// seq, and merging the packs, in the background: the packing is not on
// the commit's path (it waits on a sync of each pack, and a watch
// spent about a quarter of its publishing time there). The staged files
// are durable with their timestep already, so a crash before a pack is
// renamed into place leaves them where a restart finds them. While the
// packing an earlier publish started goes on (its merges of packs grow
// eight times a level), the timesteps wait for a later publish: the
// publish does not wait for it (packWait: the run's end does).
func (l *live) packWork(a *assocRun, seq, level, committed int) error {
	if l.packing != nil {
		select {
		case err := <-l.packing:
			l.packing = nil
			if err != nil {
				return err
			}
		default:
			return nil
		}
	}
	var ids []int64
	for t := l.packed; t < committed; t++ {
		for _, i := range a.plan.Timesteps[t] {
			if a.owner[i] == a.me {
				// The image may be spilled (a packing that waited
				// for the one before): its id is its index's.
				ids = append(ids, imageID(i))
			}
		}
	}
	l.packed = committed
	if len(ids) == 0 {
		return nil
	}
	done := make(chan error, 1)
	l.packing = done
	go func() {
		if testHookPacking != nil {
			testHookPacking()
		}
		err := packStaged(l.run, a.me, seq, ids)
		if err == nil {
			l.packs = append(l.packs, catalog.Part{Seq: seq, Level: level})
			l.packs, err = compactPacks(l.run, a.me, l.packs)
		}
		done <- err
	}()
	return nil
}

// testHookPacking, when set, is called by each packing in the
// background before it starts (tests make it slow with it).
var testHookPacking func()

// packWait waits for the packing in the background (packWork), if any,
// and returns its error.
func (l *live) packWait() error { return awaitBackground(&l.packing) }

// mergeStop stops the merges of the parts in the background
// (partMerger.stop): the run's end reads the parts as they are.
func (l *live) mergeStop() error {
	var err error
	for _, m := range []*partMerger{l.mparts, l.aparts, l.iparts} {
		if m == nil {
			continue
		}
		if merr := m.stop(); err == nil {
			err = merr
		}
	}
	return err
}

// alertMonitors returns the run's live monitors: those it has, then the
// positions of RUN/alerts/monitor.txt (gotrap listen) it has not, to be
// fitted from timestep from on.
func (l *live) alertMonitors(from int) ([]rundir.LiveMonitor, error) {
	mons := slices.Clone(l.man.LiveMonitors)
	path := rundir.AlertMonitorPath(l.run)
	if _, err := os.Stat(path); err != nil {
		return mons, nil
	}
	pos, err := ReadMonitorFile(path)
	if err != nil {
		return nil, err
	}
	for _, p := range pos {
		if !slices.ContainsFunc(mons, func(m rundir.LiveMonitor) bool { return m.RA == p[0] && m.Dec == p[1] }) {
			mons = append(mons, rundir.LiveMonitor{RA: p[0], Dec: p[1], From: from})
			l.log.printf("watch: monitor %.6f %+.6f (RUN/alerts) fitted from timestep %d on", p[0], p[1], from)
		}
	}
	return mons, nil
}

// addMonitors registers with e the live monitors that start at timestep
// t (ids after the configuration's).
func (l *live) addMonitors(e *assoc.Engine, a *assocRun, t int) error {
	for k, m := range l.man.LiveMonitors {
		if m.From != t {
			continue
		}
		id := int64(len(a.monitors) + k + 1)
		if err := e.AddMonitor(id, m.RA, m.Dec); err != nil {
			return fmt.Errorf("pipeline: live monitor %d: %w", id, err)
		}
	}
	return nil
}
