package store

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync/atomic"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// writeAmplification estimates the disk bytes one committed byte may need
// soon: the WAL, the memtable flush and one compaction.
const writeAmplification = 3

// DiskFullError is the error of a write refused because the disk has too
// little free space: less than Need bytes, Options.MinFreeBytes (Reserve)
// plus what the write itself may take. errors.Is(err, ErrDiskFull) holds
// for it; errors.As gives the figures.
type DiskFullError struct {
	Op      string // what was refused: "commit", "open read-write", …
	Free    uint64 // bytes free on the disk for the store
	Need    uint64 // bytes that must be free for Op
	Reserve uint64 // Options.MinFreeBytes, part of Need
	// ReadOnly: the store is open read-only because the disk was full when
	// it opened; it becomes writable again by itself once Need bytes are
	// free.
	ReadOnly bool
}

func (e *DiskFullError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "disk full: %s free, %s needed", HumanBytes(e.Free), HumanBytes(e.Need))
	if e.Reserve > 0 {
		fmt.Fprintf(&b, " (%s reserve)", HumanBytes(e.Reserve))
	}
	if e.Op != "" {
		fmt.Fprintf(&b, " to %s", e.Op)
	}
	fmt.Fprintf(&b, " [%d bytes free, %d needed]", e.Free, e.Need)
	if e.ReadOnly {
		b.WriteString("; the store is read-only until space is freed")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrDiskFull) true.
func (e *DiskFullError) Is(target error) bool { return target == ErrDiskFull }

// HumanBytes formats n in binary units with one decimal: "12.0 MiB".
func HumanBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

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

// free returns the free bytes of the disk under the store's directory,
// or, if it does not exist yet, under its nearest existing parent. ok is
// false when the check is off or the filesystem cannot tell.
func (g *spaceGuard) free() (free uint64, ok bool, err error) {
	if g.off.Load() {
		return 0, false, nil
	}
	dir := g.dir
	for {
		du, err := g.fs.GetDiskUsage(dir)
		switch {
		case err == nil:
			return du.AvailBytes, true, nil
		case errors.Is(err, vfs.ErrUnsupported):
			g.off.Store(true)
			return 0, false, nil
		case errors.Is(err, os.ErrNotExist) && g.fs.PathDir(dir) != dir:
			dir = g.fs.PathDir(dir)
		default:
			return 0, false, fmt.Errorf("read free disk space: %w", err)
		}
	}
}

// check fails with a *DiskFullError for op unless extra bytes beyond the
// reserve are free.
func (g *spaceGuard) check(op string, extra uint64) error {
	free, ok, err := g.free()
	if err != nil || !ok {
		return err
	}
	if need := g.min + extra; free < need {
		return &DiskFullError{Op: op, Free: free, Need: need, Reserve: g.min}
	}
	return nil
}

// deletable admits a deletion: it frees space, so a quarter of the
// reserve is enough (its WAL record, the memtable flush the compaction of
// the deleted range starts, and that compaction's small output).
func (g *spaceGuard) deletable() error {
	free, ok, err := g.free()
	if err != nil || !ok {
		return err
	}
	if need := g.min / 4; free < need {
		return &DiskFullError{Op: "delete a core", Free: free, Need: need, Reserve: g.min}
	}
	return nil
}

// reserve admits a commit of n bytes, or fails with ErrDiskFull.
func (g *spaceGuard) reserve(n int) error {
	return g.check("commit", uint64(n)*writeAmplification)
}
