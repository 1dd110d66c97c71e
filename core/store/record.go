package store

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hspd/hsp/core"
)

// origin says where a core's key pair comes from.
type origin byte

const (
	originRemote origin = 'r' // only the public key is known: read-only here
	originNamed  origin = 'n' // derived from the master key and a caller's name
	originRandom origin = 'x' // derived from the master key and a random 32-byte name
)

// record is what the store keeps about a core under k ‖ public key:
// id (u64be) ‖ origin ‖ name.
type record struct {
	id     uint64
	origin origin
	name   []byte
}

func (r record) encode() []byte {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 9+len(r.name)), r.id)
	return append(append(v, byte(r.origin)), r.name...)
}

func decodeRecord(v []byte) (record, error) {
	if len(v) < 9 {
		return record{}, fmt.Errorf("core record of %d bytes: %w", len(v), core.ErrCorrupt)
	}
	r := record{id: binary.BigEndian.Uint64(v), origin: origin(v[8]), name: v[9:]}
	switch r.origin {
	case originRemote, originNamed, originRandom:
		return r, nil
	}
	return r, fmt.Errorf("core record of origin %q: %w", r.origin, core.ErrCorrupt)
}

// writable reports whether the store can derive the core's secret key.
func (r record) writable() bool { return r.origin != originRemote }

// lookup returns the record of key, or an error wrapping ErrNotFound.
func (s *Store) lookup(key core.Key) (record, error) {
	if err := s.enter(); err != nil {
		return record{}, err
	}
	defer s.leave()
	v, err := s.get(recordKey(key))
	if errors.Is(err, pebble.ErrNotFound) {
		return record{}, fmt.Errorf("core %s: %w", key, ErrNotFound)
	}
	if err != nil {
		return record{}, fmt.Errorf("read record of core %s: %w", key, err)
	}
	return decodeRecord(v)
}

// ensure returns the record of key, creating it with want's origin and
// name if there is none. A remote record is upgraded when the caller now
// knows the name that derives the key.
func (s *Store) ensure(key core.Key, want record) (record, error) {
	s.createMu.Lock()
	defer s.createMu.Unlock()
	have, err := s.lookup(key)
	if err == nil && (have.writable() || !want.writable()) {
		return have, nil
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return record{}, err
	}
	want.id = have.id
	if err != nil {
		want.id = s.nextID
	}
	if err := s.writeRecord(key, want); err != nil {
		return record{}, fmt.Errorf("record core %s: %w", key, err)
	}
	return want, nil
}

// writeRecord commits a record, its discovery-key index entry and the id
// counter in one synced batch. The caller holds createMu.
func (s *Store) writeRecord(key core.Key, r record) error {
	if err := s.writable("record a core"); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	next := max(s.nextID, r.id+1)
	b := s.db.NewBatch()
	defer b.Close()
	b.Set(recordKey(key), r.encode(), nil)
	dk := key.DiscoveryKey()
	b.Set(discKey(dk), key[:], nil)
	b.Set(metaKey(prefixNextID), binary.BigEndian.AppendUint64(nil, next), nil)
	if err := s.space.reserve(len(b.Repr())); err != nil {
		return err
	}
	if err := s.db.Apply(b, pebble.Sync); err != nil {
		if errors.Is(err, pebble.ErrReadOnly) {
			err = s.readOnlyError("record a core", err)
		}
		return err
	}
	s.nextID = next
	return nil
}

// keyPair returns the key pair of a recorded core: with its secret key
// when the store can derive it.
func (s *Store) keyPair(key core.Key, r record) (core.KeyPair, error) {
	if !r.writable() {
		return core.KeyPair{PublicKey: key}, nil
	}
	kp, err := DeriveKeyPair(s.master, r.name)
	if err != nil {
		return kp, fmt.Errorf("derive key pair of core %s: %w", key, err)
	}
	if kp.PublicKey != key {
		return kp, fmt.Errorf("name of core %s derives key %s: %w", key, kp.PublicKey, core.ErrCorrupt)
	}
	return kp, nil
}

// randomName returns a fresh 32-byte name, as corestore 5 gives new cores.
func randomName() ([]byte, error) {
	name := make([]byte, 32)
	if _, err := rand.Read(name); err != nil {
		return nil, fmt.Errorf("make core name: %w", err)
	}
	return name, nil
}
