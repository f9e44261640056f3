//go:build !unix

package emulator

import "os"

// canLockFiles says lockFile excludes other processes; here it does not,
// so the registry log is never compacted.
const canLockFiles = false

// lockFile does nothing where flock(2) does not exist; appends still never
// interleave within a line.
func lockFile(*os.File) error { return nil }

// unlockFile does nothing.
func unlockFile(*os.File) error { return nil }
