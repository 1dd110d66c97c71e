package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"

	"github.com/hspd/hsp/core"
)

// Handle is one reference to an open core. Every open of the same core
// returns a Handle on the same *core.Hypercore, so a core never has two
// writers over the same data. Close releases the reference and closes the
// core with its last Handle; using a Handle after its Close is a bug.
type Handle struct {
	*core.Hypercore
	e        *entry
	name     string
	released atomic.Bool
}

// Close releases the handle. The core closes when its last handle does.
func (h *Handle) Close() error {
	if h.released.Swap(true) {
		return nil
	}
	return h.e.release()
}

// Name returns the name a named core was opened with, or "" for a random
// or remote core.
func (h *Handle) Name() string { return h.name }

// entry is an open core shared by its handles. It stays in Store.open
// until its core has closed, so a new open never overlaps an old core's
// last append.
type entry struct {
	s    *Store
	key  core.Key
	refs int // guarded by s.mu

	mu  sync.Mutex // held while the core opens or closes
	hc  *core.Hypercore
	st  *coreStorage
	rec record
}

// acquire returns a handle on the core with key, opening it if needed.
// ensure supplies the core's record when the core is not open.
func (s *Store) acquire(ctx context.Context, key core.Key, ensure func() (record, error)) (*Handle, error) {
	e, err := s.ref(key)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.hc == nil || e.st.closed.Load() {
		if err := e.load(ctx, ensure); err != nil {
			s.unref(e)
			s.dropUnused(e)
			return nil, err
		}
	}
	h := &Handle{Hypercore: e.hc, e: e}
	if e.rec.origin == originNamed {
		h.name = string(e.rec.name)
	}
	return h, nil
}

// ref counts one more user of key's entry, making the entry if needed.
func (s *Store) ref(key core.Key) (*entry, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.shut {
		return nil, ErrClosed
	}
	e := s.open[key]
	if e == nil {
		e = &entry{s: s, key: key}
		s.open[key] = e
	}
	e.refs++
	return e, nil
}

// unref drops one user of e and reports whether none is left.
func (s *Store) unref(e *entry) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e.refs--
	return e.refs == 0
}

// dropUnused removes e from Store.open unless it found a new user. The
// caller holds e.mu and has closed e's core, so a later open starts afresh.
func (s *Store) dropUnused(e *entry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.refs == 0 && s.open[e.key] == e {
		delete(s.open, e.key)
	}
}

// load opens the core from its record. The caller holds e.mu.
func (e *entry) load(ctx context.Context, ensure func() (record, error)) error {
	rec, err := ensure()
	if err != nil {
		return err
	}
	kp, err := e.s.keyPair(e.key, rec)
	if err != nil {
		return err
	}
	st := &coreStorage{s: e.s, id: rec.id}
	hc, err := core.Open(ctx, st, kp)
	if err != nil {
		return fmt.Errorf("open core %s: %w", e.key, err)
	}
	e.hc, e.st, e.rec = hc, st, rec
	return nil
}

// release ends one handle's use, closing the core with the last.
func (e *entry) release() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.s.unref(e) {
		return nil
	}
	err := e.closeCore()
	e.s.dropUnused(e)
	return err
}

// closeCore closes the open core, waiting for its append in flight. The
// caller holds e.mu.
func (e *entry) closeCore() error {
	if e.hc == nil {
		return nil
	}
	err := e.hc.Close()
	e.hc, e.st = nil, nil
	return err
}

// forceClose closes the core under its remaining handles (Store.Close).
func (e *entry) forceClose() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.closeCore()
}
