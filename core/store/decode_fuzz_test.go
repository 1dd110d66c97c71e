package store

import (
	"bytes"
	"errors"
	"testing"

	"github.com/hspd/hsp/core"
)

// The decoders of what the store reads back from disk: a damaged value is
// ErrCorrupt or a clean error, never a panic, and what decodes encodes back
// the same.

func FuzzDecodeRecord(f *testing.F) {
	f.Add(record{id: 3, origin: originNamed, name: []byte("notes")}.encode())
	f.Add(record{origin: originRemote}.encode())
	f.Add([]byte{})
	f.Add([]byte{0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, v []byte) {
		r, err := decodeRecord(v)
		if err != nil {
			return
		}
		again, err := decodeRecord(r.encode())
		if err != nil || !bytes.Equal(again.encode(), v) {
			t.Fatalf("record %+v does not survive encoding: %+v, %v", r, again, err)
		}
	})
}

func FuzzDecodeValues(f *testing.F) {
	f.Add(encodeHeader(core.Header{Length: 3, ByteLength: 99}))
	f.Add(make([]byte, nodeValueSize))
	f.Add(encodePage(&core.Page{}))
	f.Add([]byte{0x80, 0x80, 0x80})
	f.Fuzz(func(t *testing.T, v []byte) {
		if h, err := decodeHeader(v); err == nil && !bytes.Equal(encodeHeader(h), v) {
			t.Fatalf("header %+v re-encodes differently", h)
		} else if err != nil && !errors.Is(err, core.ErrCorrupt) {
			t.Fatalf("header: %v is not ErrCorrupt", err)
		}
		if n, err := decodeNode(7, v); err == nil {
			out := make([]byte, nodeValueSize)
			putNode(out, n)
			if !bytes.Equal(out, v) {
				t.Fatalf("node %+v re-encodes differently", n)
			}
		}
		key := make([]byte, coreKeyLen)
		if _, err := decodePage(key, v); err != nil && !errors.Is(err, core.ErrCorrupt) {
			t.Fatalf("page: %v is not ErrCorrupt", err)
		}
	})
}

func FuzzDecodeTopicConfig(f *testing.F) {
	k := topicKey(core.DiscoveryKey{7})
	f.Add(k, TopicConfig{Announce: true, Lookup: true}.encode())
	f.Add(k, TopicConfig{}.encode())
	f.Add(k[:5], []byte{1, 4})
	f.Fuzz(func(t *testing.T, k, v []byte) {
		c, err := decodeTopicConfig(k, v)
		if err != nil {
			if !errors.Is(err, core.ErrCorrupt) {
				t.Fatalf("not ErrCorrupt: %v", err)
			}
			return
		}
		if !bytes.Equal(c.encode(), v) || !bytes.Equal(topicKey(c.DiscoveryKey), k) {
			t.Fatalf("topic %+v re-encodes differently", c)
		}
	})
}
