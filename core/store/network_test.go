package store

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"

	"github.com/hspd/hsp/core"
)

// TestTopicConfigsAndSeeds: remembered topics and seeds survive a reopen,
// forgetting deletes them, and deleting a core deletes its own.
func TestTopicConfigsAndSeeds(t *testing.T) {
	ctx := context.Background()
	fs := vfs.NewMem()
	s := openStore(t, fs, "db", Options{})
	a, b := openNamed(t, s, "a"), openNamed(t, s, "b")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.PutTopicConfig(ctx, TopicConfig{DiscoveryKey: a.DiscoveryKey(), Announce: true, Lookup: true}))
	must(s.PutTopicConfig(ctx, TopicConfig{DiscoveryKey: b.DiscoveryKey(), Lookup: true}))
	must(s.PutTopicConfig(ctx, TopicConfig{DiscoveryKey: b.DiscoveryKey(), Announce: true})) // replaces
	must(s.PutSeed(ctx, a.Key()))
	must(s.PutSeed(ctx, b.Key()))
	must(s.DeleteSeed(ctx, b.Key()))
	must(s.DeleteTopicConfig(ctx, core.DiscoveryKey{9})) // none: no error
	a.Close()
	b.Close()
	s.Close()

	s = openStore(t, fs, "db", Options{})
	tcs, err := s.TopicConfigs(ctx)
	must(err)
	want := map[core.DiscoveryKey]TopicConfig{
		a.DiscoveryKey(): {DiscoveryKey: a.DiscoveryKey(), Announce: true, Lookup: true},
		b.DiscoveryKey(): {DiscoveryKey: b.DiscoveryKey(), Announce: true},
	}
	if len(tcs) != 2 || tcs[0] != want[tcs[0].DiscoveryKey] || tcs[1] != want[tcs[1].DiscoveryKey] {
		t.Fatalf("topics after reopen: %+v", tcs)
	}
	seeds, err := s.Seeds(ctx)
	must(err)
	if len(seeds) != 1 || seeds[0] != a.Key() {
		t.Fatalf("seeds after reopen: %v, want only a", seeds)
	}

	must(s.Delete(ctx, a.Key()))
	tcs, err = s.TopicConfigs(ctx)
	must(err)
	seeds, _ = s.Seeds(ctx)
	if len(tcs) != 1 || tcs[0].DiscoveryKey != b.DiscoveryKey() || len(seeds) != 0 {
		t.Fatalf("after deleting a: topics %+v, seeds %v", tcs, seeds)
	}

	corruptValue(t, s, topicKey(b.DiscoveryKey()), func(v []byte) []byte { return append(v, 0) })
	_, err = s.TopicConfigs(ctx)
	mustErrIs(t, err, core.ErrCorrupt, "a damaged topic configuration")
}
