//go:build cgo

package swarm

import (
	"net"
	"net/netip"
)

// stunFirstConn is the UDP socket as libutp reads it while STUN is on:
// take gets each datagram first and keeps the STUN ones. libutp would
// claim a Binding success itself, its first byte (0x01) reading as a uTP
// v1 DATA packet, and answer it with a RST. Reading through it costs
// libutp its batched reads (recvmmsg), hence only with Options.STUN set.
type stunFirstConn struct {
	*net.UDPConn
	take func(b []byte, from netip.AddrPort) bool
}

// ReadFrom returns the next datagram take does not keep.
func (c stunFirstConn) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, from, err := c.UDPConn.ReadFrom(b)
		if err != nil {
			return n, from, err
		}
		if a, ok := addrPort(from); !ok || !c.take(b[:n], a) {
			return n, from, nil
		}
	}
}
