package pipeline

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/gob"
	"fmt"

	"gotrap/catalog"
	"gotrap/reduce"
)

// qcRow is what the association needs of an image's staged images row:
// the quality-control and extraction results. Gob keeps every float64
// bit for bit (NaN included), as the staged Parquet file does.
type qcRow struct {
	Index                           int
	RMSQC, RMSMin, RMSMax           float64
	DetectionThresh, AnalysisThresh float64
	Rejected                        bool
	RejectReason                    sql.NullInt64
	RejectComment                   string
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

// qcRows is a collective: every rank contributes the staged results of
// its images (own, indices into plan.Images) and every rank returns
// those of all images, by plan index. A rank takes the rows its
// extraction stage just produced from memory and reads the others
// (staged by an earlier attempt: --resume) from their Parquet files,
// workers at a time; only the rows cross between ranks (Allgatherv),
// so no rank decodes another's files.
func (s *extractStage) qcRows(ctx context.Context, comm reduce.Comm, plan *Plan, own []int, workers int) ([]qcRow, error) {
	mine := make([]qcRow, len(own))
	s.mu.Lock()
	rows := s.rows
	s.rows = nil
	s.mu.Unlock()
	err := forEach(ctx, len(own), workers, func(k int) error {
		i := own[k]
		img := &plan.Images[i]
		if r, ok := rows[img.ID]; ok {
			mine[k] = toQCRow(i, &r)
			return nil
		}
		path := stagedPath(s.run, StageExtract, img.ID, "image.parquet")
		got, err := readStaged[catalog.Image](path)
		if err != nil {
			return err
		}
		if len(got) != 1 {
			return fmt.Errorf("pipeline: %s: staged image row missing (%s holds %d rows)", img.Path, path, len(got))
		}
		mine[k] = toQCRow(i, &got[0])
		return nil
	})
	if err != nil {
		// Fail before the collective: the group is told by the engine.
		return nil, fmt.Errorf("pipeline: rank %d: %w", comm.Rank(), err)
	}
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(mine); err != nil {
		return nil, fmt.Errorf("pipeline: rank %d: encoding images rows: %w", comm.Rank(), err)
	}
	parts, err := comm.Allgatherv(b.Bytes())
	if err != nil {
		return nil, fmt.Errorf("pipeline: gathering images rows: %w", err)
	}
	out := make([]qcRow, len(plan.Images))
	seen := make([]bool, len(plan.Images))
	for r, p := range parts {
		var got []qcRow
		if err := gob.NewDecoder(bytes.NewReader(p)).Decode(&got); err != nil {
			return nil, fmt.Errorf("pipeline: images rows from rank %d: %w", r, err)
		}
		for _, q := range got {
			if q.Index < 0 || q.Index >= len(out) || seen[q.Index] {
				return nil, fmt.Errorf("pipeline: images rows from rank %d: bad or repeated image index %d", r, q.Index)
			}
			out[q.Index], seen[q.Index] = q, true
		}
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("pipeline: %s: staged image row missing", plan.Images[i].Path)
		}
	}
	return out, nil
}
