package store

import (
	"fmt"
	"os"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/cockroachdb/pebble/v2/bloom"
	"github.com/cockroachdb/pebble/v2/vfs"
)

// FormatMajorVersion is the pebble format a store is created with and
// ratcheted to. It is pinned, not pebble.FormatNewest, so that a pebble
// upgrade never changes the on-disk format silently. It includes WAL sync
// chunks (a torn WAL tail is told apart from corruption) and value
// separation (large blocks live in blob files that compactions do not
// rewrite).
const FormatMajorVersion = pebble.FormatValueSeparation

// Defaults of Options; docs/storage.md explains each choice.
const (
	DefaultCacheSize    = 64 << 20
	DefaultMemTableSize = 64 << 20
	// DefaultMinFreeBytes is the free space commits leave on the disk: room
	// to flush what is committed but still in memtables (about one
	// DefaultMemTableSize) and start its compaction. docs/storage.md
	// explains why it is a fixed size, not a fraction of the disk.
	DefaultMinFreeBytes = 64 << 20
	// DefaultValueSeparationMin is the smallest block kept in a blob file
	// rather than in the LSM's sstables.
	DefaultValueSeparationMin = 8 << 10
)

// Options configure Open. The zero value is the durable default.
type Options struct {
	// FS is the filesystem the database lives on; nil means the OS's.
	FS vfs.FS
	// MasterKey, if set, is the 32-byte master key a new store adopts (for
	// instance one migrated from a JS corestore). Opening an existing store
	// whose master key differs fails. Nil makes a random one.
	MasterKey []byte
	// UnsafeSyncInterval, when positive, lets Append return before its batch
	// is durable: the WAL is synced every UnsafeSyncInterval instead. A crash
	// or power loss can then lose acknowledged appends, and a core whose lost
	// blocks reached a peer is forked for good. See docs/storage.md.
	UnsafeSyncInterval time.Duration
	// MinFreeBytes is the free space a commit leaves on the disk: below it
	// commits fail with a *DiskFullError (errors.Is ErrDiskFull), and Open
	// opens an existing store read-only (see Open). Deleting a core needs a
	// quarter of it. 0 means DefaultMinFreeBytes; negative turns the checks
	// off. It should stay at least MemTableSize.
	MinFreeBytes int64
	// CacheSize is the block cache size; 0 means DefaultCacheSize.
	CacheSize int64
	// MemTableSize is the size of one memtable; 0 means DefaultMemTableSize.
	MemTableSize uint64
	// ValueSeparationMin is the smallest value stored in a blob file; 0 means
	// DefaultValueSeparationMin, negative keeps every value in sstables.
	ValueSeparationMin int
	// Fatal is called with pebble's message when pebble meets an error it
	// cannot continue from (a failed WAL or MANIFEST write). It must not
	// return. Nil prints the message on stderr and exits with status 70.
	Fatal func(msg string)
}

// pebbleOptions builds the options the store opens pebble with.
func (o Options) pebbleOptions() *pebble.Options {
	po := &pebble.Options{
		FS:                 o.FS,
		FormatMajorVersion: FormatMajorVersion,
		CacheSize:          orDefault(o.CacheSize, DefaultCacheSize),
		MemTableSize:       uint64(orDefault(int64(o.MemTableSize), DefaultMemTableSize)),
		Logger:             quietLogger{fatal: o.fatal()},
	}
	if _, ok := po.FS.(*diskFS); !ok {
		po.FS = newDiskFS(po.FS)
	}
	// Point reads dominate (blocks, nodes): a bloom filter lets a Get skip
	// the levels without its key. The last level holds most keys and is
	// read last anyway, so it goes without, as in CockroachDB.
	for i := range po.Levels[:len(po.Levels)-1] {
		po.Levels[i].FilterPolicy = bloom.FilterPolicy(10)
	}
	if minSize := o.ValueSeparationMin; minSize >= 0 {
		if minSize == 0 {
			minSize = DefaultValueSeparationMin
		}
		po.Experimental.ValueSeparationPolicy = func() pebble.ValueSeparationPolicy {
			return pebble.ValueSeparationPolicy{
				Enabled:               true,
				MinimumSize:           minSize,
				MaxBlobReferenceDepth: 10,
				RewriteMinimumAge:     5 * time.Minute,
				TargetGarbageRatio:    0.2,
			}
		}
	}
	return po
}

func orDefault(v, def int64) int64 {
	if v == 0 {
		return def
	}
	return v
}

func (o Options) fatal() func(string) {
	if o.Fatal != nil {
		return o.Fatal
	}
	return func(msg string) {
		fmt.Fprintln(os.Stderr, msg)
		os.Exit(70)
	}
}

// quietLogger drops pebble's informational and error messages (errors that
// matter reach the store as returned errors) but still aborts on Fatalf.
type quietLogger struct{ fatal func(string) }

func (quietLogger) Infof(string, ...any)  {}
func (quietLogger) Errorf(string, ...any) {}

// Fatalf reports pebble's fatal error and does not return.
func (l quietLogger) Fatalf(format string, args ...any) {
	l.fatal(fmt.Sprintf("pebble: fatal: "+format, args...))
	panic("store: Options.Fatal returned")
}
