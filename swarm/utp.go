//go:build cgo

package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	utp "github.com/anacrolix/go-libutp"
	alog "github.com/anacrolix/log"
)

// utpAvailable: this build runs uTP (libutp, the C library JS's
// utp-native wraps) on the port's UDP socket.
const utpAvailable = true

// udpSocket is the port's UDP socket under a libutp socket: uTP packets go
// to libutp, which accepts and dials on it; every other datagram (the
// DHT's) comes out of readFrom, and writeTo sends from the same socket, so
// DHT requests, holepunches and uTP share one source address.
type udpSocket struct {
	s      *utp.Socket
	closed atomic.Bool // set by close, to tell our close from libutp's

	mu        sync.Mutex // guards conns and lastClose
	conns     map[*utpConn]struct{}
	lastClose time.Time // of a connection, whose FIN may be on its way
}

// utpConn is a uTP connection of the socket, which close ends first.
type utpConn struct {
	net.Conn
	u *udpSocket
}

func (c *utpConn) Close() error {
	c.u.mu.Lock()
	delete(c.u.conns, c)
	c.u.lastClose = time.Now()
	c.u.mu.Unlock()
	return c.Conn.Close()
}

// track registers c, to be closed before the socket; after close it
// closes c at once.
func (u *udpSocket) track(c net.Conn) net.Conn {
	uc := &utpConn{Conn: c, u: u}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.conns == nil {
		c.Close()
		return uc
	}
	u.conns[uc] = struct{}{}
	return uc
}

// newUDPSocket runs libutp on conn. first, when set, gets every datagram
// before libutp does and keeps those it returns true for (stun_utp.go).
func newUDPSocket(conn *net.UDPConn, first func([]byte, netip.AddrPort) bool, log *slog.Logger) (*udpSocket, error) {
	var pc net.PacketConn = conn
	if first != nil {
		pc = stunFirstConn{conn, first}
	}
	s, err := utp.NewSocketFromPacketConn(pc, utp.WithLogger(utpLogger(log)))
	if err != nil {
		return nil, fmt.Errorf("utp on %s: %w", conn.LocalAddr(), err)
	}
	return &udpSocket{s: s, conns: map[*utpConn]struct{}{}}, nil
}

// readFrom returns the next datagram that is not uTP. libutp queues up to
// 100 of them and drops the rest, so the caller must not dawdle. It fails
// with net.ErrClosed after close, and with errUDPLost if libutp closed the
// socket by itself (after 100 read errors in a row).
func (u *udpSocket) readFrom(b []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := u.s.ReadFrom(b)
		if err != nil {
			if u.closed.Load() {
				return 0, netip.AddrPort{}, net.ErrClosed
			}
			return 0, netip.AddrPort{}, errUDPLost
		}
		if a, ok := addrPort(from); ok {
			return n, a, nil
		}
	}
}

func (u *udpSocket) writeTo(b []byte, to netip.AddrPort) error {
	_, err := u.s.WriteTo(b, net.UDPAddrFromAddrPort(to))
	return err
}

// accept waits for the next incoming uTP connection; it fails once the
// socket is closed. libutp holds at most 5 connections not yet accepted
// and closes the ones past that.
func (u *udpSocket) accept() (net.Conn, error) {
	c, err := u.s.Accept()
	if err != nil {
		return nil, net.ErrClosed
	}
	return u.track(c), nil
}

// dial opens a uTP connection to addr from the socket, until ctx ends.
func (u *udpSocket) dial(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	c, err := u.s.DialContext(ctx, "udp4", addr.String())
	switch {
	case err == nil:
		return u.track(c), nil
	case ctx.Err() != nil:
		return nil, context.Cause(ctx)
	case u.closed.Load():
		return nil, ErrClosed
	}
	return nil, err
}

// close closes every uTP connection still open on the socket, lingers
// for their FINs, then closes the socket and the UDPConn under it.
// (Destroying the socket at once would drop the FINs: libutp holds a FIN
// back, as Nagle, until the packet before it is acknowledged, and the
// remote would wait for its stream's timeout.)
func (u *udpSocket) close() {
	u.closed.Store(true)
	u.mu.Lock()
	conns, last := u.conns, u.lastClose
	u.conns = nil
	u.mu.Unlock()
	for c := range conns {
		c.Conn.Close()
		last = time.Now()
	}
	time.Sleep(utpLinger - time.Since(last)) // none if no connection closed lately
	u.s.Close()
}

// utpLinger is how long close waits for the last FINs to go out.
const utpLinger = 200 * time.Millisecond

// addrPort converts a datagram's source to a netip address.
func addrPort(a net.Addr) (netip.AddrPort, bool) {
	if u, ok := a.(*net.UDPAddr); ok {
		return u.AddrPort(), true
	}
	if a == nil {
		return netip.AddrPort{}, false
	}
	ap, err := netip.ParseAddrPort(a.String())
	return ap, err == nil
}

// utpLogger sends go-libutp's lines to log at debug.
func utpLogger(log *slog.Logger) alog.Logger {
	l := alog.Default.WithDefaultLevel(alog.Debug).FilterLevel(alog.Debug)
	l.Handlers = []alog.Handler{utpLogHandler{log}}
	return l
}

type utpLogHandler struct{ log *slog.Logger }

func (h utpLogHandler) Handle(r alog.Record) {
	h.log.Debug(r.Text(), "from", "go-libutp")
}

// errUDPLost: libutp closed the socket by itself.
var errUDPLost = errors.New("utp socket closed after repeated read errors")
