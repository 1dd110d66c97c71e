package store

import (
	"errors"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// maxPreallocate caps what pebble preallocates of a file at once. pebble
// preallocates 110 % of MemTableSize for every WAL (70.4 MiB with the
// 64 MiB memtable), so a fresh store took 71 MB on disk and each recycled
// WAL kept that much allocated; WAL files now grow as they are written.
// Preallocation did not make synced appends faster here (docs/storage.md).
const maxPreallocate = 1 << 20

// ENOSPC backoff: a write that fails with ENOSPC sleeps first, from
// enospcMinBackoff doubling to enospcMaxBackoff while writes keep failing.
// pebble retries a failed flush at once and forever (a TODO in its
// DB.flush), creating new sstable and blob files at every try: without the
// sleep a full disk spins it at full CPU, in the background or inside Open,
// which flushes the replayed WAL before it returns.
const (
	enospcMinBackoff = 10 * time.Millisecond
	enospcMaxBackoff = time.Second
	enospcForget     = 5 * time.Second
)

// diskFS is the filesystem pebble runs on: the caller's, with preallocation
// capped and writes that fail with ENOSPC slowed down.
type diskFS struct {
	vfs.FS
	failures atomic.Int64 // ENOSPC writes in the current spell
	last     atomic.Int64 // time of the last ENOSPC write, Unix ns
	enospc   atomic.Int64 // ENOSPC writes in all
}

// newDiskFS wraps fs; nil means the OS's filesystem.
func newDiskFS(fs vfs.FS) *diskFS {
	if fs == nil {
		fs = vfs.Default
	}
	return &diskFS{FS: fs}
}

// Unwrap returns the filesystem diskFS wraps.
func (d *diskFS) Unwrap() vfs.FS { return d.FS }

func (d *diskFS) Create(name string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.Create(name, category)
	return d.wrap(f, err)
}

func (d *diskFS) OpenReadWrite(name string, category vfs.DiskWriteCategory, opts ...vfs.OpenOption) (vfs.File, error) {
	f, err := d.FS.OpenReadWrite(name, category, opts...)
	return d.wrap(f, err)
}

func (d *diskFS) ReuseForWrite(oldname, newname string, category vfs.DiskWriteCategory) (vfs.File, error) {
	f, err := d.FS.ReuseForWrite(oldname, newname, category)
	return d.wrap(f, err)
}

func (d *diskFS) wrap(f vfs.File, err error) (vfs.File, error) {
	d.wrote(err)
	if err != nil {
		return nil, err
	}
	return &diskFile{File: f, fs: d}, nil
}

// wrote notes the outcome of a write, sleeping after ENOSPC: the longer
// the closer ENOSPC errors follow each other. A quiet spell of
// enospcForget starts the backoff afresh.
func (d *diskFS) wrote(err error) {
	if err == nil || !errors.Is(err, syscall.ENOSPC) {
		return
	}
	d.enospc.Add(1)
	now := time.Now().UnixNano()
	if last := d.last.Swap(now); now-last > int64(enospcForget) {
		d.failures.Store(0)
	}
	n := min(d.failures.Add(1)-1, 20)
	time.Sleep(min(enospcMinBackoff<<n, enospcMaxBackoff))
}

// diskFile is a file of diskFS.
type diskFile struct {
	vfs.File
	fs *diskFS
}

func (f *diskFile) Write(p []byte) (int, error) {
	n, err := f.File.Write(p)
	f.fs.wrote(err)
	return n, err
}

func (f *diskFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := f.File.WriteAt(p, off)
	f.fs.wrote(err)
	return n, err
}

// Preallocate preallocates at most maxPreallocate bytes. It is advisory:
// the file grows as it is written either way.
func (f *diskFile) Preallocate(offset, length int64) error {
	length = min(length, maxPreallocate)
	if length <= 0 {
		return nil
	}
	return f.File.Preallocate(offset, length)
}
