package rpc

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"sync"
	"testing"

	"github.com/hspd/hsp/core"
)

// memBackend is a Backend over in-memory cores, for the RPC tests.
type memBackend struct {
	net      *memNetwork
	mu       sync.Mutex
	cores    map[core.Key]*memEntry
	names    map[string]core.Key
	stopped  chan struct{}
	releases int
}

type memEntry struct {
	c    *core.Hypercore
	name string
	refs int
}

// newMemBackend has no network, as a daemon before the swarm starts.
func newMemBackend() *memBackend {
	b := newNetBackend()
	b.net.offline = true
	return b
}

// newNetBackend has memNetwork's one echoing peer.
func newNetBackend() *memBackend {
	return &memBackend{cores: map[core.Key]*memEntry{}, names: map[string]core.Key{}, stopped: make(chan struct{}),
		net: &memNetwork{topics: map[core.DiscoveryKey]TopicStatus{}, exts: map[string][]func(core.Key, []byte){}}}
}

func (b *memBackend) Network() Network     { return b.net }
func (b *memBackend) network() *memNetwork { return b.net }

func (b *memBackend) Status(ctx context.Context) (Status, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return Status{Version: Version, Home: "/mem", CoresStored: uint64(len(b.cores)), CoresLoaded: uint64(len(b.cores))}, nil
}

func (b *memBackend) Stop(ctx context.Context) error {
	close(b.stopped)
	return nil
}

func (b *memBackend) Open(ctx context.Context, req OpenRequest) (Handle, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var key core.Key
	switch {
	case req.Key != nil:
		key = *req.Key
		if b.cores[key] == nil {
			return Handle{}, fmt.Errorf("open %s: %w", key, ErrNotFound)
		}
	case req.Name != "" && b.names[req.Name] != core.Key{}:
		key = b.names[req.Name]
	default:
		kp, err := core.GenerateKeyPair(rand.Reader)
		if err != nil {
			return Handle{}, err
		}
		c, err := core.Open(ctx, core.NewMemoryStorage(), kp)
		if err != nil {
			return Handle{}, err
		}
		key = kp.PublicKey
		b.cores[key] = &memEntry{c: c, name: req.Name}
		if req.Name != "" {
			b.names[req.Name] = key
		}
	}
	e := b.cores[key]
	e.refs++
	return Handle{Core: &memCore{Hypercore: e.c, net: b.network()}, Name: e.name, Release: func() {
		b.mu.Lock()
		defer b.mu.Unlock()
		e.refs--
		b.releases++
	}}, nil
}

func (b *memBackend) List(ctx context.Context) ([]CoreInfo, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []CoreInfo
	for _, e := range b.cores {
		info, err := e.c.Info(ctx)
		if err != nil {
			return nil, err
		}
		ci := infoOf(info, e.name, nil)
		ci.Loaded = e.refs > 0
		out = append(out, ci)
	}
	return out, nil
}

func (b *memBackend) Delete(ctx context.Context, key core.Key) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.cores[key]
	if e == nil {
		return fmt.Errorf("delete %s: %w", key, ErrNotFound)
	}
	delete(b.cores, key)
	return e.c.Close()
}

func (b *memBackend) refs() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	n := 0
	for _, e := range b.cores {
		n += e.refs
	}
	return n
}

// pipeClient serves b over one end of a net.Pipe and dials the other.
func pipeClient(t *testing.T, srv *Server) *Client {
	t.Helper()
	a, z := net.Pipe()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { srv.ServeConn(ctx, a); close(done) }()
	c, err := NewClient(ctx, z)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		c.Close()
		cancel()
		<-done
	})
	return c
}
