package kernels

// Panic messages for programmer errors (STYLE rule 7).
const (
	badRow    = "kernels: row outside image"
	badLength = "kernels: slice lengths do not match"
)

// Panic messages of the detection stage (background, labelling, detect).
const (
	badMaskLength = "kernels: mask length does not match the image"
	badImage      = "kernels: image stride or pixel slice too small for its rectangle"
	badCellSize   = "kernels: background cell size must be positive"
	badFraction   = "kernels: rms_qc fraction must be at least 1"
	badMaps       = "kernels: supplied background and rms maps must both be set and match the image's rectangle"
)

// Panic messages of measurement.
const (
	badDetections = "kernels: Detections has mismatched D, RMS and Labels"
	badIslandBox  = "kernels: island box outside the image"
	badForcedArgs = "kernels: forced-fit images differ in shape"
)
