package report

// circPol is the circular polarisation of a runcat's measurement in one
// image (circpol.parquet, gotrap run --circular-polarisation).
type circPol struct {
	frac, fracErr, limit, vSigma float64
}

// circPols loads circpol.parquet by (runcat, image); empty for a run
// without it (the view is then empty).
func (b *builder) circPols() (map[[2]int64]circPol, error) {
	t, err := sqlTable(b.ctx, b.db, `SELECT runcat, image, circ_frac, circ_frac_err, circ_frac_limit, v_sigma FROM circpol ORDER BY measurement`)
	if err != nil {
		return nil, err
	}
	out := make(map[[2]int64]circPol, len(t.Rows))
	for i := range t.Rows {
		k := [2]int64{t.n(i, "runcat"), t.n(i, "image")}
		if _, dup := out[k]; !dup {
			out[k] = circPol{frac: t.f(i, "circ_frac"), fracErr: t.f(i, "circ_frac_err"),
				limit: t.f(i, "circ_frac_limit"), vSigma: t.f(i, "v_sigma")}
		}
	}
	return out, nil
}

// circPolParams are a new source's VOEvent Params for the circular
// polarisation of its trigger measurement.
func circPolParams(c circPol) []VOParam {
	p := func(name, ucd, desc string, v float64) VOParam {
		return VOParam{Name: name, UCD: ucd, Unit: "", DataType: "float", Value: formatCell(v), Description: desc}
	}
	return []VOParam{
		p("circ_frac", "phys.polarization.circular", "circular polarisation V/I of the trigger measurement (forced fit in Stokes V)", c.frac),
		p("circ_frac_err", "stat.error;phys.polarization.circular", "its 1-sigma error", c.fracErr),
		p("circ_frac_limit", "stat.max;phys.polarization.circular", "3-sigma upper limit of |V|/I", c.limit),
		p("v_sigma", "stat.snr;phys.polarization.circular", "significance of the Stokes V flux", c.vSigma),
	}
}
