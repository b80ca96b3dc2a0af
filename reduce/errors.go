package reduce

// Panic messages for programmer errors (STYLE 7, 22).
const (
	badSize      = "reduce: number of ranks must be at least 1"
	badRoot      = "reduce: root rank out of range"
	badOp        = "reduce: unknown Op"
	badAlltoallv = "reduce: Alltoallv needs one send slice per rank"
)
