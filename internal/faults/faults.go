// Package faults builds the faulty inputs and environments of gotrap's
// fault-injection tests (docs/faults.md): FITS files with edited header
// cards or pixels, named pipes, and small tmpfs mounts that fill up or
// turn read-only under a running pipeline.
//
// # What is real
//
// The file faults are real files on disk, read by the real reader. The
// tmpfs helpers mount a real file system (root only): a full disk gives
// the kernel's ENOSPC and a read-only remount its EROFS. Permission
// errors (EACCES) cannot be produced for root and are not simulated here.
//
// # Errors
//
// Card and pixel editors return errors for input that is not a FITS
// primary header they can edit; the test helpers fail or skip the test.
package faults

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"math"
	"os"
	"os/exec"
	"strings"
	"testing"
)

const (
	cardLen  = 80
	blockLen = 2880
)

// ErrNoCard reports a keyword that is not in the header.
var ErrNoCard = errors.New("faults: no such header card")

// headerEnd returns the offset of the first data byte: the end of the
// 2880-byte block that holds the END card.
func headerEnd(b []byte) (int, error) {
	for o := 0; o+cardLen <= len(b); o += cardLen {
		if string(b[o:o+8]) == "END     " {
			return (o/blockLen + 1) * blockLen, nil
		}
	}
	return 0, errors.New("faults: no END card")
}

// findCard returns the offset of key's card in the primary header.
func findCard(b []byte, key string) (int, error) {
	end, err := headerEnd(b)
	if err != nil {
		return 0, err
	}
	k := fmt.Sprintf("%-8s", key)
	for o := 0; o < end; o += cardLen {
		if string(b[o:o+8]) == k {
			return o, nil
		}
	}
	return 0, fmt.Errorf("%w: %s", ErrNoCard, key)
}

// SetCard returns a copy of the FITS file b whose card key holds value,
// written as is after "= " (quote strings yourself: "'2012-01-24'"). The
// card must exist; the header's length does not change.
func SetCard(b []byte, key, value string) ([]byte, error) {
	o, err := findCard(b, key)
	if err != nil {
		return nil, err
	}
	c := fmt.Sprintf("%-8s= %20s", key, value)
	if len(c) > cardLen {
		return nil, fmt.Errorf("faults: card %q longer than 80 characters", c)
	}
	out := bytes.Clone(b)
	copy(out[o:o+cardLen], fmt.Sprintf("%-80s", c))
	return out, nil
}

// DeleteCard returns a copy of b with key's card blanked (a blank card is
// legal anywhere in a header).
func DeleteCard(b []byte, key string) ([]byte, error) {
	o, err := findCard(b, key)
	if err != nil {
		return nil, err
	}
	out := bytes.Clone(b)
	copy(out[o:o+cardLen], strings.Repeat(" ", cardLen))
	return out, nil
}

// FillFloat32 returns a copy of b, a BITPIX -32 image NAXIS1 pixels wide,
// with the pixels of r (0-based x, y; clipped to the data) set to v.
func FillFloat32(b []byte, width int, r image.Rectangle, v float32) ([]byte, error) {
	end, err := headerEnd(b)
	if err != nil {
		return nil, err
	}
	if o, err := findCard(b, "BITPIX"); err != nil || !strings.Contains(string(b[o+10:o+30]), "-32") {
		return nil, errors.New("faults: not a BITPIX -32 image")
	}
	out := bytes.Clone(b)
	bits := math.Float32bits(v)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := max(r.Min.X, 0); x < min(r.Max.X, width); x++ {
			o := end + 4*(y*width+x)
			if y < 0 || o+4 > len(out) {
				continue
			}
			binary.BigEndian.PutUint32(out[o:], bits)
		}
	}
	return out, nil
}

// Root reports whether the process runs as root, which the mount helpers
// need.
func Root() bool { return os.Geteuid() == 0 }

// MountTmpfs mounts a tmpfs of size (mount's syntax: "256k", "2m") on the
// existing directory dir and unmounts it when the test ends. It skips the
// test, saying why, when not root or when the mount fails (a container
// without CAP_SYS_ADMIN).
func MountTmpfs(tb testing.TB, dir, size string) {
	tb.Helper()
	if !Root() {
		tb.Skip("faults: mounting a tmpfs needs root")
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		tb.Skipf("faults: cannot mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	tb.Cleanup(func() {
		if out, err := exec.Command("umount", "-l", dir).CombinedOutput(); err != nil {
			tb.Errorf("faults: umount %s: %v: %s", dir, err, out)
		}
	})
}

// Remount changes the options of the mount on dir ("size=200m", "ro",
// "rw"), failing the test on error.
func Remount(tb testing.TB, dir, opts string) {
	tb.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		tb.Fatalf("faults: remount %s %s: %v: %s", dir, opts, err, out)
	}
}
