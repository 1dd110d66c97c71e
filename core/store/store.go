package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
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
	// ErrDiskFull: the disk has less free space than Options.MinFreeBytes;
	// nothing of the refused commit was written.
	ErrDiskFull = errors.New("disk full")
	// ErrMasterKey: Options.MasterKey differs from the stored master key.
	ErrMasterKey = errors.New("master key differs from the stored one")
)

// Store keeps any number of hypercores in one pebble database, with the
// master key their writable key pairs derive from. It is safe for
// concurrent use.
type Store struct {
	db     *pebble.DB
	master []byte
	space  *spaceGuard
	relax  *relaxedSync // nil unless Options.UnsafeSyncInterval is set

	gate   sync.RWMutex // read-held by every database access, write-held by Close
	closed bool         // guarded by gate

	mu   sync.Mutex // guards open and shut
	open map[core.Key]*entry
	shut bool // Close has begun: no core opens any more

	createMu sync.Mutex // serialises new core records and the id counter
	nextID   uint64     // guarded by createMu
}

// Open opens or creates the store in directory dir.
func Open(ctx context.Context, dir string, opts Options) (*Store, error) {
	if opts.MasterKey != nil && len(opts.MasterKey) != MasterKeySize {
		return nil, fmt.Errorf("open store %s: master key of %d bytes: %w", dir, len(opts.MasterKey), ErrMasterKey)
	}
	po := opts.pebbleOptions()
	db, err := pebble.Open(dir, po)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s := &Store{db: db, open: map[core.Key]*entry{}}
	if err := s.init(opts.MasterKey); err != nil {
		db.Close()
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	s.space = newSpaceGuard(po.FS, dir, opts.MinFreeBytes)
	if opts.UnsafeSyncInterval > 0 {
		s.relax = startRelaxedSync(s, opts.UnsafeSyncInterval)
	}
	return s, nil
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
	v, closer, err := s.db.Get(key)
	if err != nil {
		return nil, err
	}
	defer closer.Close()
	return append([]byte(nil), v...), nil
}

// enter admits one database access; leave ends it. Close waits for every
// admitted access, so pebble is never used after it is closed.
func (s *Store) enter() error {
	s.gate.RLock()
	if s.closed {
		s.gate.RUnlock()
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
	s.closed = true
	errs = append(errs, s.db.LogData(nil, pebble.Sync), s.db.Close())
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
