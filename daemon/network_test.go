package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// TestNetworkStartsOnFirstNeed: a daemon used locally opens no port; the
// first connect starts the swarm on a random port, which the config file
// then remembers, so the next start listens on it at once.
func TestNetworkStartsOnFirstNeed(t *testing.T) {
	dir := t.TempDir()
	d := startDaemon(t, dir, Options{SwarmHost: "127.0.0.1"})
	c := dial(t, d)
	ctx := context.Background()
	if st, err := c.Status(ctx); err != nil || st.Network.Available || d.SwarmAddr() != nil {
		t.Fatalf("before any need: %+v, %v; listening on %v", st.Network, err, d.SwarmAddr())
	}
	if pl, err := c.Peers(ctx); err != nil || len(pl.Peers) != 0 {
		t.Fatalf("peers before the swarm starts: %+v, %v", pl, err)
	}
	dead := deadAddr(t)
	if _, err := c.Connect(ctx, dead); !errors.Is(err, rpc.ErrUnavailable) {
		t.Fatalf("connect to %s where nothing listens: %v, want ErrUnavailable", dead, err)
	}
	st, err := c.Status(ctx)
	if err != nil || !st.Network.Available || st.Network.Port == 0 || st.Network.Host != "127.0.0.1" {
		t.Fatalf("after a connect: %+v, %v", st.Network, err)
	}
	cfg, err := home.LoadConfig(d.Paths().Config)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cfg.Get("swarm-port"); v != strconv.Itoa(int(st.Network.Port)) {
		t.Fatalf("config swarm-port %q, want %d", v, st.Network.Port)
	}
	// Configure joins the topic; with no bootstrap the DHT node is a seed.
	dk := core.DiscoveryKey{1}
	if err := c.Configure(ctx, dk, rpc.ConfigureOptions{Announce: true}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	waitFor(t, "the announce round", func() bool {
		ts, err := c.TopicStatus(ctx, dk)
		return err == nil && ts.Announce && ts.Rounds > 0
	})
	if ts, _ := c.Topics(ctx); len(ts) != 1 || ts[0].DiscoveryKey != dk {
		t.Fatalf("topics: %+v", ts)
	}
	if err := c.Configure(ctx, dk, rpc.ConfigureOptions{}); err != nil {
		t.Fatalf("leave: %v", err)
	}
	if ts, _ := c.Topics(ctx); len(ts) != 0 {
		t.Fatalf("topics after leaving: %+v", ts)
	}
	c.Close()
	d.Close()

	port := int(st.Network.Port)
	d2 := startDaemon(t, dir, Options{SwarmHost: "127.0.0.1", SwarmPort: port})
	waitFor(t, "the remembered port to listen", func() bool { return d2.SwarmAddr() != nil })
	if got := d2.SwarmAddr().(*net.TCPAddr).Port; got != port {
		t.Fatalf("restarted on port %d, want %d", got, port)
	}
}

// deadAddr is a 127.0.0.1 address where nothing listens.
func deadAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// swarmDaemon starts a daemon whose swarm listens on 127.0.0.1 at once.
func swarmDaemon(t *testing.T) (*Daemon, *rpc.Client, string) {
	t.Helper()
	d := startDaemon(t, t.TempDir(), Options{SwarmHost: "127.0.0.1", SwarmPort: freePort(t)})
	waitFor(t, "the swarm to listen", func() bool { return d.SwarmAddr() != nil })
	return d, dial(t, d), d.SwarmAddr().String()
}

func freePort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func blockOf(i int) []byte {
	return []byte(fmt.Sprintf("block %d %s", i, bytes.Repeat([]byte{byte(i)}, i%300)))
}

// TestTwoDaemonsReplicate: B connects to A and downloads A's core to the
// length A announces; a Get on B of a block B lacks fetches it; A serves
// the core from its store although no client of A has it open; C then
// downloads it from B.
func TestTwoDaemonsReplicate(t *testing.T) {
	ctx := context.Background()
	_, ca, addrA := swarmDaemon(t)
	wa, err := ca.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 2000
	for i := 0; i < n; i += 100 {
		var blocks [][]byte
		for k := i; k < i+100; k++ {
			blocks = append(blocks, blockOf(k))
		}
		if _, err := wa.Append(ctx, blocks...); err != nil {
			t.Fatal(err)
		}
	}
	key := wa.Key()
	wa.Close() // A serves it from the store, by discovery key

	_, cb, addrB := swarmDaemon(t)
	rb, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := cb.Connect(ctx, addrA)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rb.Get(ctx, 1234, core.GetOptions{Timeout: 10 * time.Second}); err != nil || !bytes.Equal(got, blockOf(1234)) {
		t.Fatalf("get of a missing block: %q, %v", got, err)
	}
	dl, err := rb.DownloadRange(ctx, rpc.DownloadRange{ToPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := dl.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	p, err := dl.Progress(ctx)
	if err != nil || !p.Done || p.End != n || p.Have != n || p.Peers != 1 || p.DownloadedBlocks < n-1 {
		t.Fatalf("progress after the download: %+v, %v", p, err)
	}
	checkRemote(t, rb, n)
	pl, err := cb.Peers(ctx)
	if err != nil || len(pl.Peers) != 1 || !pl.Peers[0].Initiator || pl.Peers[0].DownloadedBytes == 0 ||
		len(pl.Peers[0].DiscoveryKeys) != 1 || pl.Peers[0].DiscoveryKeys[0] != key.DiscoveryKey() {
		t.Fatalf("B's peers: %+v, %v", pl, err)
	}
	if err := conn.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B's connection to close", func() bool {
		pl, err := cb.Peers(ctx)
		return err == nil && len(pl.Peers) == 0
	})

	_, cc, _ := swarmDaemon(t)
	rc, err := cc.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Connect(ctx, addrB); err != nil {
		t.Fatal(err)
	}
	dl, err = rc.DownloadRange(ctx, rpc.DownloadRange{ToPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := dl.Wait(wctx); err != nil {
		t.Fatal(err)
	}
	checkRemote(t, rc, n)
}

func checkRemote(t *testing.T, rc *rpc.RemoteCore, n int) {
	t.Helper()
	ctx := context.Background()
	if info, err := rc.Info(ctx); err != nil || info.Length != uint64(n) {
		t.Fatalf("info %+v, %v; want length %d", info, err, n)
	}
	for i := 0; i < n; i++ {
		got, err := rc.Get(ctx, uint64(i), core.GetOptions{NoWait: true})
		if err != nil || !bytes.Equal(got, blockOf(i)) {
			t.Fatalf("block %d: %q, %v", i, got, err)
		}
	}
}

// TestPeerWithoutTheCore: a peer that lacks the core is counted as a
// refusal, and a download to the peers' length never resolves from it.
func TestPeerWithoutTheCore(t *testing.T) {
	ctx := context.Background()
	_, _, addrA := swarmDaemon(t)
	_, cb, _ := swarmDaemon(t)
	key := core.KeyPairFromSeed(make([]byte, 32)).PublicKey
	rb, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Connect(ctx, addrA); err != nil {
		t.Fatal(err)
	}
	dl, err := rb.DownloadRange(ctx, rpc.DownloadRange{ToPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a refusal", func() bool {
		p, err := dl.Progress(ctx)
		return err == nil && p.Refused == 1 && p.Connections == 1 && p.Peers == 0 && !p.Done
	})
}

// eventCounter counts a RemoteCore's events by type.
type eventCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (e *eventCounter) on(ev rpc.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.n[ev.Type]++
}

func (e *eventCounter) get(typ string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.n[typ]
}

// TestReplicationEvents: a client subscribed to a core hears peer-add,
// a download event per block fetched (on B) or an upload event per block
// sent (on A), and peer-remove when the peer goes.
func TestReplicationEvents(t *testing.T) {
	ctx := context.Background()
	_, ca, addrA := swarmDaemon(t)
	wa, err := ca.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := 0; i < n; i++ {
		if _, err := wa.Append(ctx, blockOf(i)); err != nil {
			t.Fatal(err)
		}
	}
	up := &eventCounter{n: map[string]int{}}
	wa.OnEvent(up.on)
	key := wa.Key()
	_, cb, _ := swarmDaemon(t)
	rb, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	down := &eventCounter{n: map[string]int{}}
	rb.OnEvent(down.on)
	time.Sleep(50 * time.Millisecond) // the subscriptions are up
	conn, err := cb.Connect(ctx, addrA)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := rb.DownloadRange(ctx, rpc.DownloadRange{ToPeers: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := dl.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "download and upload events", func() bool {
		return down.get("download") == n && up.get("upload") == n && down.get("peer-add") == 1 && up.get("peer-add") == 1
	})
	conn.Close(ctx)
	waitFor(t, "peer-remove events", func() bool { return down.get("peer-remove") == 1 && up.get("peer-remove") == 1 })
}

// TestExtensionsBetweenDaemons: an extension registered through the RPC
// on both daemons carries messages both ways, to every peer or one.
func TestExtensionsBetweenDaemons(t *testing.T) {
	ctx := context.Background()
	_, ca, addrA := swarmDaemon(t)
	wa, err := ca.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	wa.Append(ctx, []byte("x"))
	key := wa.Key()
	_, cb, _ := swarmDaemon(t)
	rb, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	atA, atB := make(chan string, 4), make(chan string, 4)
	var fromB core.Key
	var mu sync.Mutex
	xa, err := wa.RegisterExtension(ctx, "chat", func(peer core.Key, data []byte) {
		mu.Lock()
		fromB = peer
		mu.Unlock()
		atA <- string(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	xb, err := rb.RegisterExtension(ctx, "chat", func(peer core.Key, data []byte) { atB <- string(data) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cb.Connect(ctx, addrA); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "B's extension to reach A", func() bool {
		n, err := xb.Send(ctx, []byte("hello A"), nil)
		return err == nil && n == 1 && len(atA) > 0
	})
	if got := <-atA; got != "hello A" {
		t.Fatalf("A got %q", got)
	}
	mu.Lock()
	peer := fromB
	mu.Unlock()
	if n, err := xa.Send(ctx, []byte("hello B"), &peer); err != nil || n != 1 {
		t.Fatalf("A's send to B by key: %d, %v", n, err)
	}
	select {
	case got := <-atB:
		if got != "hello B" {
			t.Fatalf("B got %q", got)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("B got nothing")
	}
}

// TestSwarmPortInUse: a swarm port another program holds leaves the
// daemon serving locally; status says why the network is unavailable and
// a connect fails with ErrNetworkUnavailable, not as a peer's fault.
func TestSwarmPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	d := startDaemon(t, t.TempDir(), Options{SwarmHost: "127.0.0.1", SwarmPort: l.Addr().(*net.TCPAddr).Port})
	c := dial(t, d)
	ctx := context.Background()
	waitFor(t, "the failed start", func() bool {
		st, err := c.Status(ctx)
		return err == nil && st.Network.Error != ""
	})
	if _, err := c.Connect(ctx, deadAddr(t)); !errors.Is(err, rpc.ErrNetworkUnavailable) {
		t.Fatalf("connect: %v, want ErrNetworkUnavailable", err)
	}
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Append(ctx, []byte("still works")); err != nil {
		t.Fatal(err)
	}
}

// TestPeersKeepACoreLoaded: a core that peers replicate stays loaded
// after its last client lets go, and unloads once the peers go too.
func TestPeersKeepACoreLoaded(t *testing.T) {
	ctx := context.Background()
	da := startDaemon(t, t.TempDir(), Options{SwarmHost: "127.0.0.1", SwarmPort: freePort(t), IdleTimeout: 50 * time.Millisecond})
	waitFor(t, "A's swarm", func() bool { return da.SwarmAddr() != nil })
	ca := dial(t, da)
	wa, err := ca.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	wa.Append(ctx, []byte("a"), []byte("b"))
	wa.OnEvent(func(rpc.Event) {}) // the core joins the replicator
	key := wa.Key()
	_, cb, _ := swarmDaemon(t)
	rb, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := cb.Connect(ctx, da.SwarmAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rb.Get(ctx, 1, core.GetOptions{Timeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	wa.Close()
	time.Sleep(300 * time.Millisecond) // six idle timeouts
	if n := loaded(t, ca); n != 1 {
		t.Fatalf("%d cores loaded on A while B replicates its core, want 1", n)
	}
	conn.Close(ctx)
	waitFor(t, "A to unload the core", func() bool { return loaded(t, ca) == 0 })
}
