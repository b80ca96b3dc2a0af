package extract

import (
	"bufio"
	"io"
	"math"
	"strconv"

	"gotrap/catalog"
	"gotrap/kernels"
)

// CSVColumns are the 37 columns of PySE's CSV export, in its order and with
// its names (data/reference/*.csv); the units are those of kernels.Source.
var CSVColumns = [...]string{
	"id", "peak", "peak_err", "flux", "flux_err", "x", "x_err", "y", "y_err",
	"smaj", "smaj_err", "smin", "smin_err", "theta", "theta_err",
	"smaj_dc", "smaj_dc_err", "smin_dc", "smin_dc_err", "theta_dc", "theta_dc_err",
	"ra", "ra_err", "dec", "dec_err", "smaj_asec", "smaj_asec_err", "smin_asec", "smin_asec_err",
	"theta_celes", "theta_celes_err", "theta_dc_celes", "theta_dc_celes_err",
	"error_radius", "sig", "chisq", "reduced_chisq",
}

// CSVRow returns the values of s in the order of CSVColumns.
func CSVRow(s *kernels.Source) [len(CSVColumns)]float64 {
	return [...]float64{float64(s.ID), s.Peak, s.PeakErr, s.Flux, s.FluxErr, s.X, s.XErr, s.Y, s.YErr,
		s.Smaj, s.SmajErr, s.Smin, s.SminErr, s.Theta, s.ThetaErr, s.SmajDC, s.SmajDCErr, s.SminDC, s.SminDCErr,
		s.ThetaDC, s.ThetaDCErr, s.RA, s.RAErr, s.Dec, s.DecErr, s.SmajAsec, s.SmajAsecErr, s.SminAsec, s.SminAsecErr,
		s.ThetaCeles, s.ThetaCelesErr, s.ThetaDCCeles, s.ThetaDCCelesErr, s.ErrorRadius, s.Sig, s.Chisq, s.ReducedChisq}
}

// WriteCSV writes srcs as PySE's CSV export: a header line of CSVColumns,
// then one line per source, id as an integer and every other value with
// 12 significant digits (%.12g; inf and nan as Python writes them).
func WriteCSV(w io.Writer, srcs []kernels.Source) error {
	bw := bufio.NewWriter(w)
	for i, c := range CSVColumns {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(c)
	}
	bw.WriteByte('\n')
	var buf []byte
	for k := range srcs {
		row := CSVRow(&srcs[k])
		buf = strconv.AppendInt(buf[:0], int64(srcs[k].ID), 10)
		for _, v := range row[1:] {
			buf = append(buf, ',')
			buf = appendFloat(buf, v)
		}
		buf = append(buf, '\n')
		bw.Write(buf)
	}
	return bw.Flush()
}

func appendFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, "nan"...)
	case math.IsInf(v, 1):
		return append(b, "inf"...)
	case math.IsInf(v, -1):
		return append(b, "-inf"...)
	}
	return strconv.AppendFloat(b, v, 'g', 12, 64)
}

// Measurements converts the sources of one image into catalogue rows
// (SPEC 5.1): image is the image id, ids are MeasurementID(image, i) in
// source order, and extractType is catalog.ExtractBlind or a forced type.
// The systematic errors (ew_sys_err, ns_sys_err, arcsec) inflate ra_err
// and decl_err as TraP does at insert time; an infinite error_radius is
// stored as 360 arcsec.
func Measurements(dst []catalog.Measurement, image int64, srcs []kernels.Source, extractType int32) []catalog.Measurement {
	for i := range srcs {
		s := &srcs[i]
		er := s.ErrorRadius
		if math.IsInf(er, 0) {
			er = 360
		}
		fit := int32(catalog.FitMoments)
		if s.Gaussian {
			fit = catalog.FitGaussian
		}
		cd, sd := math.Cos(s.Dec*math.Pi/180), math.Sin(s.Dec*math.Pi/180)
		cr, sr := math.Cos(s.RA*math.Pi/180), math.Sin(s.RA*math.Pi/180)
		aew := alphaInflate(s.EwSysErr/3600, s.Dec)
		dst = append(dst, catalog.Measurement{
			ID: catalog.MeasurementID(image, i), Image: image, ExtractType: extractType, FitType: fit,
			RA: s.RA, Decl: s.Dec, RAFitErr: s.RAErr, DeclFitErr: s.DecErr,
			RAErr:    math.Sqrt(s.RAErr*s.RAErr + aew*aew),
			DeclErr:  math.Hypot(s.DecErr, s.NsSysErr/3600),
			UncertEW: math.Hypot(s.EwSysErr, er) / 3600, UncertNS: math.Hypot(s.NsSysErr, er) / 3600,
			EWSysErr: s.EwSysErr, NSSysErr: s.NsSysErr, ErrRadius: er,
			Zone: int32(math.Floor(s.Dec)), X: cd * cr, Y: cd * sr, Z: sd, RACosDecl: s.RA * cd,
			FPeak: s.Peak, FPeakErr: s.PeakErr, FInt: s.Flux, FIntErr: s.FluxErr, DetSigma: s.Sig,
			XPix: s.X, XPixErr: s.XErr, YPix: s.Y, YPixErr: s.YErr,
			Smaj: s.Smaj, SmajErr: s.SmajErr, Smin: s.Smin, SminErr: s.SminErr, Theta: s.Theta, ThetaErr: s.ThetaErr,
			SmajDC: s.SmajDC, SmajDCErr: s.SmajDCErr, SminDC: s.SminDC, SminDCErr: s.SminDCErr,
			ThetaDC: s.ThetaDC * math.Pi / 180, ThetaDCErr: s.ThetaDCErr * math.Pi / 180,
			SemiMajor: s.SmajAsec, SemiMajErr: s.SmajAsecErr, SemiMinor: s.SminAsec, SemiMinErr: s.SminAsecErr,
			PA: s.ThetaCeles, PAErr: s.ThetaCelesErr, PADC: s.ThetaDCCeles, PADCErr: s.ThetaDCCelesErr,
			ChiSq: s.Chisq, ReducedChiSq: s.ReducedChisq,
			Deblended: s.Deblended, Blended: s.Blended,
		})
	}
	return dst
}

// alphaInflate is SPEC 0.5's alpha(theta, dec): the RA half-width in
// degrees of a circle of radius theta (degrees) at declination dec.
func alphaInflate(theta, dec float64) float64 {
	if math.Abs(dec)+theta > 89.9 {
		return 180
	}
	r := math.Pi / 180
	return math.Abs(math.Atan(math.Sin(theta*r)/math.Sqrt(math.Abs(math.Cos((dec-theta)*r)*math.Cos((dec+theta)*r))))) / r
}
