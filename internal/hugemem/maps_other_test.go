//go:build !linux

package hugemem

import "testing"

// checkMappings has nothing to check where the arena's chunks are Go heap
// memory.
func checkMappings(*testing.T, *Arena, [][]byte) {}
