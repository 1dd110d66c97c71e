package core

import (
	"encoding/hex"
	"fmt"
	"strings"

	"golang.org/x/crypto/blake2b"
)

// Key is a hypercore's Ed25519 public key, the name users see as 64 hex
// characters or hyper://<hex>.
type Key [32]byte

// DiscoveryKey is the keyed BLAKE2b-256 hash of a Key. It is the swarm topic
// and the only identifier of a core that crosses the wire.
type DiscoveryKey [32]byte

// String returns the key as 64 lowercase hex characters.
func (k Key) String() string { return hex.EncodeToString(k[:]) }

// String returns the discovery key as 64 lowercase hex characters.
func (d DiscoveryKey) String() string { return hex.EncodeToString(d[:]) }

// DiscoveryKey derives the discovery key: BLAKE2b-256 keyed with k over the
// ASCII bytes "hypercore".
func (k Key) DiscoveryKey() DiscoveryKey {
	h, err := blake2b.New256(k[:])
	if err != nil {
		panic(err) // unreachable: a 32-byte key is always valid
	}
	h.Write([]byte("hypercore"))
	var d DiscoveryKey
	h.Sum(d[:0])
	return d
}

// ParseKey reads a key written as 64 hex characters, optionally prefixed by
// hyper://.
func ParseKey(s string) (Key, error) {
	var k Key
	hexPart := strings.TrimSuffix(strings.TrimPrefix(s, "hyper://"), "/")
	if len(hexPart) != 2*len(k) {
		return k, fmt.Errorf("parse key %q: want 64 hex characters, got %d", s, len(hexPart))
	}
	if _, err := hex.Decode(k[:], []byte(hexPart)); err != nil {
		return k, fmt.Errorf("parse key %q: %w", s, err)
	}
	return k, nil
}

// ParseDiscoveryKey reads a discovery key written as 64 hex characters.
func ParseDiscoveryKey(s string) (DiscoveryKey, error) {
	k, err := ParseKey(s)
	return DiscoveryKey(k), err
}

// MarshalText writes the key as 64 lowercase hex characters, so that JSON
// shows it as Hyperspace does.
func (k Key) MarshalText() ([]byte, error) { return hexText(k[:]), nil }

// UnmarshalText reads a key written as 64 hex characters.
func (k *Key) UnmarshalText(b []byte) error { return unhexText(k[:], b, "key") }

// MarshalText writes the discovery key as 64 lowercase hex characters.
func (d DiscoveryKey) MarshalText() ([]byte, error) { return hexText(d[:]), nil }

// UnmarshalText reads a discovery key written as 64 hex characters.
func (d *DiscoveryKey) UnmarshalText(b []byte) error { return unhexText(d[:], b, "discovery key") }

func hexText(b []byte) []byte {
	out := make([]byte, hex.EncodedLen(len(b)))
	hex.Encode(out, b)
	return out
}

func unhexText(dst, text []byte, what string) error {
	if len(text) != hex.EncodedLen(len(dst)) {
		return fmt.Errorf("parse %s: want %d hex characters, got %d", what, hex.EncodedLen(len(dst)), len(text))
	}
	if _, err := hex.Decode(dst, text); err != nil {
		return fmt.Errorf("parse %s: %w", what, err)
	}
	return nil
}
