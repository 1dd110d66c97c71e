package wire

import (
	"crypto/rand"
	"fmt"
	"io"
	"strconv"

	"github.com/hspd/hsp/core"
	"golang.org/x/crypto/blake2b"
	"golang.org/x/crypto/curve25519"
)

// KeyPair is a Noise static key pair (X25519). The secret is kept as
// libsodium keeps it (unclamped); X25519 clamps it on use.
type KeyPair struct {
	Public [32]byte
	Secret [32]byte
}

// replicationNamespace and replicationName are what Hyperspace 3 passes to
// Corestore's _deriveSecret to seed its Noise key pair.
const (
	replicationNamespace = "@hypercore-protocol/hyperspace"
	replicationName      = "replication-keypair"
)

// SeedKeyPair derives a key pair from a 32-byte seed as libsodium's
// crypto_kx_seed_keypair does: the secret is BLAKE2b-256(seed), the public
// key its X25519 base-point multiple.
func SeedKeyPair(seed [32]byte) KeyPair {
	kp := KeyPair{Secret: blake2b.Sum256(seed[:])}
	kp.Public = publicKey(&kp.Secret)
	return kp
}

// GenerateKeyPair makes a random key pair from r (crypto/rand when nil).
func GenerateKeyPair(r io.Reader) (KeyPair, error) {
	if r == nil {
		r = rand.Reader
	}
	var kp KeyPair
	if _, err := io.ReadFull(r, kp.Secret[:]); err != nil {
		return KeyPair{}, fmt.Errorf("generate key pair: %w", err)
	}
	kp.Public = publicKey(&kp.Secret)
	return kp, nil
}

// ReplicationKeyPair is the daemon's stable Noise identity, the one
// Hyperspace 3 derives from its Corestore master key, so that peers see the
// same static key across restarts:
//
//	seed = BLAKE2b-256(key = masterKey; "30\n@hypercore-protocol/hyperspace" || "replication-keypair")
//	pair = crypto_kx_seed_keypair(seed)
//
// (derive-key 1.x prefixes the namespace with its decimal length and a
// newline.)
func ReplicationKeyPair(masterKey [32]byte) KeyPair {
	return SeedKeyPair(deriveSeed(masterKey, replicationNamespace, replicationName))
}

// deriveSeed is the derive-key construction Corestore 5 uses for named
// secrets.
func deriveSeed(masterKey [32]byte, namespace, name string) [32]byte {
	h, err := blake2b.New256(masterKey[:])
	if err != nil {
		panic(err) // unreachable: a 32-byte key is always valid
	}
	h.Write([]byte(strconv.Itoa(len(namespace)) + "\n" + namespace))
	h.Write([]byte(name))
	var seed [32]byte
	h.Sum(seed[:0])
	return seed
}

func publicKey(secret *[32]byte) [32]byte {
	pub, err := curve25519.X25519(secret[:], curve25519.Basepoint)
	if err != nil {
		panic(err) // unreachable: the base point never yields a low-order result
	}
	return [32]byte(pub)
}

// capability proves knowledge of key on this connection:
// BLAKE2b-256(key = rx; "hypercore capability" || tx || key). The sender
// passes its own split keys; the receiver checks with its keys swapped.
func capability(rx, tx *[32]byte, key core.Key) [32]byte {
	h, err := blake2b.New256(rx[:])
	if err != nil {
		panic(err) // unreachable: a 32-byte key is always valid
	}
	h.Write([]byte("hypercore capability"))
	h.Write(tx[:])
	h.Write(key[:])
	var c [32]byte
	h.Sum(c[:0])
	return c
}
