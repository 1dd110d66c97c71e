package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/cockroachdb/pebble/v2"
	"github.com/hspd/hsp/core"
)

// TopicConfig is a remembered network configuration: what the daemon
// joins a discovery key's topic for at every start.
type TopicConfig struct {
	DiscoveryKey     core.DiscoveryKey
	Announce, Lookup bool
}

// The values of prefixTopic and prefixSeed: a format byte, then for a
// topic one byte of flags.
const (
	netFormat      = 1
	topicAnnounce  = 1 << 0
	topicLookup    = 1 << 1
	topicKnownBits = topicAnnounce | topicLookup
)

func topicKey(dk core.DiscoveryKey) []byte { return append([]byte{prefixTopic}, dk[:]...) }
func seedKey(k core.Key) []byte            { return append([]byte{prefixSeed}, k[:]...) }

func (c TopicConfig) encode() []byte {
	var flags byte
	if c.Announce {
		flags |= topicAnnounce
	}
	if c.Lookup {
		flags |= topicLookup
	}
	return []byte{netFormat, flags}
}

// decodeTopicConfig reads a prefixTopic entry.
func decodeTopicConfig(k, v []byte) (TopicConfig, error) {
	var c TopicConfig
	if len(k) != 1+len(c.DiscoveryKey) || k[0] != prefixTopic {
		return c, fmt.Errorf("topic key %x of %d bytes: %w", k, len(k), core.ErrCorrupt)
	}
	if len(v) != 2 || v[0] != netFormat || v[1]&^topicKnownBits != 0 {
		return c, fmt.Errorf("topic configuration %x: %w", v, core.ErrCorrupt)
	}
	copy(c.DiscoveryKey[:], k[1:])
	c.Announce, c.Lookup = v[1]&topicAnnounce != 0, v[1]&topicLookup != 0
	return c, nil
}

// TopicConfigs returns every remembered network configuration, by
// discovery key.
func (s *Store) TopicConfigs(ctx context.Context) ([]TopicConfig, error) {
	var out []TopicConfig
	err := s.scan(ctx, prefixTopic, func(k, v []byte) error {
		c, err := decodeTopicConfig(k, v)
		out = append(out, c)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read the remembered topics: %w", err)
	}
	return out, nil
}

// PutTopicConfig remembers a network configuration, durably.
func (s *Store) PutTopicConfig(ctx context.Context, c TopicConfig) error {
	if err := s.put(topicKey(c.DiscoveryKey), c.encode(), "remember a topic"); err != nil {
		return fmt.Errorf("remember topic %s: %w", c.DiscoveryKey, err)
	}
	return nil
}

// DeleteTopicConfig forgets a discovery key's network configuration,
// durably; forgetting none is no error.
func (s *Store) DeleteTopicConfig(ctx context.Context, dk core.DiscoveryKey) error {
	if err := s.put(topicKey(dk), nil, "forget a topic"); err != nil {
		return fmt.Errorf("forget topic %s: %w", dk, err)
	}
	return nil
}

// Seeds returns the cores the daemon seeds, by public key.
func (s *Store) Seeds(ctx context.Context) ([]core.Key, error) {
	var out []core.Key
	err := s.scan(ctx, prefixSeed, func(k, v []byte) error {
		var key core.Key
		if len(k) != 1+len(key) || len(v) != 1 || v[0] != netFormat {
			return fmt.Errorf("seed entry %x = %x: %w", k, v, core.ErrCorrupt)
		}
		copy(key[:], k[1:])
		out = append(out, key)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the seeds: %w", err)
	}
	return out, nil
}

// PutSeed records that the daemon seeds key, durably.
func (s *Store) PutSeed(ctx context.Context, key core.Key) error {
	if err := s.put(seedKey(key), []byte{netFormat}, "record a seed"); err != nil {
		return fmt.Errorf("seed %s: %w", key, err)
	}
	return nil
}

// DeleteSeed records that the daemon no longer seeds key, durably.
func (s *Store) DeleteSeed(ctx context.Context, key core.Key) error {
	if err := s.put(seedKey(key), nil, "forget a seed"); err != nil {
		return fmt.Errorf("unseed %s: %w", key, err)
	}
	return nil
}

// put sets k to v (deletes it with v nil) in a synced commit.
func (s *Store) put(k, v []byte, op string) error {
	if err := s.writable(op); err != nil {
		return err
	}
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	b := s.db.NewBatch()
	defer b.Close()
	if v == nil {
		b.Delete(k, nil)
	} else {
		b.Set(k, v, nil)
		if err := s.space.reserve(len(b.Repr())); err != nil {
			return err
		}
	}
	if err := s.db.Apply(b, pebble.Sync); err != nil {
		if errors.Is(err, pebble.ErrReadOnly) {
			err = s.readOnlyError(op, err)
		}
		return err
	}
	return nil
}

// scan calls f for every entry under prefix, in key order.
func (s *Store) scan(ctx context.Context, prefix byte, f func(k, v []byte) error) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer s.leave()
	it, err := s.db.NewIterWithContext(ctx, &pebble.IterOptions{LowerBound: []byte{prefix}, UpperBound: []byte{prefix + 1}})
	if err != nil {
		return err
	}
	for valid := it.First(); valid && err == nil; valid = it.Next() {
		var v []byte
		if v, err = it.ValueAndErr(); err == nil {
			err = f(it.Key(), v)
		}
	}
	return errors.Join(err, it.Error(), it.Close())
}
