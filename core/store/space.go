package store

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// writeAmplification estimates the disk bytes one committed byte costs
// before the next free-space check: the WAL, the memtable flush and one
// compaction.
const writeAmplification = 3

// recheckEvery bounds how long a free-space reading is trusted.
const recheckEvery = time.Second

// spaceGuard refuses commits that would leave less than min bytes free on
// the disk. pebble cannot survive ENOSPC on its WAL or MANIFEST (it stops
// the process), so the store must never let it run out: the reserve also
// leaves room for the flushes and compactions of data already committed.
type spaceGuard struct {
	fs  vfs.FS
	dir string
	min uint64

	mu      sync.Mutex
	off     bool // the filesystem cannot report its free space
	avail   uint64
	spent   uint64 // estimated bytes written since avail was read
	checked time.Time
}

func newSpaceGuard(fs vfs.FS, dir string, minFree int64) *spaceGuard {
	if minFree == 0 {
		minFree = DefaultMinFreeBytes
	}
	return &spaceGuard{fs: fs, dir: dir, min: uint64(max(minFree, 0)), off: minFree < 0}
}

// reserve admits a commit of n bytes, or fails with ErrDiskFull.
func (g *spaceGuard) reserve(n int) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.off {
		return nil
	}
	cost := uint64(n) * writeAmplification
	if g.fits(cost) && time.Since(g.checked) < recheckEvery {
		g.spent += cost
		return nil
	}
	du, err := g.fs.GetDiskUsage(g.dir)
	if errors.Is(err, vfs.ErrUnsupported) {
		g.off = true
		return nil
	}
	if err != nil {
		return fmt.Errorf("read free disk space: %w", err)
	}
	g.avail, g.spent, g.checked = du.AvailBytes, 0, time.Now()
	if !g.fits(cost) {
		return fmt.Errorf("%d bytes free, %d kept in reserve: %w", g.avail, g.min, ErrDiskFull)
	}
	g.spent += cost
	return nil
}

// fits reports whether cost more bytes still leave the reserve free, by the
// last reading.
func (g *spaceGuard) fits(cost uint64) bool {
	return g.avail >= g.min && g.avail-g.min >= g.spent+cost
}
