package store

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// fakeDisk is an in-memory disk that can fill up: when full, every write
// of data fails with ENOSPC (through pebble's errorfs) and statfs reports
// no free space. As on a real full disk, operations that allocate no data
// blocks (create, lock, rename, remove, sync) still succeed.
type fakeDisk struct {
	mem  *vfs.MemFS
	full atomic.Bool
}

func newFakeDisk() (*fakeDisk, vfs.FS) {
	d := &fakeDisk{mem: vfs.NewMem()}
	d.setFree(1 << 40)
	return d, errorfs.Wrap(d.mem, errorfs.InjectorFunc(d.inject))
}

func (d *fakeDisk) inject(op errorfs.Op) error {
	if !d.full.Load() {
		return nil
	}
	switch op.Kind {
	case errorfs.OpFileWrite, errorfs.OpFileWriteAt, errorfs.OpFilePreallocate:
		return syscall.ENOSPC
	}
	return nil
}

// setFree makes the disk report free bytes; 0 also makes writes fail.
func (d *fakeDisk) setFree(free uint64) {
	d.full.Store(free == 0)
	d.mem.TestingSetDiskUsage(vfs.DiskUsage{AvailBytes: free, TotalBytes: 1 << 40, UsedBytes: 1<<40 - free})
}

// TestDiskFull fills the disk under a store: appends and new cores fail
// with ErrDiskFull and write nothing, what was acknowledged stays readable,
// and once space returns the same cores append again and audit clean.
func TestDiskFull(t *testing.T) {
	disk, fs := newFakeDisk()
	s, ctx := openStore(t, fs, "db", Options{MinFreeBytes: 1 << 20}), context.Background()
	cores := []*Handle{openNamed(t, s, "a"), openNamed(t, s, "b")}
	for _, h := range cores {
		if _, err := h.Append(ctx, blocksFrom(h.Name(), 0, 10)...); err != nil {
			t.Fatal(err)
		}
	}
	disk.setFree(0)
	for _, h := range cores {
		_, err := h.Append(ctx, blocksFrom(h.Name(), 10, 3)...)
		mustErrIs(t, err, ErrDiskFull, "append on a full disk")
		if !strings.Contains(err.Error(), "disk full") || h.Length() != 10 {
			t.Fatalf("append on a full disk: %q, length %d", err, h.Length())
		}
		if err := checkCore(ctx, h, h.Name(), 0); err != nil {
			t.Fatalf("read on a full disk: %v", err)
		}
	}
	_, err := s.OpenNamed(ctx, "new")
	mustErrIs(t, err, ErrDiskFull, "new core on a full disk")
	disk.setFree(512 << 10)
	_, err = cores[0].Append(ctx, blockAt("a", 10))
	mustErrIs(t, err, ErrDiskFull, "append that would eat the reserve")
	disk.setFree(1 << 40)
	for _, h := range cores {
		if n, err := h.Append(ctx, blocksFrom(h.Name(), 10, 3)...); err != nil || n != 13 {
			t.Fatalf("append once space returned: %d, %v", n, err)
		}
	}
	s.Close()
	s = openStore(t, fs, "db", Options{})
	for _, name := range []string{"a", "b"} {
		if err := checkCore(ctx, openNamed(t, s, name), name, 0); err != nil {
			t.Fatal(err)
		}
	}
}

// childFS is the filesystem of the helper process: the OS's, or, for
// TestENOSPCReachesPebble, the OS's failing every write with ENOSPC after
// a number of writes, for enospcFor, with the free-space check off. The
// child prints "full" when the disk fills and "lifted" when space returns.
func childFS(opts *Options, out *lineWriter) vfs.FS {
	after, err := strconv.ParseInt(os.Getenv(envChildFull), 10, 64)
	if err != nil {
		return vfs.Default
	}
	opts.MinFreeBytes = -1
	var writes atomic.Int64
	var fill sync.Once
	var lifted atomic.Bool
	return errorfs.Wrap(vfs.Default, errorfs.InjectorFunc(func(op errorfs.Op) error {
		if op.Kind.ReadOrWrite() != errorfs.OpIsWrite || writes.Add(1) <= after || lifted.Load() {
			return nil
		}
		fill.Do(func() {
			out.printf("full\n")
			time.AfterFunc(enospcFor, func() { lifted.Store(true); out.printf("lifted\n") })
		})
		return syscall.ENOSPC
	}))
}

// enospcFor is how long the child's disk stays full.
const enospcFor = 1500 * time.Millisecond

// enospcOutcome is how a child fared with a full disk.
type enospcOutcome struct {
	acks, acksAfterLift int
	lifted              bool
	exit                error // nil when the child was still running
}

// watch follows a child whose disk fills: until it dies, or until it has
// acknowledged appends again after space returned (then it is killed), or
// until a deadline (then it is killed and reported hung).
func (c *child) watch(w *writers, deadline time.Duration) (o enospcOutcome, hung bool) {
	timer := time.NewTimer(deadline)
	defer timer.Stop()
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				o.exit = c.cmd.Wait()
				return o, false
			}
			o.lifted = o.lifted || line == "lifted"
			if c.apply(w, line) {
				o.acks++
				if o.lifted {
					o.acksAfterLift++
				}
			}
			if o.acksAfterLift == 20 {
				c.cmd.Process.Kill()
				o.acks += c.record(w)
				c.cmd.Wait()
				return o, false
			}
		case <-timer.C:
			c.cmd.Process.Kill()
			c.record(w)
			c.cmd.Wait()
			return o, true
		}
	}
}

// TestENOSPCReachesPebble shows what happens when ENOSPC reaches pebble,
// which the free-space check exists to prevent (here it is off; another
// process could also fill the disk faster than statfs shows). A child
// process appends in a loop on a disk that fills after a random number of
// writes and has space again 1.5 s later. pebble either stops the process
// (a failed WAL or MANIFEST write) or stalls writes while its flush fails
// and resumes once space returns. Either way nothing acknowledged is lost,
// every core audits clean, and the store appends again.
func TestENOSPCReachesPebble(t *testing.T) {
	rounds := 4
	if testing.Short() {
		rounds = 1
	}
	seed := testSeed(t)
	rng, dir := rand.New(rand.NewPCG(seed, 2)), t.TempDir()
	w := newWriters(killCores)
	for i := range rounds {
		after := 300 + rng.IntN(3000)
		c := startChild(t, dir, seed+uint64(i), envChildFull+"="+strconv.Itoa(after))
		o, hung := c.watch(w, 10*time.Second)
		how, ok := o.describe(c.stderr.String())
		if hung || !ok {
			t.Fatalf("child with ENOSPC after %d writes: hung %v, %+v, stderr %q", after, hung, o, c.stderr.String())
		}
		acked := w.snapshot()
		s := openStore(t, vfs.Default, dir, Options{})
		if err := w.verify(s, acked); err != nil {
			t.Fatalf("after ENOSPC: %v", err)
		}
		h := openNamed(t, s, killCores[0])
		w.attempt(killCores[0], h.Length()+1)
		if _, err := h.Append(context.Background(), blockAt(killCores[0], h.Length())); err != nil {
			t.Fatalf("append once space returned: %v", err)
		}
		w.reset(killCores[0], h.Length())
		s.Close()
		t.Logf("round %d: ENOSPC after %d writes, %d appends acknowledged; %s", i, after, o.acks, how)
	}
}

// describe tells what the child did: stopped by Options.Fatal (exit 70)
// from pebble's Fatalf, by a panic inside pebble (exit 2; pebble panics
// when it cannot create a new WAL), by a failed append (exit 5), or
// stalled and resumed after space returned.
func (o enospcOutcome) describe(stderr string) (string, bool) {
	if o.exit == nil {
		return fmt.Sprintf("writes stalled, then %d appends once space returned", o.acksAfterLift), o.acksAfterLift > 0
	}
	var exit *exec.ExitError
	if !errors.As(o.exit, &exit) {
		return "", false
	}
	line, _, _ := strings.Cut(stderr, "\n")
	enospc := strings.Contains(stderr, "no space left on device") || strings.Contains(stderr, "Errno(28)")
	switch code := exit.ExitCode(); {
	case code == 70 && strings.HasPrefix(line, "pebble: fatal"):
		return "stopped by Options.Fatal: " + line, enospc
	case code == 2 && strings.HasPrefix(line, "panic: "):
		// pebble's error paths after ENOSPC can themselves crash (a nil
		// writer in a blob file's Abort was seen); what matters is that
		// nothing acknowledged is lost, which the caller checks next.
		return "stopped by a panic in pebble: " + line, enospc || strings.Contains(stderr, "cockroachdb/pebble")
	case code == 5:
		return "stopped after a failed append: " + line, enospc
	}
	return "", false
}
