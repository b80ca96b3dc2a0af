package rundir

import (
	"os"

	"golang.org/x/sys/unix"
)

// syncfs is syncfs(2) on d's file system.
func syncfs(d *os.File) error {
	for {
		err := unix.Syncfs(int(d.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
