package daemon

import (
	"container/list"
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
)

// Defaults of the garbage collection of loaded cores.
const (
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxLoaded   = 1000
)

// loadedSet holds the daemon's loaded cores: one store handle each, shared
// by every client session that uses the core. A core no session uses stays
// loaded for IdleTimeout, so a client that reopens it soon finds it warm,
// then closes; when more than MaxLoaded cores are loaded the idle ones go
// first, least recently used first. Cores in use are never closed, and
// closing never deletes data. The idle cores wait in a list ordered by
// last use, so an open, a release and a collection cost O(1) each, however
// many cores are loaded.
type loadedSet struct {
	mu    sync.Mutex
	cores map[core.Key]*loadedCore
	lru   list.List // of *loadedCore with no users, least recently used first
	idle  time.Duration
	max   int
	log   *slog.Logger
	// onClose, if set, runs for each core just before it is unloaded
	// (the network takes it off the replicator).
	onClose func(*store.Handle)
}

type loadedCore struct {
	h        *store.Handle
	users    int
	lastUsed time.Time
	elem     *list.Element // in lru while users == 0
}

func newLoadedSet(idle time.Duration, max int, log *slog.Logger) *loadedSet {
	return &loadedSet{cores: map[core.Key]*loadedCore{}, idle: idle, max: max, log: log}
}

// acquire returns the loaded core for key with one more user, loading it
// with load when it is not loaded (or when key is nil: a core opened by
// name or created). It is how sessions, and the replicator, hold a core;
// release drops that use, once however often it is called.
func (s *loadedSet) acquire(ctx context.Context, key *core.Key, load func(context.Context) (*store.Handle, error)) (*store.Handle, func(), error) {
	var h *store.Handle
	ok := false
	if key != nil {
		h, ok = s.use(*key)
	}
	if !ok {
		opened, err := load(ctx)
		if err != nil {
			return nil, nil, err
		}
		h = s.add(opened)
	}
	k := h.Key()
	var once sync.Once
	return h, func() { once.Do(func() { s.done(k) }) }, nil
}

// Run unloads idle cores, on a tick of a quarter of the idle timeout,
// until ctx ends.
func (s *loadedSet) Run(ctx context.Context) error {
	tick := time.NewTicker(min(max(s.idle/4, 10*time.Millisecond), 30*time.Second))
	defer tick.Stop()
	for {
		select {
		case now := <-tick.C:
			s.collect(now)
		case <-ctx.Done():
			return nil
		}
	}
}

// use returns the loaded core for key with one more user; ok is false when
// it is not loaded.
func (s *loadedSet) use(key core.Key) (*store.Handle, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	lc := s.cores[key]
	if lc == nil {
		return nil, false
	}
	s.take(lc)
	return lc.h, true
}

// take adds a user to lc, taking it off the idle list. s.mu is held.
func (s *loadedSet) take(lc *loadedCore) {
	if lc.elem != nil {
		s.lru.Remove(lc.elem)
		lc.elem = nil
	}
	lc.users++
}

// add records a core just opened from the store, with one user, and
// returns the handle to use: h, or the one already loaded (h is then
// closed).
func (s *loadedSet) add(h *store.Handle) *store.Handle {
	s.mu.Lock()
	lc := s.cores[h.Key()]
	if lc == nil {
		s.cores[h.Key()] = &loadedCore{h: h, users: 1}
		s.mu.Unlock()
		s.collect(time.Now())
		return h
	}
	s.take(lc)
	s.mu.Unlock()
	h.Close()
	return lc.h
}

// done drops one user of key.
func (s *loadedSet) done(key core.Key) {
	now := time.Now()
	s.mu.Lock()
	if lc := s.cores[key]; lc != nil && lc.users > 0 {
		lc.users--
		lc.lastUsed = now
		if lc.users == 0 {
			lc.elem = s.lru.PushBack(lc)
		}
	}
	s.mu.Unlock()
	s.collect(now)
}

// count returns the number of loaded cores.
func (s *loadedSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.cores)
}

// isLoaded reports whether key is loaded.
func (s *loadedSet) isLoaded(key core.Key) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cores[key] != nil
}

// unload closes key if no one uses it; it reports false if someone does.
func (s *loadedSet) unload(key core.Key) bool {
	s.mu.Lock()
	lc := s.cores[key]
	if lc != nil && lc.users > 0 {
		s.mu.Unlock()
		return false
	}
	if lc != nil {
		s.forget(lc)
	}
	s.mu.Unlock()
	if lc != nil {
		s.closeCore(key, lc)
	}
	return true
}

// forget drops lc from the set. s.mu is held.
func (s *loadedSet) forget(lc *loadedCore) {
	delete(s.cores, lc.h.Key())
	if lc.elem != nil {
		s.lru.Remove(lc.elem)
		lc.elem = nil
	}
}

// collect closes the idle cores past the timeout, then the least recently
// used idle ones while more than max are loaded. Both come off the front of
// the idle list.
func (s *loadedSet) collect(now time.Time) {
	s.mu.Lock()
	var victims []*loadedCore
	for front := s.lru.Front(); front != nil; front = s.lru.Front() {
		lc := front.Value.(*loadedCore)
		if now.Sub(lc.lastUsed) < s.idle && len(s.cores) <= s.max {
			break
		}
		s.forget(lc)
		victims = append(victims, lc)
	}
	s.mu.Unlock()
	for _, lc := range victims {
		s.closeCore(lc.h.Key(), lc)
	}
}

func (s *loadedSet) closeCore(key core.Key, lc *loadedCore) {
	if s.onClose != nil {
		s.onClose(lc.h)
	}
	if err := lc.h.Close(); err != nil {
		s.log.Warn("unload core", "key", key.String(), "err", err)
		return
	}
	s.log.Debug("unloaded core", "key", key.String())
}

// closeAll closes every loaded core, for shutdown.
func (s *loadedSet) closeAll() {
	s.mu.Lock()
	cores := s.cores
	s.cores = map[core.Key]*loadedCore{}
	s.lru.Init()
	s.mu.Unlock()
	for k, lc := range cores {
		s.closeCore(k, lc)
	}
}
