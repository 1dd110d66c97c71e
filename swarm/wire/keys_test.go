package wire

import (
	"encoding/hex"
	"testing"

	"github.com/hspd/hsp/core"
)

type handshakeVector struct {
	Initiator, Responder handshakeSide
	HandshakeMessages    struct {
		Msg1 string `json:"msg1_initiator"`
		Msg2 string `json:"msg2_responder"`
		Msg3 string `json:"msg3_initiator"`
	} `json:"handshakeMessages"`
	FeedKey      string `json:"feedKey"`
	Capabilities struct {
		InitiatorSends, ResponderSends                               string
		InitiatorExpectsFromResponder, ResponderExpectsFromInitiator string
	} `json:"capabilities"`
	Wire            map[string][]string `json:"wire"`
	PlaintextFrames map[string][]string `json:"plaintextFrames"`
}

type handshakeSide struct {
	StaticSeed, StaticSecretKey, StaticPublicKey string
	EphemeralSecretKey, PayloadNonce, Payload    string
	SplitTxKey, SplitRxKey, HandshakeHash        string
	RemoteStaticPublicKey                        string
}

// TestSeedKeyPair: crypto_kx_seed_keypair, as handshake.json's static keys.
func TestSeedKeyPair(t *testing.T) {
	var v handshakeVector
	loadVector(t, "handshake.json", &v)
	for _, side := range []handshakeSide{v.Initiator, v.Responder} {
		kp := SeedKeyPair(key32(t, side.StaticSeed))
		if hex.EncodeToString(kp.Secret[:]) != side.StaticSecretKey || hex.EncodeToString(kp.Public[:]) != side.StaticPublicKey {
			t.Errorf("seed %s: got %x / %x", side.StaticSeed, kp.Secret, kp.Public)
		}
	}
}

// TestReplicationKeyPair: the values come from the JS packages Hyperspace
// uses: derive-key 1.0.1 ('@hypercore-protocol/hyperspace', master,
// 'replication-keypair') and hypercore-protocol 8's keyPair(seed), run in
// testdata/jspeer (jspeer_test.go checks the same against a live peer).
func TestReplicationKeyPair(t *testing.T) {
	var master [32]byte
	for i := range master {
		master[i] = byte(0x40 + i)
	}
	seed := deriveSeed(master, replicationNamespace, replicationName)
	if got := hex.EncodeToString(seed[:]); got != "1f4f80baefc98eceae7d896b070dd1ba32b7531c036e13fc931bc8f861a04697" {
		t.Errorf("seed %s", got)
	}
	kp := ReplicationKeyPair(master)
	if got := hex.EncodeToString(kp.Secret[:]); got != "d3ab12c9379c9bd5357cea8ef7ecef194da6315f4f83bca73c9490507a843d31" {
		t.Errorf("secret %s", got)
	}
	if got := hex.EncodeToString(kp.Public[:]); got != "a547a35337e9f7afe21cb6876a65d07b25c4fee735d3e4c41706f6c4c0490b59" {
		t.Errorf("public %s", got)
	}
}

func TestGenerateKeyPair(t *testing.T) {
	a, err := GenerateKeyPair(nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := GenerateKeyPair(nil)
	if a == b || a.Public != publicKey(&a.Secret) {
		t.Errorf("key pairs %x %x", a.Public, b.Public)
	}
}

// TestCapability: crypto.json and handshake.json capabilities.
func TestCapability(t *testing.T) {
	var c struct {
		Capability struct {
			Key, SplitTx, SplitRx, Capability, RemoteCapability string
			RemoteCapabilityOfSwappedSplit                      string
		} `json:"capability"`
	}
	loadVector(t, "crypto.json", &c)
	v := c.Capability
	key, tx, rx := core.Key(key32(t, v.Key)), key32(t, v.SplitTx), key32(t, v.SplitRx)
	check := func(name string, got [32]byte, want string) {
		t.Helper()
		if hex.EncodeToString(got[:]) != want {
			t.Errorf("%s: %x, want %s", name, got, want)
		}
	}
	check("capability", capability(&rx, &tx, key), v.Capability)
	check("remote capability", capability(&tx, &rx, key), v.RemoteCapability)
	check("swapped split", capability(&rx, &tx, key), v.RemoteCapabilityOfSwappedSplit)

	var h handshakeVector
	loadVector(t, "handshake.json", &h)
	feed := core.Key(key32(t, h.FeedKey))
	itx, irx := key32(t, h.Initiator.SplitTxKey), key32(t, h.Initiator.SplitRxKey)
	check("initiator sends", capability(&irx, &itx, feed), h.Capabilities.InitiatorSends)
	check("initiator expects", capability(&itx, &irx, feed), h.Capabilities.InitiatorExpectsFromResponder)
	rtx, rrx := key32(t, h.Responder.SplitTxKey), key32(t, h.Responder.SplitRxKey)
	check("responder sends", capability(&rrx, &rtx, feed), h.Capabilities.ResponderSends)
	check("responder expects", capability(&rtx, &rrx, feed), h.Capabilities.ResponderExpectsFromInitiator)
}
