package pipeline

import (
	"fmt"

	"gotrap/internal/config"
	"gotrap/internal/extract"
	"gotrap/internal/fitsimg"
)

// Channels is a channel range ([pipeline] channels, config.ParseChannels):
// channels First to Last (1-based; Last 0: to the image's last). The zero
// value is no range: one image per input, the plane the read options
// choose.
type Channels struct{ First, Last int }

// channelsOf returns the channel range of a validated [pipeline] section.
func channelsOf(p config.Pipeline) Channels {
	first, last, _ := config.ParseChannels(p.Channels)
	return Channels{First: first, Last: last}
}

func (ch Channels) String() string {
	switch {
	case ch.Last == 0:
		return fmt.Sprintf("%d to the last", ch.First)
	case ch.First == ch.Last:
		return fmt.Sprintf("%d", ch.First)
	}
	return fmt.Sprintf("%d-%d", ch.First, ch.Last)
}

// expandChannels reads the header of path with opt and returns its plan
// images, IDs and grouping not yet set: one, the plane opt chooses,
// without a range; else one per channel of ch, each with its own
// frequency (and per-plane beam), the other axes as opt chooses (its
// Stokes parameter, say). An image without a frequency axis has one
// channel. A header that cannot be read, or a range reaching past the
// image's channels, gives one image with HeaderErr set (rejected as
// unreadable).
func expandChannels(path string, opt fitsimg.Options, ch Channels) []Image {
	one := func(o fitsimg.Options) Image {
		img := Image{Path: path, Plane: o.Plane}
		m, err := fitsimg.ReadMeta(path, o)
		if err != nil {
			img.HeaderErr = err.Error()
			return img
		}
		img.Meta, img.Plane = m, m.Plane
		img.dx, img.dy = deltas(m)
		m.Header = nil
		return img
	}
	if ch.First == 0 {
		return []Image{one(opt)}
	}
	o := opt
	o.Channel = ch.First
	first := one(o)
	if first.Meta == nil {
		return []Image{first}
	}
	n := first.Meta.Channels
	last := ch.Last
	if last == 0 {
		last = n
	}
	if last > n {
		first.Meta, first.HeaderErr = nil, fmt.Sprintf("%s: channels %s requested, the image has %d", path, ch, n)
		return []Image{first}
	}
	out := []Image{first}
	for c := ch.First + 1; c <= last; c++ {
		o.Channel = c
		out = append(out, one(o))
	}
	return out
}

// readOptions returns the options that read img's plane: base (the
// run's, for its beam override) with the plane the plan chose. Every
// read of an image's pixels for extraction and forced fits uses it, so a
// cube's channels are each read as planned.
func (img *Image) readOptions(base fitsimg.Options) fitsimg.Options {
	if !img.hasHeader() {
		return base
	}
	base.Plane, base.Stokes, base.Channel = img.Plane, "", 0
	return base
}

// extractOptions returns o (extraction settings) reading img's plane, with
// its shipped Selavy maps when it has them (catmaps.go), for the code that
// extracts a file through extract.Worker.File. Maps that cannot be read
// are left out: the extraction stage rejected such an image already.
func (img *Image) extractOptions(o extract.Options) extract.Options {
	r := img.readOptions(fitsimg.Options{Plane: o.Plane, Stokes: o.Stokes, Channel: o.Channel, Beam: o.Beam})
	o.Plane, o.Stokes, o.Channel = r.Plane, r.Stokes, r.Channel
	if m, err := img.withMaps(o); err == nil {
		o = m
	}
	return o
}

// stokes returns img's Stokes parameter as the FITS code of
// images.parquet (1 = I, 4 = V; fitsimg.StokesCode): 1 when unknown.
func (img *Image) stokes() int32 {
	if !img.hasHeader() {
		return 1
	}
	return img.geo().stokes
}

// firstImages returns, per file of the plan, the id of its first image
// (a cube expanded into channels has several).
func firstImages(plan *Plan) map[string]int64 {
	first := make(map[string]int64, plan.Len())
	for i := range plan.Len() {
		img := plan.Image(i)
		if id, ok := first[img.Path]; !ok || img.ID < id {
			first[img.Path] = img.ID
		}
	}
	return first
}
