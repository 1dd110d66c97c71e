package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hspd/hsp/core"
)

// Info describes a stored core.
type Info struct {
	Key          core.Key
	DiscoveryKey core.DiscoveryKey
	// Length and ByteLength are the committed signed length in blocks and
	// bytes.
	Length, ByteLength uint64
	// Writable is true when the store can derive the core's secret key.
	Writable bool
	// Name is the name of a core opened with OpenNamed; "" otherwise.
	Name string
}

// List returns every stored core, ordered by public key.
func (s *Store) List(ctx context.Context) ([]Info, error) {
	if err := s.enter(); err != nil {
		return nil, fmt.Errorf("list cores: %w", err)
	}
	defer s.leave()
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{
		LowerBound: []byte{prefixRecord}, UpperBound: []byte{prefixRecord + 1},
	})
	if err != nil {
		return nil, fmt.Errorf("list cores: %w", err)
	}
	var out []Info
	for valid := it.First(); valid && err == nil; valid = it.Next() {
		var info Info
		if info, err = s.info(it); err == nil {
			out = append(out, info)
		}
	}
	if err := errors.Join(err, it.Error(), it.Close()); err != nil {
		return nil, fmt.Errorf("list cores: %w", err)
	}
	return out, nil
}

// info reads the core whose record the iterator is at.
func (s *Store) info(it *pebble.Iterator) (Info, error) {
	var info Info
	k := it.Key()
	if len(k) != 1+len(info.Key) {
		return info, fmt.Errorf("record key of %d bytes: %w", len(k), core.ErrCorrupt)
	}
	copy(info.Key[:], k[1:])
	v, err := it.ValueAndErr()
	if err != nil {
		return info, err
	}
	rec, err := decodeRecord(v)
	if err != nil {
		return info, err
	}
	info.DiscoveryKey, info.Writable = info.Key.DiscoveryKey(), rec.writable()
	if rec.origin == originNamed {
		info.Name = string(rec.name)
	}
	hv, err := s.get(headerKey(rec.id))
	if errors.Is(err, pebble.ErrNotFound) {
		return info, nil
	}
	if err != nil {
		return info, fmt.Errorf("read header of core %s: %w", info.Key, err)
	}
	h, err := decodeHeader(hv)
	info.Length, info.ByteLength = h.Length, h.ByteLength
	return info, err
}
