package assoc

import (
	"fmt"
	"slices"

	"gotrap/catalog"
)

// AssociateForced associates the null-detection forced fits of image
// (SPEC 6.1), the answers to the Requests of its AssociateBlind Result:
// each fit has ExtractType = catalog.ExtractForced and FFRuncat set to a
// requested runcat; outside lists the requested runcats whose position
// the fitter dropped as outside the image's usable area. A request may be
// answered once. Call it once per image, for images in the order of
// their blind association, at any time after it (forced fits are a
// separate stage, decision "Forced fits are decided during association").
//
// Each fit adds a type 7 link (r = distance = 0) and updates the flux row
// of the image's band; positions and datapoints are unchanged. A fit for
// a runcat that has since been forked goes to every fork that replaced
// it (what a fork's copy of the link would have given). Fits for monitor
// runcats are skipped. When the image was registered without Usable, the
// expiration counter of each requested runcat not listed in outside is
// incremented here, unless a later blind association has reset it.
// On error the engine is unchanged.
func (e *Engine) AssociateForced(image int64, fits []catalog.Measurement, outside []int64) (*ForcedResult, error) {
	st, ok := e.images[image]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: image %d not registered", ErrImage, image)
	case st.seq == 0:
		return nil, fmt.Errorf("%w: forced fits of image %d before its blind association", ErrOrder, image)
	case st.forcedDone:
		return nil, fmt.Errorf("%w: forced fits of image %d associated twice", ErrOrder, image)
	case st.seq < e.lastForced:
		return nil, fmt.Errorf("%w: forced fits of image %d after a later image's", ErrOrder, image)
	}
	seen := map[int64]bool{}
	answer := func(rc int64) error {
		if _, ok := st.requests[rc]; !ok || seen[rc] {
			return fmt.Errorf("%w: image %d: runcat %d was not requested or is answered twice", ErrMeasurement, image, rc)
		}
		seen[rc] = true
		return nil
	}
	for i := range fits {
		if !fits[i].FFRuncat.Valid {
			return nil, fmt.Errorf("%w: forced fit %d has no ff_runcat", ErrMeasurement, fits[i].ID)
		}
		if err := answer(fits[i].FFRuncat.Int64); err != nil {
			return nil, err
		}
	}
	out := map[int64]bool{}
	for _, rc := range outside {
		if err := answer(rc); err != nil {
			return nil, err
		}
		out[rc] = true
	}
	kept, dropped, err := e.prepareAll(image, catalog.ExtractForced, fits)
	if err != nil {
		return nil, fmt.Errorf("assoc: image %d: %w", image, err)
	}

	st.forcedDone = true
	e.lastForced = st.seq
	res := &ForcedResult{Image: image, Measurements: kept, Dropped: dropped}
	if st.info.Usable == nil {
		for id := range st.requests {
			if s, ok := e.src[id]; ok && !out[id] && s.blindSeq < st.seq {
				s.rc.ForcedFitsCount++
			}
		}
	}
	var desc map[int64][]int64
	for i := range kept {
		m := &kept[i]
		for _, id := range e.liveDescendants(m.FFRuncat.Int64, &desc) {
			s := e.src[id]
			if s.rc.MonSrc {
				continue
			}
			v, eta, n := s.addFlux(st.band, m)
			l := catalog.Association{Runcat: id, Xtrsrc: m.ID, Type: catalog.AssocNullForced,
				VInt: v, EtaInt: eta, FDatapoints: n}
			e.links.add(&s.links, l)
			res.Associations = append(res.Associations, l)
			res.Changed = append(res.Changed, id)
		}
	}
	slices.Sort(res.Changed)
	sortAssocs(res.Associations)
	if err := e.storeErr("forced fits", image); err != nil {
		return nil, err
	}
	st.requests = nil // read by no later call: O(images) memory otherwise
	return res, nil
}

// liveDescendants returns the live runcat id, or, for a runcat deleted
// by forks, the live forks of this engine that replaced it (directly or
// through later forks), by id. A fork records its ancestors, so the forks
// are found even where a distributed association keeps the ancestor's
// other forks on other ranks; *desc caches the ancestor index of one
// call.
func (e *Engine) liveDescendants(id int64, desc *map[int64][]int64) []int64 {
	if _, ok := e.src[id]; ok {
		return []int64{id}
	}
	if *desc == nil {
		*desc = map[int64][]int64{}
		for _, s := range e.src {
			for _, a := range s.ancestors {
				(*desc)[a] = append((*desc)[a], s.rc.ID)
			}
		}
		for _, l := range *desc {
			slices.Sort(l)
		}
	}
	return (*desc)[id]
}

// AssociateMonitor associates the monitoring-list fits of image (SPEC
// 6.2): each fit has ExtractType = catalog.ExtractMonitor and FFMonitor
// set to a monitor added with AddMonitor, at most one fit per monitor.
// The first fit of a monitor creates a mon_src runcat with N = 1 and the
// fit's id (type 8 link, v = eta = 0, M = 1); later fits add a type 9
// link, update the flux row of the image's band, increment datapoints and
// reset forcedfits_count, leaving the position unchanged (TraP's
// behaviour, SPEC 11 quirk 12, kept: the position stays the first fit's,
// which decision 5 centres on the monitor position). Call it once per
// image, in the order of blind association, after AssociateBlind of the
// image. On error the engine is unchanged.
func (e *Engine) AssociateMonitor(image int64, fits []catalog.Measurement) (*ForcedResult, error) {
	st, ok := e.images[image]
	switch {
	case !ok:
		return nil, fmt.Errorf("%w: image %d not registered", ErrImage, image)
	case st.seq == 0:
		return nil, fmt.Errorf("%w: monitor fits of image %d before its blind association", ErrOrder, image)
	case st.monitorDone:
		return nil, fmt.Errorf("%w: monitor fits of image %d associated twice", ErrOrder, image)
	case st.seq < e.lastMon:
		return nil, fmt.Errorf("%w: monitor fits of image %d after a later image's", ErrOrder, image)
	}
	seen := map[int64]bool{}
	for i := range fits {
		f := &fits[i]
		if !f.FFMonitor.Valid || seen[f.FFMonitor.Int64] || e.monitorIndex(f.FFMonitor.Int64) < 0 {
			return nil, fmt.Errorf("%w: monitor fit %d: unknown or repeated monitor", ErrMeasurement, f.ID)
		}
		seen[f.FFMonitor.Int64] = true
	}
	kept, dropped, err := e.prepareAll(image, catalog.ExtractMonitor, fits)
	if err != nil {
		return nil, fmt.Errorf("assoc: image %d: %w", image, err)
	}
	for i := range kept {
		if mon := e.monitors[e.monitorIndex(kept[i].FFMonitor.Int64)]; mon.runcat == 0 {
			if _, ok := e.src[kept[i].ID]; ok {
				return nil, fmt.Errorf("assoc: image %d: %w: %d", image, ErrIDCollision, kept[i].ID)
			}
		}
	}

	st.monitorDone = true
	e.lastMon = st.seq
	res := &ForcedResult{Image: image, Measurements: kept, Dropped: dropped}
	for i := range kept {
		m := &kept[i]
		mon := &e.monitors[e.monitorIndex(m.FFMonitor.Int64)]
		var l catalog.Association
		if mon.runcat == 0 {
			mon.runcat = m.ID
			if !e.owned(mon.ra, mon.dec) {
				continue // another rank's monitor runcat
			}
			s := &source{rc: newRuncat(m), first: st.info.TauStart, blindSeq: st.seq, stokes: st.info.Stokes}
			s.rc.MonSrc = true
			_, _, n := s.addFlux(st.band, m)
			l = catalog.Association{Runcat: m.ID, Xtrsrc: m.ID, Type: catalog.AssocMonitorNew, FDatapoints: n}
			e.links.add(&s.links, l)
			e.src[m.ID] = s
		} else {
			s, ok := e.src[mon.runcat]
			if !ok {
				continue // another rank's monitor runcat
			}
			s.rc.Datapoints++
			s.rc.ForcedFitsCount = 0
			v, eta, n := s.addFlux(st.band, m)
			l = catalog.Association{Runcat: mon.runcat, Xtrsrc: m.ID, Type: catalog.AssocMonitorNext,
				VInt: v, EtaInt: eta, FDatapoints: n}
			e.links.add(&s.links, l)
		}
		res.Associations = append(res.Associations, l)
		res.Changed = append(res.Changed, l.Runcat)
	}
	slices.Sort(res.Changed)
	sortAssocs(res.Associations)
	if err := e.storeErr("monitor fits", image); err != nil {
		return nil, err
	}
	return res, nil
}

func (e *Engine) monitorIndex(id int64) int {
	i, found := slices.BinarySearchFunc(e.monitors, id, func(m monitor, id int64) int { return cmpInt(m.id, id) })
	if !found {
		return -1
	}
	return i
}
