package pq

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// This file is Parquet's RLE/bit-packing hybrid encoding (parquet-format's
// Encodings.md, "Run Length Encoding / Bit-Packing Hybrid"), used for
// definition levels, dictionary indices and RLE booleans: a sequence of
// runs, each a ULEB128 header; header&1 == 0: an RLE run of header>>1
// copies of one value stored in ceil(bitWidth/8) little-endian bytes;
// header&1 == 1: a bit-packed run of (header>>1)*8 values, bitWidth bits
// each, least significant bit first.

var errRLE = errors.New("malformed RLE/bit-packed data")

// appendLevels appends the RLE/bit-packed encoding (bit width 1) of one
// definition level per value (1 present, 0 null): a single RLE run when
// every value is present, else one bit-packed run.
func appendLevels(b []byte, valid []bool) []byte {
	all := true
	for _, v := range valid {
		if !v {
			all = false
			break
		}
	}
	n := len(valid)
	if all {
		b = binary.AppendUvarint(b, uint64(n)<<1)
		return append(b, 1)
	}
	groups := (n + 7) / 8
	b = binary.AppendUvarint(b, uint64(groups)<<1|1)
	start := len(b)
	b = append(b, make([]byte, groups)...)
	bits := b[start:]
	for i, v := range valid {
		if v {
			bits[i>>3] |= 1 << (i & 7)
		}
	}
	return b
}

// decodeHybrid fills dst with values of bitWidth bits (0 to 32) from src.
// Runs past len(dst) are cut; a src that ends before dst is full is an
// error.
func decodeHybrid(dst []uint32, src []byte, bitWidth int) error {
	if bitWidth < 0 || bitWidth > 32 {
		return fmt.Errorf("%w: bit width %d", errRLE, bitWidth)
	}
	byteWidth := (bitWidth + 7) / 8
	i := 0
	for i < len(dst) {
		h, k := binary.Uvarint(src)
		if k <= 0 {
			return fmt.Errorf("%w: data ends after %d of %d values", errRLE, i, len(dst))
		}
		src = src[k:]
		if h&1 == 0 {
			if len(src) < byteWidth {
				return fmt.Errorf("%w: RLE run without its value", errRLE)
			}
			var v uint32
			for b := range byteWidth {
				v |= uint32(src[b]) << (8 * b)
			}
			src = src[byteWidth:]
			m := uint64(len(dst) - i)
			if h>>1 < m {
				m = h >> 1
			}
			run := dst[i : i+int(m)]
			for j := range run {
				run[j] = v
			}
			i += int(m)
			continue
		}
		groups := h >> 1
		if groups > uint64(len(dst)) { // more than could be used: corrupt
			groups = uint64(len(dst))/8 + 1
		}
		vals := min(int(groups)*8, len(dst)-i)
		need := (vals*bitWidth + 7) / 8
		if need > len(src) {
			return fmt.Errorf("%w: bit-packed run of %d values in %d bytes", errRLE, vals, len(src))
		}
		unpack(dst[i:i+vals], src, bitWidth)
		i += vals
		full := int(groups) * bitWidth // bytes of the whole run
		src = src[min(full, len(src)):]
	}
	return nil
}

// unpack reads len(dst) values of bitWidth bits, least significant bit
// first, from src, which holds enough bytes.
func unpack(dst []uint32, src []byte, bitWidth int) {
	if bitWidth == 0 {
		clear(dst)
		return
	}
	mask := uint64(1)<<bitWidth - 1
	bit := 0
	for i := range dst {
		byteOff := bit >> 3
		shift := bit & 7
		var w uint64
		if byteOff+8 <= len(src) {
			w = binary.LittleEndian.Uint64(src[byteOff:])
		} else {
			for b := 0; byteOff+b < len(src) && b < 8; b++ {
				w |= uint64(src[byteOff+b]) << (8 * b)
			}
		}
		dst[i] = uint32(w >> shift & mask)
		bit += bitWidth
	}
}
