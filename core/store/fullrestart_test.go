package store

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/cockroachdb/pebble/v2/vfs/errorfs"
)

// humanFigures matches the free and needed space of a disk-full message.
var humanFigures = regexp.MustCompile(`[0-9.]+ (B|[KMGT]iB) free, [0-9.]+ (B|[KMGT]iB) needed`)

// mustDiskFull checks that err is a disk-full refusal that says, in human
// units, how much is free and needed.
func mustDiskFull(t testing.TB, err error, what string) {
	t.Helper()
	mustErrIs(t, err, ErrDiskFull, what)
	var full *DiskFullError
	if !errors.As(err, &full) || !humanFigures.MatchString(err.Error()) || full.Need <= full.Free {
		t.Fatalf("%s: %q (%+v): want a *DiskFullError saying how much is free and needed", what, err, full)
	}
}

// openWithin opens a store, failing the test if Open has not returned
// after limit: pebble used to retry a failed flush inside Open for ever.
func openWithin(t testing.TB, limit time.Duration, list func() ([]string, error), dir string, opts Options) (*Store, error) {
	t.Helper()
	type result struct {
		s   *Store
		err error
	}
	done := make(chan result, 1)
	before, _ := list()
	cpu := cpuTime()
	start := time.Now()
	go func() {
		s, err := Open(context.Background(), dir, opts)
		done <- result{s, err}
	}()
	select {
	case r := <-done:
		if r.s != nil {
			t.Cleanup(func() { r.s.Close() })
		}
		t.Logf("Open on a full disk returned in %v: %v", time.Since(start).Round(time.Millisecond), r.err)
		return r.s, r.err
	case <-time.After(limit):
		after, _ := list()
		t.Fatalf("Open on a full disk has not returned after %v; meanwhile %d files were created and the process used %v of CPU", limit, len(newNames(before, after)), cpuTime()-cpu)
		return nil, nil
	}
}

// quiet checks that the process stays idle and creates no files for d.
func quiet(t testing.TB, d time.Duration, list func() ([]string, error)) {
	t.Helper()
	before, _ := list()
	cpu := cpuTime()
	time.Sleep(d)
	after, _ := list()
	used, created := cpuTime()-cpu, newNames(before, after)
	t.Logf("in %v on a full disk: %v of CPU, %d files created", d, used, len(created))
	if used > d/4 || len(created) > 2 {
		t.Fatalf("in %v on a full disk the process used %v of CPU and created %d files (%.5q): spinning", d, used, len(created), created)
	}
}

func newNames(before, after []string) []string {
	had := map[string]bool{}
	for _, n := range before {
		had[n] = true
	}
	var out []string
	for _, n := range after {
		if !had[n] {
			out = append(out, n)
		}
	}
	return out
}

// cpuTime returns the user and system CPU time of the process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestOpenOnFullDisk reopens a store whose WAL holds unflushed appends on
// a disk where every write fails with ENOSPC (errorfs over memory), which
// used to make pebble.Open retry its flush of the replayed WAL for ever
// at full CPU, creating new files at each try. Now Open returns at once,
// read-only: reads are served, writes refused with a *DiskFullError, and
// once space returns the next write reopens the store read-write. A new
// store on a full disk fails at once with ErrDiskFull.
func TestOpenOnFullDisk(t *testing.T) {
	disk, fs := newFakeDisk()
	ctx, opts := context.Background(), Options{FS: fs, MinFreeBytes: 1 << 20, Fatal: testFatal}
	s, err := Open(ctx, "db", opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a", "b"} {
		if _, err := openNamed(t, s, name).Append(ctx, blocksFrom(name, 0, 40)...); err != nil {
			t.Fatal(err)
		}
	}
	s.Close() // pebble does not flush at close: the next Open replays the WAL
	disk.setFree(0)
	list := func() ([]string, error) { return fs.List("db") }
	s, err = openWithin(t, 5*time.Second, list, "db", opts)
	if err != nil {
		t.Fatalf("open on a full disk: %v", err)
	}
	if !s.readOnly.Load() {
		t.Fatal("store on a full disk opened read-write")
	}
	mustDiskFull(t, s.Writable(), "Writable on a full disk")
	for _, name := range []string{"a", "b"} {
		h := openNamed(t, s, name)
		if err := checkCore(ctx, h, name, 0); err != nil || h.Length() != 40 {
			t.Fatalf("read-only store: core %s of length %d: %v", name, h.Length(), err)
		}
		_, err := h.Append(ctx, blockAt(name, 40))
		mustDiskFull(t, err, "append to a read-only store")
		if !strings.Contains(err.Error(), "read-only") {
			t.Fatalf("append to a read-only store: %q does not say the store is read-only", err)
		}
	}
	_, err = s.OpenNamed(ctx, "new")
	mustDiskFull(t, err, "new core in a read-only store")
	if err := s.Sync(ctx); err != nil {
		t.Fatalf("sync of a read-only store: %v", err)
	}
	quiet(t, 500*time.Millisecond, list)

	_, err = openWithin(t, 5*time.Second, func() ([]string, error) { return fs.List("fresh") }, "fresh", opts)
	mustDiskFull(t, err, "new store on a full disk")

	disk.setFree(1 << 40)
	h := openNamed(t, s, "a")
	if n, err := h.Append(ctx, blockAt("a", 40)); err != nil || n != 41 {
		t.Fatalf("append once space returned: %d, %v", n, err)
	}
	if s.readOnly.Load() || s.Writable() != nil {
		t.Fatalf("store still read-only after a write with space free: %v", s.Writable())
	}
	if _, err := s.OpenNamed(ctx, "new"); err != nil {
		t.Fatalf("new core once space returned: %v", err)
	}
	h.Close()
	s.Close()
	s = openStore(t, fs, "db", Options{})
	for name, length := range map[string]uint64{"a": 41, "b": 40} {
		if h := openNamed(t, s, name); h.Length() != length || checkCore(ctx, h, name, 0) != nil {
			t.Fatalf("core %s after reopening: length %d, %v", name, h.Length(), checkCore(ctx, h, name, 0))
		}
	}
}

// tmpfsDir mounts a tmpfs of size (as mount's size option: "8m") on a new
// directory until the test ends. It needs root: the test is skipped
// without, unless CI is set, where it fails.
func tmpfsDir(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	fail := t.Skipf
	if os.Getenv("CI") != "" {
		fail = t.Fatalf
	}
	if os.Geteuid() != 0 {
		fail("mounting a %s tmpfs needs root (uid %d); CI runs this as root", size, os.Geteuid())
	}
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		fail("mount a %s tmpfs on %s: %v: %s", size, dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillDisk writes a file at path until the disk is full.
func fillDisk(t testing.TB, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 64<<10)
	for len(buf) >= 512 {
		if _, err := f.Write(buf); errors.Is(err, syscall.ENOSPC) {
			buf = buf[:len(buf)/2]
		} else if err != nil {
			t.Fatal(err)
		}
	}
}

// freeBytes returns the free bytes of the filesystem under dir.
func freeBytes(t testing.TB, dir string) uint64 {
	t.Helper()
	du, err := vfs.Default.GetDiskUsage(dir)
	if err != nil {
		t.Fatal(err)
	}
	return du.AvailBytes
}

// TestFullDiskRestart is the daemon's case on a real filesystem (an 8 MiB
// tmpfs): a child process appends to three cores; the disk is filled
// under it; it is killed with SIGKILL; the store is opened again on the
// still-full disk. Open returns at once (it used to spin at full CPU
// inside pebble.Open, creating empty blob files), the store serves every
// acknowledged append, refuses writes with ErrDiskFull, stays idle, and
// takes writes again once the disk has space. Then a store open
// read-write sees the disk fill again: writes refused, reads served, no
// spinning, writes again once space is freed.
func TestFullDiskRestart(t *testing.T) {
	mnt := tmpfsDir(t, "8m")
	dir, filler := filepath.Join(mnt, "db"), filepath.Join(mnt, "filler")
	const reserve = 1 << 20
	opts := Options{MinFreeBytes: reserve, Fatal: testFatal}
	w := newWriters(killCores)
	c := startChild(t, dir, testSeed(t), envChildReserve+"="+strconv.Itoa(reserve))
	acks, deadline := map[string]int{}, time.After(30*time.Second)
	for len(acks) < len(killCores) || acks[killCores[0]] < 20 {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited early: %v, stderr %q", c.cmd.Wait(), c.stderr.String())
			}
			if c.apply(w, line) {
				acks[strings.Fields(line)[1]]++
			}
		case <-deadline:
			t.Fatalf("child acknowledged %v appends in 30 s", acks)
		}
	}
	fillDisk(t, filler)
	time.Sleep(200 * time.Millisecond) // the child meets the full disk
	c.cmd.Process.Kill()
	c.record(w)
	exit := c.cmd.Wait()
	t.Logf("child killed on a full disk (%v) after %v acknowledged appends; stderr %q", exit, acks, c.stderr.String())
	acked := w.snapshot()
	if free := freeBytes(t, mnt); free >= reserve {
		t.Fatalf("disk not full: %d bytes free", free)
	}

	ctx := context.Background()
	list := func() ([]string, error) { return vfs.Default.List(dir) }
	s, err := openWithin(t, 5*time.Second, list, dir, opts)
	if err != nil {
		// pebble could not open even read-only: the error must say why.
		mustDiskFull(t, err, "open on a full disk")
	} else {
		if err := w.verify(s, acked); err != nil {
			t.Fatalf("read-only store after kill -9 on a full disk: %v", err)
		}
		h := openNamed(t, s, killCores[0])
		_, err := h.Append(ctx, blockAt(killCores[0], h.Length()))
		mustDiskFull(t, err, "append on a full disk after restart")
		t.Logf("append refused: %v", err)
		h.Close()
	}
	quiet(t, 2*time.Second, list)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if s == nil {
		s = openStore(t, vfs.Default, dir, opts)
		if err := w.verify(s, acked); err != nil {
			t.Fatal(err)
		}
	}
	h := openNamed(t, s, killCores[0])
	if _, err := h.Append(ctx, blockAt(killCores[0], h.Length())); err != nil {
		t.Fatalf("append once space was freed: %v", err)
	}

	// An open read-write store on a disk that fills.
	fillDisk(t, filler)
	length := h.Length()
	_, err = h.Append(ctx, blockAt(killCores[0], length))
	mustDiskFull(t, err, "append when the disk filled")
	if err := checkCore(ctx, h, killCores[0], 0); err != nil {
		t.Fatalf("read on a full disk: %v", err)
	}
	quiet(t, time.Second, list)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	if n, err := h.Append(ctx, blockAt(killCores[0], length)); err != nil || n != length+1 {
		t.Fatalf("append once space was freed again: %d, %v", n, err)
	}
	h.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFlushOnFullDiskBacksOff: a memtable flush that meets a full disk is
// retried by pebble at once and for ever, creating new sstable and blob
// files at each try; the store's filesystem makes each failed write wait
// (10 ms doubling to 1 s), so a store left on a full disk stays idle, and
// the flush completes once space returns.
func TestFlushOnFullDiskBacksOff(t *testing.T) {
	// Only sstable and blob writes fail: a new WAL on a full disk makes
	// pebble panic, which the reserve exists to prevent.
	var full atomic.Bool
	fs := errorfs.Wrap(vfs.NewMem(), errorfs.InjectorFunc(func(op errorfs.Op) error {
		if full.Load() && op.Kind == errorfs.OpFileWrite && (strings.HasSuffix(op.Path, ".sst") || strings.HasSuffix(op.Path, ".blob")) {
			return syscall.ENOSPC
		}
		return nil
	}))
	s, ctx := openStore(t, fs, "db", Options{MinFreeBytes: -1}), context.Background()
	h := openNamed(t, s, "a")
	if _, err := h.Append(ctx, blocksFrom("a", 0, 40)...); err != nil {
		t.Fatal(err)
	}
	full.Store(true)
	before, _ := fs.List("db")
	cpu := cpuTime()
	if _, err := s.db.AsyncFlush(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	after, _ := fs.List("db")
	used, created := cpuTime()-cpu, newNames(before, after)
	t.Logf("1 s of a failing flush: %v of CPU, %d files created, %d ENOSPC writes", used, len(created), s.fs.enospc.Load())
	if used > 250*time.Millisecond || len(created) > 12 {
		t.Fatalf("1 s of a failing flush used %v of CPU and created %d files: spinning", used, len(created))
	}
	if err := checkCore(ctx, h, "a", 0); err != nil {
		t.Fatalf("read while a flush fails: %v", err)
	}
	full.Store(false)
	if n, err := h.Append(ctx, blockAt("a", 40)); err != nil || n != 41 {
		t.Fatalf("append once space returned: %d, %v", n, err)
	}
	if err := s.db.Flush(); err != nil {
		t.Fatalf("flush once space returned: %v", err)
	}
}
