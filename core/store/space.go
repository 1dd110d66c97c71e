package store

import (
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// writeAmplification estimates the disk bytes one committed byte may need
// soon: the WAL, the memtable flush and one compaction.
const writeAmplification = 3

// spaceGuard refuses commits that would leave less than min bytes free on
// the disk. pebble cannot survive ENOSPC on its WAL or MANIFEST (it stops
// the process), so the store must not let it run out: the reserve also
// leaves room for the flushes and compactions of data already committed.
// It reads the free space at every commit (a statfs, about 0.4 µs), so a
// disk filled by another process is noticed at once.
type spaceGuard struct {
	fs  vfs.FS
	dir string
	min uint64
	off atomic.Bool // turned off, or the filesystem cannot tell its free space
}

func newSpaceGuard(fs vfs.FS, dir string, minFree int64) *spaceGuard {
	if minFree == 0 {
		minFree = DefaultMinFreeBytes
	}
	g := &spaceGuard{fs: fs, dir: dir, min: uint64(max(minFree, 0))}
	g.off.Store(minFree < 0)
	return g
}

// reserve admits a commit of n bytes, or fails with ErrDiskFull.
func (g *spaceGuard) reserve(n int) error {
	if g.off.Load() {
		return nil
	}
	du, err := g.fs.GetDiskUsage(g.dir)
	if errors.Is(err, vfs.ErrUnsupported) {
		g.off.Store(true)
		return nil
	}
	if err != nil {
		return fmt.Errorf("read free disk space: %w", err)
	}
	if need := g.min + uint64(n)*writeAmplification; du.AvailBytes < need {
		return fmt.Errorf("%d bytes free, %d needed with the %d-byte reserve: %w", du.AvailBytes, need, g.min, ErrDiskFull)
	}
	return nil
}
