package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hspd/hsp/core"
)

// Errors of the store. Test with errors.Is.
var (
	// ErrClosed: the store was closed.
	ErrClosed = errors.New("store is closed")
	// ErrNotFound: no core with that key or discovery key is stored.
	ErrNotFound = errors.New("core not found")
	// ErrInUse: the core is open and cannot be deleted.
	ErrInUse = errors.New("core is open")
	// ErrDiskFull: the disk has less free space than Options.MinFreeBytes
	// (plus what the write needs); nothing of the refused write was
	// written. The error is a *DiskFullError, which gives the figures.
	ErrDiskFull = errors.New("disk full")
	// ErrMasterKey: Options.MasterKey differs from the stored master key.
	ErrMasterKey = errors.New("master key differs from the stored one")
)

// Store keeps any number of hypercores in one pebble database, with the
// master key their writable key pairs derive from. It is safe for
// concurrent use.
type Store struct {
	db     *pebble.DB // replaced, under gate, when a read-only store reopens writable
	dir    string
	opts   Options
	fs     *diskFS
	master []byte
	space  *spaceGuard
	relax  *relaxedSync // nil unless Options.UnsafeSyncInterval is set

	gate   sync.RWMutex // read-held by every database access, write-held by Close and reopen
	closed bool         // guarded by gate
	broken error        // guarded by gate: set when a reopen left no database open

	// readOnly: pebble is open read-only because the disk was full at Open.
	// Changed only with gate write-held. Writes fail with a *DiskFullError
	// until writable reopens the database read-write, once roExtra bytes
	// beyond the reserve are free.
	readOnly atomic.Bool
	roExtra  uint64
	reopenMu sync.Mutex // serialises writable's attempts

	mu   sync.Mutex // guards open and shut
	open map[core.Key]*entry
	shut bool // Close has begun: no core opens any more

	createMu sync.Mutex // serialises new core records and the id counter
	nextID   uint64     // guarded by createMu
}

// Open opens or creates the store in directory dir.
//
// On a disk with less free space than the reserve (Options.MinFreeBytes)
// plus the write-ahead log pebble would replay, an existing store opens
// read-only: it serves reads, refuses writes with a *DiskFullError
// (errors.Is ErrDiskFull), and reopens read-write by itself at the first
// write after enough space was freed. A store that does not exist yet, or
// that pebble cannot open read-only, fails at once with a *DiskFullError.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.MasterKey != nil && len(opts.MasterKey) != MasterKeySize {
		return nil, fmt.Errorf("open store %s: master key of %d bytes: %w", dir, len(opts.MasterKey), ErrMasterKey)
	}
	s := &Store{dir: dir, opts: opts, open: map[core.Key]*entry{}}
	s.fs = newDiskFS(opts.FS)
	s.opts.FS = s.fs
	s.space = newSpaceGuard(s.fs, dir, opts.MinFreeBytes)
	if err := s.openDB(); err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if err := s.init(opts.MasterKey); err != nil {
		s.db.Close()
		if errors.Is(err, pebble.ErrReadOnly) {
			err = s.readOnlyError("write the store's metadata", err)
		}
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	if opts.UnsafeSyncInterval > 0 {
		s.relax = startRelaxedSync(s, opts.UnsafeSyncInterval)
	}
	return s, nil
}

// openDB opens pebble: read-write when the disk has room for the reserve
// and for flushing the WAL that pebble replays (pebble.Open flushes it
// before it returns, and on a full disk retries that flush for ever),
// read-only otherwise. The caller holds gate or has not shared s yet.
func (s *Store) openDB() error {
	wal, err := s.walBytes()
	if err != nil {
		return err
	}
	err = s.space.check("open read-write", wal)
	var full *DiskFullError
	if !errors.As(err, &full) {
		return s.openPebble(false) // room enough, or free space unknown
	}
	if !s.exists() {
		full.Op = "create a store"
		return full
	}
	if err := s.openPebble(true); err != nil {
		return fmt.Errorf("%w; cannot open read-only either: %w", full, err)
	}
	// Read-only, pebble holds the replayed WAL in memtables: flushing them
	// is what a read-write open needs beyond the reserve.
	s.roExtra = s.db.Metrics().MemTable.Size
	if s.space.check("open read-write", s.roExtra) == nil {
		s.db.Close()
		return s.openPebble(false)
	}
	return nil
}

// openPebble opens the database in s.db, read-only or read-write.
func (s *Store) openPebble(readOnly bool) error {
	po := s.opts.pebbleOptions()
	po.ReadOnly = readOnly
	db, err := pebble.Open(s.dir, po)
	if err != nil {
		return err
	}
	s.db = db
	s.readOnly.Store(readOnly)
	return nil
}

// exists reports whether the store's directory holds a pebble database.
func (s *Store) exists() bool {
	names, _ := s.fs.List(s.dir)
	for _, name := range names {
		if strings.HasPrefix(name, "MANIFEST-") {
			return true
		}
	}
	return false
}

// walBytes returns the size of the WAL files in the store's directory: at
// most what an open replays and flushes.
func (s *Store) walBytes() (uint64, error) {
	names, err := s.fs.List(s.dir)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("list %s: %w", s.dir, err)
	}
	var n uint64
	for _, name := range names {
		if !strings.HasSuffix(name, ".log") {
			continue
		}
		if info, err := s.fs.Stat(s.fs.PathJoin(s.dir, name)); err == nil {
			n += uint64(info.Size())
		}
	}
	return n, nil
}

// Writable returns nil if the store takes writes. A store that Open opened
// read-only on a full disk is reopened read-write here if the disk now has
// room; otherwise the error is a *DiskFullError (ReadOnly set) saying how
// much is free and needed. Writes make the same check themselves: a daemon
// calls Writable after Open to log why its store is read-only, or for a
// status report.
func (s *Store) Writable() error { return s.writable("write") }

// writable returns nil if the store takes writes, reopening a read-only
// store read-write if the disk now has room; otherwise a *DiskFullError.
// The caller must not be inside enter.
func (s *Store) writable(op string) error {
	if !s.readOnly.Load() {
		return nil
	}
	s.reopenMu.Lock()
	defer s.reopenMu.Unlock()
	if !s.readOnly.Load() {
		return nil
	}
	if err := s.space.check(op, s.roExtra); err != nil {
		var full *DiskFullError
		if errors.As(err, &full) {
			full.ReadOnly = true
		}
		return err
	}
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.closed {
		return ErrClosed
	}
	s.db.Close() // read-only: nothing to lose
	err := s.openPebble(false)
	if err == nil {
		return nil
	}
	if err2 := s.openPebble(true); err2 != nil {
		s.db, s.closed = nil, true
		s.broken = fmt.Errorf("reopen store read-write: %w; and read-only: %w", err, err2)
		return s.broken
	}
	return fmt.Errorf("reopen store read-write: %w", err)
}

// readOnlyError is the error of a write refused by a read-only store.
func (s *Store) readOnlyError(op string, cause error) error {
	if err := s.space.check(op, s.roExtra); err != nil {
		var full *DiskFullError
		if errors.As(err, &full) {
			full.ReadOnly = true
		}
		return err
	}
	return fmt.Errorf("%s: store opened read-only on a full disk: %w (%w)", op, ErrDiskFull, cause)
}

// init reads the store's metadata, writing it first in a new database.
func (s *Store) init(master []byte) error {
	v, err := s.get(metaKey(prefixVersion))
	if errors.Is(err, pebble.ErrNotFound) {
		return s.create(master)
	}
	if err != nil {
		return fmt.Errorf("read layout version: %w", err)
	}
	if len(v) != 8 {
		return fmt.Errorf("layout version of %d bytes: %w", len(v), core.ErrCorrupt)
	}
	if got := binary.BigEndian.Uint64(v); got != layoutVersion {
		return fmt.Errorf("store has layout version %d, this hsp reads %d", got, layoutVersion)
	}
	if s.master, err = s.get(metaKey(prefixMaster)); err != nil || len(s.master) != MasterKeySize {
		return fmt.Errorf("read master key (%d bytes): %w", len(s.master), errors.Join(err, core.ErrCorrupt))
	}
	if master != nil && string(master) != string(s.master) {
		return ErrMasterKey
	}
	id, err := s.get(metaKey(prefixNextID))
	if err != nil || len(id) != 8 {
		return fmt.Errorf("read next core id: %w", errors.Join(err, core.ErrCorrupt))
	}
	s.nextID = binary.BigEndian.Uint64(id)
	return nil
}

// create writes the metadata of a new database in one synced batch.
func (s *Store) create(master []byte) error {
	if master == nil {
		master = make([]byte, MasterKeySize)
		if _, err := rand.Read(master); err != nil {
			return fmt.Errorf("make master key: %w", err)
		}
	}
	s.master, s.nextID = master, 1
	b := s.db.NewBatch()
	defer b.Close()
	b.Set(metaKey(prefixVersion), binary.BigEndian.AppendUint64(nil, layoutVersion), nil)
	b.Set(metaKey(prefixMaster), master, nil)
	b.Set(metaKey(prefixNextID), binary.BigEndian.AppendUint64(nil, s.nextID), nil)
	if err := s.db.Apply(b, pebble.Sync); err != nil {
		return fmt.Errorf("write store metadata: %w", err)
	}
	return nil
}

// get returns a copy of the value at key, or an error wrapping
// pebble.ErrNotFound.
func (s *Store) get(key []byte) ([]byte, error) {
	return s.appendValue(nil, key)
}

// appendValue appends the value of key to dst.
func (s *Store) appendValue(dst, key []byte) ([]byte, error) {
	v, closer, err := s.db.Get(key)
	if err != nil {
		return dst, err
	}
	defer closer.Close()
	return append(dst, v...), nil
}

// enter admits one database access; leave ends it. Close waits for every
// admitted access, so pebble is never used after it is closed.
func (s *Store) enter() error {
	s.gate.RLock()
	if s.closed {
		err := s.broken
		s.gate.RUnlock()
		if err != nil {
			return fmt.Errorf("%w: %w", ErrClosed, err)
		}
		return ErrClosed
	}
	return nil
}

func (s *Store) leave() { s.gate.RUnlock() }

// Sync makes every commit so far durable, including commits made without
// Batch.Sync. Concurrent calls share one WAL fsync.
func (s *Store) Sync(ctx context.Context) error {
	if err := s.enter(); err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	defer s.leave()
	if s.readOnly.Load() {
		return nil // nothing was written since Open
	}
	if err := s.db.LogData(nil, pebble.Sync); err != nil {
		return fmt.Errorf("sync store: %w", err)
	}
	return nil
}

// Close closes every core still open, syncs and closes the database.
// Handles still held fail with core.ErrClosed afterwards. Closing again
// does nothing.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.shut {
		s.mu.Unlock()
		return nil
	}
	s.shut = true
	entries := make([]*entry, 0, len(s.open))
	for _, e := range s.open {
		entries = append(entries, e)
	}
	s.mu.Unlock()
	var errs []error
	for _, e := range entries {
		errs = append(errs, e.forceClose())
	}
	if s.relax != nil {
		s.relax.stop()
	}
	s.gate.Lock()
	defer s.gate.Unlock()
	if s.db != nil {
		if !s.readOnly.Load() {
			errs = append(errs, s.db.LogData(nil, pebble.Sync))
		}
		errs = append(errs, s.db.Close())
		s.db = nil
	}
	s.closed = true
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// relaxedSync syncs the WAL periodically for Options.UnsafeSyncInterval.
type relaxedSync struct {
	dirty atomic.Bool
	done  chan struct{}
	wg    sync.WaitGroup
}

func startRelaxedSync(s *Store, every time.Duration) *relaxedSync {
	r := &relaxedSync{done: make(chan struct{})}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.done:
				return
			case <-t.C:
				if r.dirty.Swap(false) {
					s.Sync(context.Background()) // an error here resurfaces on the next commit
				}
			}
		}
	}()
	return r
}

func (r *relaxedSync) stop() {
	close(r.done)
	r.wg.Wait()
}
