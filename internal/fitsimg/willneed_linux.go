package fitsimg

import (
	"os"

	"golang.org/x/sys/unix"
)

func willNeed(path string, off, n int64) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return
	}
	_ = unix.Fadvise(int(f.Fd()), off, n, unix.FADV_WILLNEED)
}

func adviseRandom(f *os.File) { _ = unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_RANDOM) }
