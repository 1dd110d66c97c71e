package store

import (
	"strconv"

	"github.com/hspd/hsp/core"
	"golang.org/x/crypto/blake2b"
)

// MasterKeySize is the size of a store's master key.
const MasterKeySize = 32

// seedNamespace is the namespace corestore 5 derives core seeds in.
const seedNamespace = "corestore"

// DeriveKeyPair returns the key pair of the writable core called name in a
// store whose master key is masterKey, as JS corestore 5 derives it (with
// derive-key 1): seed = BLAKE2b-256 keyed with masterKey over the ASCII
// bytes "9\ncorestore" followed by name, then the Ed25519 key pair of that
// seed. A master key migrated from a JS corestore therefore yields the same
// keys for the same names.
func DeriveKeyPair(masterKey []byte, name []byte) (core.KeyPair, error) {
	h, err := blake2b.New256(masterKey)
	if err != nil {
		return core.KeyPair{}, err
	}
	h.Write([]byte(strconv.Itoa(len(seedNamespace)) + "\n" + seedNamespace))
	h.Write(name)
	return core.KeyPairFromSeed(h.Sum(nil)), nil
}

// MasterKey returns the store's master key: the secret its writable key
// pairs and the daemon's replication identity derive from. It must never
// leave the process.
func (s *Store) MasterKey() [MasterKeySize]byte {
	return [MasterKeySize]byte(s.master)
}
