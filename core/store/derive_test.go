package store

import (
	"encoding/hex"
	"testing"
)

// corestoreVectors were made by JS corestore 5.8.2 (derive-key 1.0.1,
// hypercore-crypto 2.3.2): new Corestore(RAM, {masterKey}).get({name}) for
// the master key 00 01 … 1f, printing core.key and core.secretKey.
var corestoreVectors = []struct{ name, publicKey, secretSeed string }{
	{"default", "ce2a1c6efc95d1d33e5e2ee9ac00a1f06aa905f957bfd31988c6d30d793b3798", "6253d8bf474b16fe5ce347e1b71610dd4310b982ebd7198151d2c82741c9b312"},
	{"hello", "1c98e0243060339364a91ec10c642c9b11284d4b1684d8febcb7bb79d6fe38a2", "f9a260e5d87b3c00e84f9936fd2041e4b033b0517ce677edd225107539d1b02c"},
	{"a:b", "91c0c69a57b9b308446838a46d465dcb5d315ca3b808e5051d290ce3c13731ea", "bd6b6437282513957c4e1030bb0ca6e6074f3a47bf43c61300ea159d780d78c5"},
	{hexName("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"), "cd0b94edb978797fd1ccbfd97dbff8a7a60c6f066e94b5f2c9f1d12f97688f08", "59b8f47b6785fc33fb315ce3befb225f351b1314adb8c189b2105534e2db93ff"},
}

func hexName(s string) string {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestDeriveKeyPairMatchesCorestore5(t *testing.T) {
	master := make([]byte, MasterKeySize)
	for i := range master {
		master[i] = byte(i)
	}
	for _, v := range corestoreVectors {
		kp, err := DeriveKeyPair(master, []byte(v.name))
		if err != nil {
			t.Fatal(err)
		}
		if got := kp.PublicKey.String(); got != v.publicKey {
			t.Errorf("name %x: public key %s, want %s", v.name, got, v.publicKey)
		}
		if got := hex.EncodeToString(kp.SecretKey[:32]); got != v.secretSeed {
			t.Errorf("name %x: secret seed %s, want %s", v.name, got, v.secretSeed)
		}
	}
}
