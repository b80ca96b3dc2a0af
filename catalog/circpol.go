package catalog

// CircPol is one row of circpol.parquet (option [pipeline]
// circular_polarisation; docs/catalog.md "circpol"): the circular
// polarisation of a Stokes I measurement, measured by a forced fit at its
// position in the Stokes V plane of the same image file (same channel),
// once per association of the measurement with a runcat.
type CircPol struct {
	Measurement int64 `parquet:"measurement"` // -> measurements.id (Stokes I)
	Image       int64 `parquet:"image"`       // -> images.id
	Runcat      int64 `parquet:"runcat"`      // -> runcat.id
	// FPeakV, FIntV and their errors are the forced fit in Stokes V
	// (signed: negative for left-handed circular polarisation).
	FPeakV    float64 `parquet:"f_peak_v" unit:"Jy/beam"`
	FPeakVErr float64 `parquet:"f_peak_v_err" unit:"Jy/beam"`
	FIntV     float64 `parquet:"f_int_v" unit:"Jy"`
	FIntVErr  float64 `parquet:"f_int_v_err" unit:"Jy"`
	// VSigma is f_int_v / f_int_v_err.
	VSigma float64 `parquet:"v_sigma" unit:"sigma"`
	// CircFrac is f_int_v over the Stokes I measurement's f_int, with
	// its error propagated from both (independent errors).
	CircFrac    float64 `parquet:"circ_frac"`
	CircFracErr float64 `parquet:"circ_frac_err"`
	// CircFracLimit is the 3-sigma upper limit of |V|/I:
	// (|f_int_v| + 3 f_int_v_err) / |f_int|.
	CircFracLimit float64 `parquet:"circ_frac_limit"`
}

// TableCircPol is circpol.parquet's table name.
const TableCircPol = "circpol"
