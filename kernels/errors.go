package kernels

// Panic messages for programmer errors (STYLE rule 7).
const (
	badRow    = "kernels: row outside image"
	badLength = "kernels: slice lengths do not match"
)
