package store

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hspd/hsp/core"
)

func flipByte(i int) func([]byte) []byte {
	return func(v []byte) []byte {
		v[i%len(v)] ^= 0x20
		return v
	}
}

func truncate(v []byte) []byte { return v[:len(v)-1] }

// badRLE replaces a page with an encoding whose literal runs past its end.
func badRLE([]byte) []byte { return []byte{0x10, 0xff} }

// TestTamperAuditFails changes one stored value behind the core's back, as
// a bad disk would, and expects Audit to report core.ErrCorrupt.
func TestTamperAuditFails(t *testing.T) {
	cases := []struct {
		name  string
		kind  byte
		index uint64
		edit  func([]byte) []byte
	}{
		{"block byte", kindBlock, 3, flipByte(17)},
		{"block truncated", kindBlock, 0, truncate},
		{"leaf hash", kindNode, 4, flipByte(5)},
		{"parent hash", kindNode, 3, flipByte(0)},
		{"node size", kindNode, 1, flipByte(39)},
		{"node truncated", kindNode, 6, truncate},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
			h := openNamed(t, s, "t")
			if _, err := h.Append(ctx, blocksFrom("t", 0, 8)...); err != nil {
				t.Fatal(err)
			}
			if _, err := h.Audit(ctx); err != nil {
				t.Fatalf("audit before tampering: %v", err)
			}
			corruptValue(t, s, storedKey(t, s, h.Key(), tc.kind, tc.index), tc.edit)
			_, err := h.Audit(ctx)
			mustErrIs(t, err, core.ErrCorrupt, "audit after tampering with "+tc.name)
		})
	}
}

// TestTamperOpenFails corrupts what Open checks: the newest signature and
// the header; the core must refuse to open rather than serve bad data.
func TestTamperOpenFails(t *testing.T) {
	cases := []struct {
		name string
		key  func(t *testing.T, s *Store, k core.Key) []byte
		edit func([]byte) []byte
	}{
		{"signature", func(t *testing.T, s *Store, k core.Key) []byte { return storedKey(t, s, k, kindSignature, 5) }, flipByte(9)},
		{"header length", func(t *testing.T, s *Store, k core.Key) []byte { return headerKeyOf(t, s, k) }, flipByte(7)},
		{"header truncated", func(t *testing.T, s *Store, k core.Key) []byte { return headerKeyOf(t, s, k) }, truncate},
		{"root node", func(t *testing.T, s *Store, k core.Key) []byte { return storedKey(t, s, k, kindNode, 3) }, flipByte(1)},
		{"bitfield page", func(t *testing.T, s *Store, k core.Key) []byte { return storedKey(t, s, k, kindTreePage, 0) }, badRLE},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, ctx := openStore(t, vfs.NewMem(), "db", Options{}), context.Background()
			h := openNamed(t, s, "t")
			if _, err := h.Append(ctx, blocksFrom("t", 0, 5)...); err != nil {
				t.Fatal(err)
			}
			h.Close()
			corruptValue(t, s, tc.key(t, s, h.Key()), tc.edit)
			_, err := s.OpenNamed(ctx, "t")
			mustErrIs(t, err, core.ErrCorrupt, "open after tampering with the "+tc.name)
		})
	}
}

func headerKeyOf(t *testing.T, s *Store, k core.Key) []byte {
	rec, err := s.lookup(k)
	if err != nil {
		t.Fatal(err)
	}
	return headerKey(rec.id)
}
