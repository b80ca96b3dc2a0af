package kernels

import "image"

// Beam is a restoring beam or a source shape in pixel units: semi-axes A >= B
// (half width at half maximum, pixels) and position angle Theta (radians,
// from +y towards -x), as in SPEC 0.2 and 0.3.
type Beam struct {
	A, B, Theta float64
}

// Island is a connected group of pixels above the analysis threshold, the
// unit that measurement works on. Its pixels are those of Detections.Labels
// equal to Label inside Box; the values come from Detections.D and
// Detections.RMS, so an Island holds no pixel copies.
type Island struct {
	Label     int32           // value of the island's pixels in Detections.Labels
	Box       image.Rectangle // bounding box in image coordinates, half-open
	Peak      image.Point     // pixel with the largest D, first in raster order on ties
	PeakValue float32         // D at Peak
	NPix      int             // number of pixels
	// Threshold is T of SPEC 4.7-4.9: the analysis threshold in flux units
	// that defined the island (analysis_thr * rms at Peak), or the deblend
	// level for a deblended sub-island.
	Threshold float32
	// Noise is sigma_n: the rms map at Peak (also for deblended
	// sub-islands: gotrap fixes PySE's quirk 6, SPEC decisions).
	Noise float32
	// Deblended is set on the sub-islands that deblending (SPEC 4.6)
	// split off an island; Blended on an island left whole, with
	// deblending off, that the deblending test would split
	// (Detector.markBlends): one fit for several sources.
	Deblended, Blended bool
}

// Detections is the output of thresholding and labelling one image: the
// background-subtracted data D, the rms map, the label image and the
// accepted islands in a deterministic order. D, RMS and Labels share one
// layout: Labels[D.PixOffset(x, y)] is the label of pixel (x, y), 0 for
// none. RMS has the same Rect and Stride as D.
type Detections struct {
	D, RMS  *Image
	Labels  []int32
	Islands []Island
}
