//go:build !cgo

package swarm

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"sync"
)

// utpAvailable: without cgo there is no libutp; the swarm is TCP only and
// the port's UDP socket carries the DHT alone.
const utpAvailable = false

// errNoUTP is the uTP side of a build without cgo.
var errNoUTP = errors.New("utp not in this build (built without cgo)")

// udpSocket is the port's UDP socket, read and written as it is.
type udpSocket struct {
	conn   *net.UDPConn
	closed chan struct{}
	once   sync.Once
}

// newUDPSocket wraps conn. It needs no first hook (see the cgo one):
// readFrom returns every datagram, STUN ones included.
func newUDPSocket(conn *net.UDPConn, _ func([]byte, netip.AddrPort) bool, _ *slog.Logger) (*udpSocket, error) {
	return &udpSocket{conn: conn, closed: make(chan struct{})}, nil
}

// readFrom returns the next datagram; it fails with net.ErrClosed after
// close. ICMP errors surfacing as read errors are skipped.
func (u *udpSocket) readFrom(b []byte) (int, netip.AddrPort, error) {
	for {
		n, from, err := u.conn.ReadFromUDPAddrPort(b)
		if err == nil {
			return n, from, nil
		}
		if errors.Is(err, net.ErrClosed) {
			return 0, netip.AddrPort{}, net.ErrClosed
		}
	}
}

func (u *udpSocket) writeTo(b []byte, to netip.AddrPort) error {
	_, err := u.conn.WriteToUDPAddrPort(b, to)
	return err
}

// accept has nothing to accept: it waits for close.
func (u *udpSocket) accept() (net.Conn, error) {
	<-u.closed
	return nil, net.ErrClosed
}

func (u *udpSocket) dial(context.Context, netip.AddrPort) (net.Conn, error) {
	return nil, errNoUTP
}

func (u *udpSocket) close() {
	u.once.Do(func() {
		close(u.closed)
		u.conn.Close()
	})
}
