package daemon

import (
	"context"
	"errors"
	"testing"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// TestOffline: a daemon without a swarm answers every network call with
// ErrNetworkUnavailable, an extension reaches no peer, and a download
// completes when its blocks are appended.
func TestOffline(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{})
	c := dial(t, d)
	ctx := context.Background()
	unavailable := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, rpc.ErrNetworkUnavailable) {
			t.Errorf("%s: %v, want ErrNetworkUnavailable", what, err)
		}
	}
	unavailable("configure", c.Configure(ctx, core.DiscoveryKey{1}, rpc.ConfigureOptions{Announce: true}))
	_, err := c.TopicStatus(ctx, core.DiscoveryKey{1})
	unavailable("topic status", err)
	_, err = c.Topics(ctx)
	unavailable("topics", err)
	_, err = c.Peers(ctx)
	unavailable("peers", err)
	_, err = c.Connect(ctx, "127.0.0.1:9")
	unavailable("connect", err)
	if st, err := c.Status(ctx); err != nil || st.Network.Available {
		t.Fatalf("status: %+v, %v", st.Network, err)
	}

	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	x, err := rc.RegisterExtension(ctx, "x", func(core.Key, []byte) {})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := x.Send(ctx, []byte("hi"), nil); err != nil || n != 0 {
		t.Fatalf("extension send offline: %d, %v", n, err)
	}
	dl, err := rc.Download(ctx, 0, 3, false)
	if err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { waited <- dl.Wait(ctx) }()
	rc.Append(ctx, []byte("a"), []byte("b"), []byte("c"))
	if err := <-waited; err != nil {
		t.Fatalf("download completed by appends: %v", err)
	}
}
