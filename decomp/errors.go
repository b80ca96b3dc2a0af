package decomp

// Panic messages for programmer errors (STYLE 7, 22).
const (
	badRanks    = "decomp: number of ranks must be at least 1"
	badCost     = "decomp: cost or weight is negative, infinite or NaN"
	badPosition = "decomp: position is NaN, infinite or has |dec| > 90"
	badTile     = "decomp: tile id out of range"
	badPixTile  = "decomp: pixel tile size must be positive and overlap non-negative"
)
