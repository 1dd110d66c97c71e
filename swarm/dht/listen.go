package dht

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// Listen opens a UDP socket on addr ("127.0.0.1:0", ":49737") and runs a
// node on it; Close closes the socket.
func Listen(addr string, opts Options) (*Node, error) {
	conn, err := net.ListenPacket("udp4", addr)
	if err != nil {
		return nil, fmt.Errorf("dht listen %s: %w", addr, err)
	}
	if u, ok := conn.(*net.UDPConn); ok {
		u.SetReadBuffer(readBuffer) // bursts of answers to a 16-wide walk
	}
	n := Serve(conn, opts)
	stop := n.onClose
	n.onClose = func() {
		stop()
		conn.Close()
	}
	return n, nil
}

const readBuffer = 1 << 20

// Serve runs a node on conn, reading it until Close (which sets a read
// deadline to stop the reader but leaves conn open).
func Serve(conn net.PacketConn, opts Options) *Node {
	send := func(b []byte, to netip.AddrPort) error {
		_, err := conn.WriteTo(b, net.UDPAddrFromAddrPort(to))
		return err
	}
	n := New(send, opts)
	n.local = conn.LocalAddr()
	done := make(chan struct{})
	go n.readLoop(conn, done)
	n.onClose = func() {
		conn.SetReadDeadline(time.Now())
		<-done
	}
	return n
}

func (n *Node) readLoop(conn net.PacketConn, done chan struct{}) {
	defer close(done)
	buf := make([]byte, 65536)
	for {
		k, from, err := conn.ReadFrom(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) || n.isClosed() {
				return
			}
			n.log.Debug("read datagram", "err", err)
			continue
		}
		if u, ok := from.(*net.UDPAddr); ok {
			n.HandleDatagram(buf[:k], u)
		}
	}
}

func (n *Node) isClosed() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.closed
}

// LocalAddr is the socket's address for a node made by Listen or Serve.
func (n *Node) LocalAddr() net.Addr { return n.local }

// resolve resolves the bootstrap list to IPv4 addresses, skipping (and
// logging) entries that fail.
func (n *Node) resolve(ctx context.Context) []netip.AddrPort {
	var out []netip.AddrPort
	for _, s := range n.bootstrap {
		host, port, err := ParseBootstrap(s)
		if err != nil {
			n.log.Warn("bootstrap entry", "err", err)
			continue
		}
		ips, err := lookupIPv4(ctx, host)
		if err != nil {
			n.log.Warn("resolve bootstrap", "host", host, "err", err)
			continue
		}
		for _, ip := range ips {
			out = append(out, netip.AddrPortFrom(ip, port))
		}
	}
	return out
}

func lookupIPv4(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		if ip = ip.Unmap(); !ip.Is4() {
			return nil, fmt.Errorf("resolve %s: not IPv4", host)
		}
		return []netip.Addr{ip}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) > 1 {
		ips = ips[:1] // JS's dgram send uses the first address
	}
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, nil
}

// resolveIfNeeded refreshes the bootstrap addresses when a walk would use
// them: when the table holds fewer nodes than the list has entries.
func (n *Node) resolveIfNeeded(ctx context.Context) {
	n.mu.Lock()
	need := len(n.bootstrap) > 0 && n.table.len() < len(n.bootstrap)
	n.mu.Unlock()
	if !need {
		return
	}
	addrs := n.resolve(ctx)
	n.do(func() { n.bootAddrs = addrs })
}
