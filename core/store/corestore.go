package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hspd/hsp/core"
)

// OpenNamed opens the writable core called name, creating it if needed. Its
// key pair derives from the master key and the name, so the same name gives
// the same core across restarts (and the same key JS corestore 5 gives it).
// A core already open read-only, because OpenKey recorded its key before
// its name was known, stays read-only until its handles are closed.
func (s *Store) OpenNamed(ctx context.Context, name string) (*Handle, error) {
	if name == "" {
		return nil, fmt.Errorf("open named core: empty name")
	}
	kp, err := DeriveKeyPair(s.master, []byte(name))
	if err != nil {
		return nil, fmt.Errorf("open core %q: %w", name, err)
	}
	want := record{origin: originNamed, name: []byte(name)}
	h, err := s.acquire(ctx, kp.PublicKey, func() (record, error) { return s.ensure(kp.PublicKey, want) })
	if err != nil {
		return nil, fmt.Errorf("open core %q: %w", name, err)
	}
	return h, nil
}

// Create makes a new writable core. Like corestore 5 it gets a random
// 32-byte name, from which its key pair derives.
func (s *Store) Create(ctx context.Context) (*Handle, error) {
	name, err := randomName()
	if err != nil {
		return nil, err
	}
	kp, err := DeriveKeyPair(s.master, name)
	if err != nil {
		return nil, fmt.Errorf("create core: %w", err)
	}
	want := record{origin: originRandom, name: name}
	h, err := s.acquire(ctx, kp.PublicKey, func() (record, error) { return s.ensure(kp.PublicKey, want) })
	if err != nil {
		return nil, fmt.Errorf("create core: %w", err)
	}
	return h, nil
}

// OpenKey opens the core with public key key. A core not stored yet is
// recorded (read-only), so that it is listed and can be replicated later.
// A core this store created is writable.
func (s *Store) OpenKey(ctx context.Context, key core.Key) (*Handle, error) {
	want := record{origin: originRemote}
	h, err := s.acquire(ctx, key, func() (record, error) { return s.ensure(key, want) })
	if err != nil {
		return nil, fmt.Errorf("open core %s: %w", key, err)
	}
	return h, nil
}

// Lookup returns the public key of the stored core with discovery key dk,
// or an error wrapping ErrNotFound. Peers name cores by discovery key.
func (s *Store) Lookup(ctx context.Context, dk core.DiscoveryKey) (core.Key, error) {
	var key core.Key
	if err := s.enter(); err != nil {
		return key, fmt.Errorf("look up discovery key %s: %w", dk, err)
	}
	defer s.leave()
	v, err := s.get(discKey(dk))
	switch {
	case errors.Is(err, pebble.ErrNotFound):
		return key, fmt.Errorf("look up discovery key %s: %w", dk, ErrNotFound)
	case err != nil:
		return key, fmt.Errorf("look up discovery key %s: %w", dk, err)
	case len(v) != len(key):
		return key, fmt.Errorf("look up discovery key %s: value of %d bytes: %w", dk, len(v), core.ErrCorrupt)
	}
	copy(key[:], v)
	return key, nil
}

// Delete removes a core completely: its record, its discovery-key entry
// and all its data, then compacts the range so the data leaves the disk.
// An open core is not deleted (ErrInUse).
func (s *Store) Delete(ctx context.Context, key core.Key) error {
	e, err := s.ref(key)
	if err != nil {
		return fmt.Errorf("delete core %s: %w", key, err)
	}
	e.mu.Lock()
	defer func() {
		s.unref(e)
		s.dropUnused(e)
		e.mu.Unlock()
	}()
	if e.hc != nil && !e.st.closed.Load() {
		return fmt.Errorf("delete core %s: %w", key, ErrInUse)
	}
	if err := s.deleteCore(ctx, key); err != nil {
		return fmt.Errorf("delete core %s: %w", key, err)
	}
	return nil
}

// deleteCore removes key's record and data, with its remembered network
// configuration and its seed, in one synced batch.
func (s *Store) deleteCore(ctx context.Context, key core.Key) error {
	s.createMu.Lock()
	defer s.createMu.Unlock()
	rec, err := s.lookup(key)
	if err != nil {
		return err
	}
	if err := s.writable("delete a core"); err != nil {
		return err
	}
	if err := s.space.deletable(); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	lower, upper := coreBounds(rec.id)
	b := s.db.NewBatch()
	defer b.Close()
	b.DeleteRange(lower, upper, nil)
	b.Delete(recordKey(key), nil)
	b.Delete(discKey(key.DiscoveryKey()), nil)
	b.Delete(topicKey(key.DiscoveryKey()), nil)
	b.Delete(seedKey(key), nil)
	if err := s.db.Apply(b, pebble.Sync); err != nil {
		return fmt.Errorf("write deletion: %w", err)
	}
	if err := s.db.Compact(ctx, lower, upper, false); err != nil {
		return fmt.Errorf("compact deleted range: %w", err)
	}
	return nil
}
