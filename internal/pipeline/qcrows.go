package pipeline

import (
	"database/sql"

	"gotrap/catalog"
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
