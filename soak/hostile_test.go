package soak

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	capnp "capnproto.org/go/capnp/v3"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// A hostile client: one attack, repeated until ctx ends.
type attack struct {
	name string
	run  func(ctx context.Context, socket string)
}

func attacks() []attack {
	return []attack{
		{"garbage", garbage},
		{"connection flood", connFlood},
		{"bootstrap flood", bootstrapFlood},
		{"self-call", selfCall},
		{"never reads", neverReads},
	}
}

// garbage sends random bytes on fresh connections.
func garbage(ctx context.Context, socket string) {
	rng := rand.New(rand.NewPCG(1, 2))
	for ctx.Err() == nil {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			pause(ctx)
			continue
		}
		b := make([]byte, 1+rng.IntN(8192))
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		conn.SetDeadline(time.Now().Add(time.Second))
		conn.Write(b)
		conn.Close()
	}
}

// connFlood opens a hundred silent connections, holds them, lets them go.
func connFlood(ctx context.Context, socket string) {
	for ctx.Err() == nil {
		var conns []net.Conn
		for range 100 {
			if c, err := net.Dial("unix", socket); err == nil {
				conns = append(conns, c)
			}
		}
		pause(ctx)
		for _, c := range conns {
			c.Close()
		}
	}
}

// bootstrapFlood asks for the bootstrap capability again and again and
// never finishes a question.
func bootstrapFlood(ctx context.Context, socket string) {
	for ctx.Err() == nil {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			pause(ctx)
			continue
		}
		enc := capnp.NewEncoder(conn)
		conn.SetDeadline(time.Now().Add(2 * time.Second))
		for q := uint32(0); q < 100000 && ctx.Err() == nil; q++ {
			if enc.Encode(rawMessage(func(m rpccp.Message) { b, _ := m.NewBootstrap(); b.SetQuestionId(q) })) != nil {
				break
			}
		}
		conn.Close()
	}
}

// selfCall sends the message that crashed capnp-go: a Call whose target is
// the promised answer of its own question.
func selfCall(ctx context.Context, socket string) {
	for ctx.Err() == nil {
		conn, err := net.Dial("unix", socket)
		if err != nil {
			pause(ctx)
			continue
		}
		conn.SetDeadline(time.Now().Add(time.Second))
		capnp.NewEncoder(conn).Encode(rawMessage(func(m rpccp.Message) {
			call, _ := m.NewCall()
			call.SetQuestionId(7)
			call.SetInterfaceId(0xdeadbeef)
			target, _ := call.NewTarget()
			pa, _ := target.NewPromisedAnswer()
			pa.SetQuestionId(7)
			call.NewParams()
		}))
		buf := make([]byte, 64)
		conn.Read(buf)
		conn.Close()
	}
}

// neverReads asks for a 1 MiB block again and again, reading nothing,
// until the daemon drops it.
func neverReads(ctx context.Context, socket string) {
	for ctx.Err() == nil {
		raw, err := net.Dial("unix", socket)
		if err != nil {
			pause(ctx)
			continue
		}
		conn := &stallConn{Conn: raw, stall: make(chan struct{}), done: make(chan struct{})}
		c, err := rpc.NewClient(ctx, conn)
		if err != nil {
			conn.Close()
			pause(ctx)
			continue
		}
		stallAndFlood(ctx, c, conn)
		conn.Close()
		c.Close()
	}
}

func stallAndFlood(ctx context.Context, c *rpc.Client, conn *stallConn) {
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		return
	}
	if _, err := rc.Append(ctx, make([]byte, 1<<20)); err != nil {
		return
	}
	close(conn.stall)
	for range 200 {
		go rc.Get(ctx, 0, core.GetOptions{})
	}
	select {
	case <-c.Done():
	case <-ctx.Done():
	case <-time.After(30 * time.Second):
	}
}

// stallConn stops reading when told.
type stallConn struct {
	net.Conn
	once  sync.Once
	stall chan struct{}
	done  chan struct{}
}

func (c *stallConn) Read(b []byte) (int, error) {
	select {
	case <-c.stall:
		<-c.done
		return 0, net.ErrClosed
	default:
	}
	return c.Conn.Read(b)
}

func (c *stallConn) Close() error {
	c.once.Do(func() { close(c.done) })
	return c.Conn.Close()
}

func rawMessage(build func(rpccp.Message)) *capnp.Message {
	msg, seg, _ := capnp.NewMessage(capnp.SingleSegment(nil))
	m, _ := rpccp.NewRootMessage(seg)
	build(m)
	return msg
}

func pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(200 * time.Millisecond):
	}
}
