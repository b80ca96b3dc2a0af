package pipeline

import (
	"database/sql"

	"gotrap/catalog"
	"gotrap/internal/wire"
)

// qcRow is what the association needs of an image's images row, sent by
// its owner to every rank (stream.gatherRows): the quality-control and
// extraction results. Gob keeps every float64
// bit for bit (NaN included), as the staged Parquet file does.
type qcRow struct {
	Index                           int
	RMSQC, RMSMin, RMSMax           float64
	DetectionThresh, AnalysisThresh float64
	Rejected                        bool
	RejectReason                    sql.NullInt64
	RejectComment                   string
	// XXH64 is the xxHash64 of the image's file, made while it was read
	// ("" when not made: a CASA image, an unreadable file).
	XXH64 string
}

// encode appends q (package wire).
func (q *qcRow) encode(e *wire.Encoder) {
	e.Int(q.Index)
	e.Float64(q.RMSQC)
	e.Float64(q.RMSMin)
	e.Float64(q.RMSMax)
	e.Float64(q.DetectionThresh)
	e.Float64(q.AnalysisThresh)
	e.Bool(q.Rejected)
	e.Bool(q.RejectReason.Valid)
	e.Int64(q.RejectReason.Int64)
	e.String(q.RejectComment)
	e.String(q.XXH64)
}

// qcRowMin is the least size of an encoded qcRow (empty strings).
const qcRowMin = 6*8 + 2 + 8 + 2

// decodeQCRows reads a message of a count and that many encoded rows.
func decodeQCRows(b []byte) ([]qcRow, error) {
	d := wire.NewDecoder(b)
	rows := make([]qcRow, d.Count(qcRowMin))
	for k := range rows {
		rows[k] = decodeQCRow(d)
	}
	if err := d.Done(); err != nil {
		return nil, err
	}
	return rows, nil
}

// decodeQCRow reads what encode wrote; on a decoding error d.Err() is
// set.
func decodeQCRow(d *wire.Decoder) qcRow {
	var q qcRow
	q.Index = d.Int()
	q.RMSQC = d.Float64()
	q.RMSMin = d.Float64()
	q.RMSMax = d.Float64()
	q.DetectionThresh = d.Float64()
	q.AnalysisThresh = d.Float64()
	q.Rejected = d.Bool()
	q.RejectReason.Valid = d.Bool()
	q.RejectReason.Int64 = d.Int64()
	q.RejectComment = d.String()
	q.XXH64 = d.String()
	return q
}

func toQCRow(i int, r *catalog.Image) qcRow {
	return qcRow{Index: i, RMSQC: r.RMSQC, RMSMin: r.RMSMin, RMSMax: r.RMSMax,
		DetectionThresh: r.DetectionThresh, AnalysisThresh: r.AnalysisThresh,
		Rejected: r.Rejected, RejectReason: r.RejectReason, RejectComment: r.RejectComment}
}

// apply copies the staged results into the planned images row r.
func (q *qcRow) apply(r *catalog.Image) {
	r.RMSQC, r.RMSMin, r.RMSMax = q.RMSQC, q.RMSMin, q.RMSMax
	r.DetectionThresh, r.AnalysisThresh = q.DetectionThresh, q.AnalysisThresh
	r.Rejected, r.RejectReason, r.RejectComment = q.Rejected, q.RejectReason, q.RejectComment
}
