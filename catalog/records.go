package catalog

import (
	"database/sql"
	"time"
)

// The record types below are the rows of the run directory's tables. Each
// exported field carries a `parquet:"NAME"` tag (the column name, TraP's
// where TraP has one) and, for physical quantities, a `unit:"UNIT"` tag
// that is copied into each file's key-value metadata (gotrap.units) and
// into docs/catalog.md. Column order in the files is field order.
//
// Nullable columns use database/sql's NullInt64 and NullFloat64; every
// other column is required (never null).

// Reasons an image is rejected (SPEC 1 rejectreason; the fixed TraP ids).
const (
	RejectRMS       = 0 // RMS invalid
	RejectBeam      = 1 // beam invalid
	RejectBright    = 2 // bright source near
	RejectTauTime   = 3 // tau_time invalid
	RejectNaN       = 4 // contains NaN
	RejectFlat      = 5 // data is flat
	RejectReadError = 6 // gotrap: the file could not be read or decoded
)

// Extraction types of a measurement (SPEC 1 extractedsource.extract_type).
const (
	ExtractBlind    = 0 // blind detection
	ExtractForced   = 1 // forced fit at a null detection (ff_runcat set)
	ExtractMonitor  = 2 // forced fit at a monitor position (ff_monitor set)
	ExtractBackward = 3 // gotrap: backward forced fit, before the runcat's first detection (ff_runcat set)
)

// Fit types of a measurement (SPEC 1 extractedsource.fit_type).
const (
	FitMoments  = 0
	FitGaussian = 1
)

// Association types (SPEC 1 assocxtrsource.type).
const (
	AssocForkBase    = 2 // base point of a 1-to-many fork
	AssocOneToOne    = 3 // 1-to-1 or many-to-1
	AssocNewSource   = 4 // new source (0-to-1)
	AssocForkCopy    = 6 // copy of an old link onto a forked runcat
	AssocNullForced  = 7 // null-detection forced fit
	AssocMonitorNew  = 8 // first monitor fit
	AssocMonitorNext = 9 // later monitor fit
	// AssocBackward (gotrap) links a backward forced fit to its runcat;
	// its v_int, eta_int and f_datapoints are 0: backward fits do not
	// enter the running flux statistics.
	AssocBackward = 10
)

// New-source types (SPEC 8.1).
const (
	NewSourcePossible = 0 // brighter than the best previous limit in its low-rms part
	NewSourceLikely   = 1 // brighter than that limit even in its highest-rms part
)

// Image is one row of images.parquet: an input image, its metadata, its
// quality-control result and, for accepted images, the extraction's rms
// range and thresholds (SPEC 1 image + rejection).
type Image struct {
	ID        int64     `parquet:"id"`
	URL       string    `parquet:"url"`      // input path as given
	Band      int64     `parquet:"band"`     // -> bands.id
	SkyRegion int64     `parquet:"skyrgn"`   // -> skyregions.id
	Timestep  int64     `parquet:"timestep"` // index of the image's timestep group, 0-based
	Stokes    int32     `parquet:"stokes"`   // 1 = I
	TauStart  time.Time `parquet:"taustart_ts" unit:"UTC"`
	TauTime   float64   `parquet:"tau_time" unit:"s"`
	FreqEff   float64   `parquet:"freq_eff" unit:"Hz"`
	FreqBW    float64   `parquet:"freq_bw" unit:"Hz"`
	RBSmaj    float64   `parquet:"rb_smaj" unit:"deg"` // restoring beam semi-major axis
	RBSmin    float64   `parquet:"rb_smin" unit:"deg"`
	RBPA      float64   `parquet:"rb_pa" unit:"deg"`
	DeltaX    float64   `parquet:"deltax" unit:"deg"` // signed pixel size along x
	DeltaY    float64   `parquet:"deltay" unit:"deg"`
	NX        int32     `parquet:"nx" unit:"pix"`
	NY        int32     `parquet:"ny" unit:"pix"`
	CentreRA  float64   `parquet:"centre_ra" unit:"deg"`
	CentreDec float64   `parquet:"centre_decl" unit:"deg"`
	RMSQC     float64   `parquet:"rms_qc" unit:"Jy/beam"`
	RMSMin    float64   `parquet:"rms_min" unit:"Jy/beam"` // of the rms map; 0 when rejected
	RMSMax    float64   `parquet:"rms_max" unit:"Jy/beam"`
	// DetectionThresh and AnalysisThresh are in units of the local rms.
	DetectionThresh float64 `parquet:"detection_thresh" unit:"sigma"`
	AnalysisThresh  float64 `parquet:"analysis_thresh" unit:"sigma"`
	Rejected        bool    `parquet:"rejected"`
	// RejectReason is one of the Reject* constants, null when accepted.
	RejectReason  sql.NullInt64 `parquet:"reject_reason"`
	RejectComment string        `parquet:"reject_comment"`
	// Plane is the flat index (0-based, axis 3 fastest) of the plane read
	// from the input: (url, plane) is the image's identity. 0 for a 2-D
	// image.
	Plane int32 `parquet:"plane"`
}

// Measurement is one row of the measurements table: a blind detection or a
// forced fit (SPEC 1 extractedsource plus every column of PySE's
// extraction CSV; docs/catalog.md maps the CSV names). Pixel quantities
// are 0-based with x along FITS axis 1.
type Measurement struct {
	ID          int64         `parquet:"id"`    // MeasurementID(image, index)
	Image       int64         `parquet:"image"` // -> images.id
	ExtractType int32         `parquet:"extract_type"`
	FitType     int32         `parquet:"fit_type"`
	FFRuncat    sql.NullInt64 `parquet:"ff_runcat"`  // set for ExtractForced and ExtractBackward
	FFMonitor   sql.NullInt64 `parquet:"ff_monitor"` // set for ExtractMonitor

	RA         float64 `parquet:"ra" unit:"deg"`
	Decl       float64 `parquet:"decl" unit:"deg"`
	RAFitErr   float64 `parquet:"ra_fit_err" unit:"deg"` // CSV ra_err
	DeclFitErr float64 `parquet:"decl_fit_err" unit:"deg"`
	RAErr      float64 `parquet:"ra_err" unit:"deg"` // with the systematic error (SPEC 5.1)
	DeclErr    float64 `parquet:"decl_err" unit:"deg"`
	UncertEW   float64 `parquet:"uncertainty_ew" unit:"deg"`
	UncertNS   float64 `parquet:"uncertainty_ns" unit:"deg"`
	EWSysErr   float64 `parquet:"ew_sys_err" unit:"arcsec"`
	NSSysErr   float64 `parquet:"ns_sys_err" unit:"arcsec"`
	ErrRadius  float64 `parquet:"error_radius" unit:"arcsec"`
	Zone       int32   `parquet:"zone" unit:"deg"` // floor(decl)
	X          float64 `parquet:"x"`               // unit vector of (ra, decl)
	Y          float64 `parquet:"y"`
	Z          float64 `parquet:"z"`
	RACosDecl  float64 `parquet:"racosdecl" unit:"deg"`

	FPeak    float64 `parquet:"f_peak" unit:"Jy/beam"`
	FPeakErr float64 `parquet:"f_peak_err" unit:"Jy/beam"`
	FInt     float64 `parquet:"f_int" unit:"Jy"`
	FIntErr  float64 `parquet:"f_int_err" unit:"Jy"`
	DetSigma float64 `parquet:"det_sigma" unit:"sigma"` // CSV sig

	XPix    float64 `parquet:"x_pix" unit:"pix"` // CSV x
	XPixErr float64 `parquet:"x_pix_err" unit:"pix"`
	YPix    float64 `parquet:"y_pix" unit:"pix"`
	YPixErr float64 `parquet:"y_pix_err" unit:"pix"`

	// Shape in pixels (HWHM semi-axes) and radians, as fitted.
	Smaj         float64 `parquet:"smaj" unit:"pix"`
	SmajErr      float64 `parquet:"smaj_err" unit:"pix"`
	Smin         float64 `parquet:"smin" unit:"pix"`
	SminErr      float64 `parquet:"smin_err" unit:"pix"`
	Theta        float64 `parquet:"theta" unit:"rad"`
	ThetaErr     float64 `parquet:"theta_err" unit:"rad"`
	SmajDC       float64 `parquet:"smaj_dc" unit:"pix"` // deconvolved
	SmajDCErr    float64 `parquet:"smaj_dc_err" unit:"pix"`
	SminDC       float64 `parquet:"smin_dc" unit:"pix"`
	SminDCErr    float64 `parquet:"smin_dc_err" unit:"pix"`
	ThetaDC      float64 `parquet:"theta_dc" unit:"rad"`
	ThetaDCErr   float64 `parquet:"theta_dc_err" unit:"rad"`
	SemiMajor    float64 `parquet:"semimajor" unit:"arcsec"` // CSV smaj_asec
	SemiMajErr   float64 `parquet:"semimajor_err" unit:"arcsec"`
	SemiMinor    float64 `parquet:"semiminor" unit:"arcsec"` // CSV smin_asec
	SemiMinErr   float64 `parquet:"semiminor_err" unit:"arcsec"`
	PA           float64 `parquet:"pa" unit:"deg"` // CSV theta_celes, east of north
	PAErr        float64 `parquet:"pa_err" unit:"deg"`
	PADC         float64 `parquet:"pa_dc" unit:"deg"` // CSV theta_dc_celes
	PADCErr      float64 `parquet:"pa_dc_err" unit:"deg"`
	ChiSq        float64 `parquet:"chisq"`
	ReducedChiSq float64 `parquet:"reduced_chisq"`

	// Deblended marks a component of an island that deblending split
	// (SPEC 4.6); Blended an island measured as one source that the
	// deblending test (32 levels, deblend_mincont) would split, with
	// deblending off (kernels.Island). Both false for forced fits and in
	// files written before schema version 2.
	Deblended bool `parquet:"deblended"`
	Blended   bool `parquet:"blended"`
}

// Association is one row of associations.parquet: a link between a
// running-catalogue source and a measurement (SPEC 1 assocxtrsource). VInt,
// EtaInt and FDatapoints are the incremental values of SPEC 7.1 after
// adding this point (see FluxStats).
type Association struct {
	Runcat      int64   `parquet:"runcat"` // -> runcat.id
	Xtrsrc      int64   `parquet:"xtrsrc"` // -> measurements.id
	Type        int32   `parquet:"type"`   // Assoc* constants
	Distance    float64 `parquet:"distance_arcsec" unit:"arcsec"`
	R           float64 `parquet:"r"` // De Ruiter radius, dimensionless
	VInt        float64 `parquet:"v_int"`
	EtaInt      float64 `parquet:"eta_int"`
	FDatapoints int64   `parquet:"f_datapoints"`
}

// Runcat is one row of runcat.parquet: a running-catalogue source (SPEC 1
// runningcatalog). Its ID is the id of the measurement that created it.
type Runcat struct {
	ID              int64   `parquet:"id"`
	Xtrsrc          int64   `parquet:"xtrsrc"` // -> measurements.id (the creator)
	Datapoints      int64   `parquet:"datapoints"`
	Zone            int32   `parquet:"zone" unit:"deg"`
	WmRA            float64 `parquet:"wm_ra" unit:"deg"`
	WmDecl          float64 `parquet:"wm_decl" unit:"deg"`
	WmUncertEW      float64 `parquet:"wm_uncertainty_ew" unit:"deg"`
	WmUncertNS      float64 `parquet:"wm_uncertainty_ns" unit:"deg"`
	AvgRAErr        float64 `parquet:"avg_ra_err" unit:"deg"`
	AvgDeclErr      float64 `parquet:"avg_decl_err" unit:"deg"`
	AvgWRA          float64 `parquet:"avg_wra" unit:"deg^-1"`
	AvgWDecl        float64 `parquet:"avg_wdecl" unit:"deg^-1"`
	AvgWeightRA     float64 `parquet:"avg_weight_ra" unit:"deg^-2"`
	AvgWeightDecl   float64 `parquet:"avg_weight_decl" unit:"deg^-2"`
	X               float64 `parquet:"x"`
	Y               float64 `parquet:"y"`
	Z               float64 `parquet:"z"`
	MonSrc          bool    `parquet:"mon_src"`
	ForcedFitsCount int32   `parquet:"forcedfits_count"`
}

// RuncatFlux is one row of runcat_flux.parquet: the running flux means of
// a source in one band (SPEC 1 runningcatalog_flux; SPEC 5.3).
type RuncatFlux struct {
	Runcat             int64   `parquet:"runcat"`
	Band               int64   `parquet:"band"`
	Stokes             int32   `parquet:"stokes"`
	FDatapoints        int64   `parquet:"f_datapoints"`
	AvgFPeak           float64 `parquet:"avg_f_peak" unit:"Jy/beam"`
	AvgFPeakSq         float64 `parquet:"avg_f_peak_sq" unit:"(Jy/beam)^2"`
	AvgFPeakWeight     float64 `parquet:"avg_f_peak_weight" unit:"(Jy/beam)^-2"`
	AvgWeightedFPeak   float64 `parquet:"avg_weighted_f_peak" unit:"(Jy/beam)^-1"`
	AvgWeightedFPeakSq float64 `parquet:"avg_weighted_f_peak_sq"`
	AvgFInt            float64 `parquet:"avg_f_int" unit:"Jy"`
	AvgFIntSq          float64 `parquet:"avg_f_int_sq" unit:"Jy^2"`
	AvgFIntWeight      float64 `parquet:"avg_f_int_weight" unit:"Jy^-2"`
	AvgWeightedFInt    float64 `parquet:"avg_weighted_f_int" unit:"Jy^-1"`
	AvgWeightedFIntSq  float64 `parquet:"avg_weighted_f_int_sq"`
}

// NewSource is one row of newsources.parquet (SPEC 1 newsource, SPEC 8.1).
type NewSource struct {
	ID                  int64 `parquet:"id"` // the runcat id
	Runcat              int64 `parquet:"runcat"`
	TriggerXtrsrc       int64 `parquet:"trigger_xtrsrc"`        // -> measurements.id
	PreviousLimitsImage int64 `parquet:"previous_limits_image"` // -> images.id
	Type                int32 `parquet:"newsource_type"`        // NewSource* constants
}

// SkyRegion is one row of skyregions.parquet (SPEC 1 skyregion).
type SkyRegion struct {
	ID        int64   `parquet:"id"`
	CentreRA  float64 `parquet:"centre_ra" unit:"deg"`
	CentreDec float64 `parquet:"centre_decl" unit:"deg"`
	XtrRadius float64 `parquet:"xtr_radius" unit:"deg"`
	X         float64 `parquet:"x"`
	Y         float64 `parquet:"y"`
	Z         float64 `parquet:"z"`
}

// Band is one row of bands.parquet (SPEC 1 frequencyband).
type Band struct {
	ID          int64   `parquet:"id"`
	FreqCentral float64 `parquet:"freq_central" unit:"Hz"`
	FreqLow     float64 `parquet:"freq_low" unit:"Hz"`
	FreqHigh    float64 `parquet:"freq_high" unit:"Hz"`
}

// VarMetric is one row of varmetric.parquet: the variability of one source
// in one band over all its associated measurements (SPEC 7, computed in
// SQL by catalog/duck). The newsource columns describe the runcat and are
// repeated on each of its bands; they are null when it is not a new source.
type VarMetric struct {
	Runcat      int64           `parquet:"runcat"`
	Band        int64           `parquet:"band"`
	NPoints     int64           `parquet:"n_points"`
	NForced     int64           `parquet:"n_forced"` // extract_type 1 or 2
	EtaInt      float64         `parquet:"eta_int"`
	VInt        float64         `parquet:"v_int"`
	EtaPeak     float64         `parquet:"eta_peak"`
	VPeak       float64         `parquet:"v_peak"`
	FIntMax     float64         `parquet:"f_int_max" unit:"Jy"`
	FIntMean    float64         `parquet:"f_int_mean" unit:"Jy"`
	FIntMedian  float64         `parquet:"f_int_median" unit:"Jy"`
	FPeakMax    float64         `parquet:"f_peak_max" unit:"Jy/beam"`
	FPeakMean   float64         `parquet:"f_peak_mean" unit:"Jy/beam"`
	FPeakMedian float64         `parquet:"f_peak_median" unit:"Jy/beam"`
	FirstTime   time.Time       `parquet:"first_taustart_ts" unit:"UTC"`
	LastTime    time.Time       `parquet:"last_taustart_ts" unit:"UTC"`
	NewSource   sql.NullInt64   `parquet:"newsource"`
	NewSrcType  sql.NullInt64   `parquet:"newsource_type"`
	SigmaRMSMin sql.NullFloat64 `parquet:"sigma_rms_min"`
	SigmaRMSMax sql.NullFloat64 `parquet:"sigma_rms_max"`
	// The calibrated variability (docs/variability.md): the chi-square
	// about the weighted mean (eta times dof), its false-alarm probability
	// from the chi-square distribution with dof = n_points - 1 degrees of
	// freedom (0 where it underflows float64) and the one-sided Gaussian
	// significance of that probability (finite beyond the underflow).
	// NULL with one point.
	DOF       int64           `parquet:"dof"`
	Chi2Int   float64         `parquet:"chi2_int"`
	PInt      sql.NullFloat64 `parquet:"p_int"`
	SigmaInt  sql.NullFloat64 `parquet:"sigma_int"`
	Chi2Peak  float64         `parquet:"chi2_peak"`
	PPeak     sql.NullFloat64 `parquet:"p_peak"`
	SigmaPeak sql.NullFloat64 `parquet:"sigma_peak"`
	// The two-epoch metrics of Mooley et al. (2016) for the pair of
	// points with the largest |Vs|: Vs = (S_a - S_b)/sqrt(s_a^2 + s_b^2)
	// and m = 2(S_a - S_b)/(S_a + S_b), a the earlier point. NULL with
	// one point.
	VsInt  sql.NullFloat64 `parquet:"vs_int"`
	MInt   sql.NullFloat64 `parquet:"m_int"`
	VsPeak sql.NullFloat64 `parquet:"vs_peak"`
	MPeak  sql.NullFloat64 `parquet:"m_peak"`
}

// Limit is one row of limits.parquet: an upper limit on a
// running-catalogue source in an accepted image taken before its first
// detection (the images of SPEC 8.1's limits: a timestep before that of
// the source's earliest association, any band, its position inside the
// image's usable area; the rule of the backward forced fits). RMS is the
// image's rms map at the source's final position (wm_ra, wm_decl),
// evaluated from the background grids the extraction kept; when an image
// has none (supplied maps, a run staged elsewhere) it is the image's
// rms_max and RMSFromMap is false. FPeakLimit is detection_thresh * RMS:
// a source brighter than that would have been detected there.
// SigmaMargin is the run's new_source_sigma_margin (SPEC 8.1), the same
// on every row, so that the catalogue alone gives the new-source test at
// the position ((detection_thresh + margin) * RMS).
type Limit struct {
	Runcat      int64   `parquet:"runcat"` // -> runcat.id
	Image       int64   `parquet:"image"`  // -> images.id
	XPix        float64 `parquet:"x_pix" unit:"pix"`
	YPix        float64 `parquet:"y_pix" unit:"pix"`
	RMS         float64 `parquet:"rms" unit:"Jy/beam"`
	RMSFromMap  bool    `parquet:"rms_from_map"`
	FPeakLimit  float64 `parquet:"f_peak_limit" unit:"Jy/beam"`
	SigmaMargin float64 `parquet:"sigma_margin" unit:"sigma"`
}

// Table names: the file or directory names in the run directory and the
// DuckDB view names.
const (
	TableImages       = "images"
	TableMeasurements = "measurements"
	TableAssociations = "associations"
	TableRuncat       = "runcat"
	TableRuncatFlux   = "runcat_flux"
	TableNewSources   = "newsources"
	TableSkyRegions   = "skyregions"
	TableBands        = "bands"
	TableVarMetric    = "varmetric"
	TableLimits       = "limits"
)
