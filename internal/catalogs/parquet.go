package catalogs

import (
	"bytes"
	"math"

	"gotrap/catalog"
	"gotrap/kernels"
)

// GotrapParquet is gotrap's own measurements Parquet: `gotrap extract`'s
// STEM.parquet, or a run's work/extract/ID.blind.parquet.
const GotrapParquet Format = "gotrap-parquet"

// parquetMagic starts (and ends) every Parquet file.
var parquetMagic = []byte("PAR1")

// parquetRows reads gotrap's measurement records: each row, in file
// order, becomes a Source with the pixel and sky quantities of the file
// (extract.Measurements' inverse).
func parquetRows(name string, data []byte) ([]Row, error) {
	ms, err := catalog.Read[catalog.Measurement](bytes.NewReader(data))
	if err != nil {
		return nil, errFile(name, "%v", err)
	}
	rows := make([]Row, 0, len(ms))
	for i := range ms {
		m := &ms[i]
		if !finite(m.RA) || !finite(m.Decl) || m.Decl < -90 || m.Decl > 90 {
			return nil, errFile(name, "row %d (id %d): position (%v, %v) is not on the sky", i+1, m.ID, m.RA, m.Decl)
		}
		s := kernels.Source{
			ID: i, Peak: m.FPeak, PeakErr: m.FPeakErr, Flux: m.FInt, FluxErr: m.FIntErr,
			X: m.XPix, XErr: m.XPixErr, Y: m.YPix, YErr: m.YPixErr,
			Smaj: m.Smaj, SmajErr: m.SmajErr, Smin: m.Smin, SminErr: m.SminErr, Theta: m.Theta, ThetaErr: m.ThetaErr,
			SmajDC: m.SmajDC, SmajDCErr: m.SmajDCErr, SminDC: m.SminDC, SminDCErr: m.SminDCErr,
			ThetaDC: m.ThetaDC * 180 / math.Pi, ThetaDCErr: m.ThetaDCErr * 180 / math.Pi,
			RA: m.RA, RAErr: m.RAFitErr, Dec: m.Decl, DecErr: m.DeclFitErr,
			SmajAsec: m.SemiMajor, SmajAsecErr: m.SemiMajErr, SminAsec: m.SemiMinor, SminAsecErr: m.SemiMinErr,
			ThetaCeles: m.PA, ThetaCelesErr: m.PAErr, ThetaDCCeles: m.PADC, ThetaDCCelesErr: m.PADCErr,
			ErrorRadius: m.ErrRadius, Sig: m.DetSigma, Chisq: m.ChiSq, ReducedChisq: m.ReducedChiSq,
			Gaussian: m.FitType == catalog.FitGaussian, Deblended: m.Deblended, Blended: m.Blended,
		}
		rows = append(rows, Row{Line: i + 1, Src: s, Pixel: true})
	}
	return rows, nil
}
