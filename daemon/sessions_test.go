package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// TestConfigureSessions: two clients configure one key differently; the
// daemon joins it for the OR of both; when both are gone the remembered
// configuration stays, or with none, nothing; the remembered one is
// joined again at the next start, and a leave forgets it for good.
func TestConfigureSessions(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := startDaemon(t, dir, Options{SwarmHost: "127.0.0.1"})
	c1, c2 := dial(t, d), dial(t, d)
	kept, gone := core.DiscoveryKey{1}, core.DiscoveryKey{2}
	topic := func(c *rpc.Client, dk core.DiscoveryKey) rpc.TopicStatus {
		t.Helper()
		ts, err := c.TopicStatus(ctx, dk)
		if err != nil {
			t.Fatal(err)
		}
		return rpc.TopicStatus{DiscoveryKey: ts.DiscoveryKey, Announce: ts.Announce, Lookup: ts.Lookup, Remember: ts.Remember}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c1.Configure(ctx, kept, rpc.ConfigureOptions{Lookup: true, Remember: true}))
	must(c2.Configure(ctx, kept, rpc.ConfigureOptions{Announce: true}))
	must(c1.Configure(ctx, gone, rpc.ConfigureOptions{Announce: true}))
	must(c2.Configure(ctx, gone, rpc.ConfigureOptions{Lookup: true, Flush: true}))
	if ts := topic(c1, kept); ts != (rpc.TopicStatus{DiscoveryKey: kept, Announce: true, Lookup: true, Remember: true}) {
		t.Fatalf("kept with both sessions: %+v, want the OR, remembered", ts)
	}
	if ts := topic(c1, gone); ts != (rpc.TopicStatus{DiscoveryKey: gone, Announce: true, Lookup: true}) {
		t.Fatalf("gone with both sessions: %+v, want the OR", ts)
	}
	c2.Close()
	waitFor(t, "c2's flags to go", func() bool {
		return topic(c1, kept) == rpc.TopicStatus{DiscoveryKey: kept, Lookup: true, Remember: true} &&
			topic(c1, gone) == rpc.TopicStatus{DiscoveryKey: gone, Announce: true}
	})
	c1.Close()
	c3 := dial(t, d)
	waitFor(t, "c1's flags to go", func() bool {
		ts, err := c3.Topics(ctx)
		return err == nil && len(ts) == 1 && ts[0].DiscoveryKey == kept && ts[0].Lookup && !ts[0].Announce
	})
	c3.Close()
	d.Close()

	d = startDaemon(t, dir, Options{SwarmHost: "127.0.0.1"})
	c4 := dial(t, d)
	waitFor(t, "the remembered topic to be joined at start", func() bool {
		ts, err := c4.Topics(ctx)
		return err == nil && len(ts) == 1 && ts[0].DiscoveryKey == kept && ts[0].Lookup && ts[0].Remember
	})
	must(c4.Configure(ctx, kept, rpc.ConfigureOptions{})) // a leave forgets
	if ts, _ := c4.Topics(ctx); len(ts) != 0 {
		t.Fatalf("topics after the leave: %+v", ts)
	}
	c4.Close()
	d.Close()
	d = startDaemon(t, dir, Options{SwarmHost: "127.0.0.1"})
	c5 := dial(t, d)
	if st, err := c5.Status(ctx); err != nil || st.Network.Available || len(st.Network.Joined) != 0 {
		t.Fatalf("after the forget, the next start: %+v, %v (nothing to rejoin: no network)", st.Network, err)
	}
}

// TestServeAnnounced: with ServeAnnounced, a stored core a peer asks for
// is refused until the daemon announces it, then served.
func TestServeAnnounced(t *testing.T) {
	ctx := context.Background()
	a := startDaemon(t, t.TempDir(), Options{SwarmHost: "127.0.0.1", SwarmPort: freePort(t), ServeAnnounced: true})
	waitFor(t, "the swarm to listen", func() bool { return a.SwarmAddr() != nil })
	ca := dial(t, a)
	wa, err := ca.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 50 {
		if _, err := wa.Append(ctx, blockOf(i)); err != nil {
			t.Fatal(err)
		}
	}
	key := wa.Key()
	wa.Close() // served from the store, by discovery key

	_, cb, _ := swarmDaemon(t)
	rb, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := cb.Connect(ctx, a.SwarmAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	dl, err := rb.DownloadRange(ctx, rpc.DownloadRange{ToPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "A's refusal of a core it does not announce", func() bool {
		p, err := dl.Progress(ctx)
		return err == nil && p.Refused == 1 && p.Peers == 0
	})
	dl.Cancel(ctx)
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}

	if err := ca.Configure(ctx, key.DiscoveryKey(), rpc.ConfigureOptions{Announce: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Connect(ctx, a.SwarmAddr().String()); err != nil {
		t.Fatal(err)
	}
	dl, err = rb.DownloadRange(ctx, rpc.DownloadRange{ToPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := dl.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	checkRemote(t, rb, 50)
}
