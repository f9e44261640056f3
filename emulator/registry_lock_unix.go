//go:build unix

package emulator

import (
	"os"
	"syscall"
)

// canLockFiles says lockFile excludes other processes, which compaction of
// the registry log needs.
const canLockFiles = true

// lockFile takes an exclusive flock(2) on f, waiting for other holders.
func lockFile(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

// unlockFile releases lockFile's lock.
func unlockFile(f *os.File) error { return syscall.Flock(int(f.Fd()), syscall.LOCK_UN) }
