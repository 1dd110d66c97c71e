package dht

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math/bits"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// ID is a 32-byte node id or topic. Distance is the XOR of two ids.
type ID [32]byte

// String returns id in hex.
func (id ID) String() string { return hex.EncodeToString(id[:]) }

// IsZero reports whether id is all zeroes (the id of an ephemeral node).
func (id ID) IsZero() bool { return id == ID{} }

func idFrom(b []byte) (ID, bool) {
	var id ID
	if len(b) != len(id) {
		return id, false
	}
	copy(id[:], b)
	return id, true
}

// xorDist returns a XOR b.
func xorDist(a, b ID) ID {
	var d ID
	for i := range d {
		d[i] = a[i] ^ b[i]
	}
	return d
}

// closer reports whether a is closer to target than b.
func closer(target, a, b ID) bool {
	da, db := xorDist(target, a), xorDist(target, b)
	return bytes.Compare(da[:], db[:]) < 0
}

// commonPrefix returns how many leading bits a and b share (256 if equal).
func commonPrefix(a, b ID) int {
	for i := range a {
		if x := a[i] ^ b[i]; x != 0 {
			return i*8 + bits.LeadingZeros8(x)
		}
	}
	return 256
}

// Normalize makes an address IPv4 where it can (::ffff:a.b.c.d is
// a.b.c.d) and reports whether the result is a usable IPv4 ip:port.
func Normalize(a netip.AddrPort) (netip.AddrPort, bool) {
	ip := a.Addr().Unmap()
	a = netip.AddrPortFrom(ip, a.Port())
	return a, ip.Is4() && a.Port() != 0
}

// UDPAddrPort converts a *net.UDPAddr to a normalised netip.AddrPort.
func UDPAddrPort(u *net.UDPAddr) (netip.AddrPort, bool) {
	if u == nil {
		return netip.AddrPort{}, false
	}
	return Normalize(u.AddrPort())
}

// encodePeer returns the 6-byte encoding of a (IPv4, port big-endian).
func encodePeer(a netip.AddrPort) []byte {
	return appendPeer(make([]byte, 0, 6), a)
}

func appendPeer(b []byte, a netip.AddrPort) []byte {
	ip := a.Addr().Unmap().As4()
	b = append(b, ip[:]...)
	return binary.BigEndian.AppendUint16(b, a.Port())
}

// decodePeer decodes a 6-byte peer; it rejects other lengths, port 0 and
// 0.0.0.0.
func decodePeer(b []byte) (netip.AddrPort, bool) {
	if len(b) != 6 {
		return netip.AddrPort{}, false
	}
	ip := netip.AddrFrom4([4]byte(b[:4]))
	port := binary.BigEndian.Uint16(b[4:])
	if port == 0 || ip.IsUnspecified() {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, port), true
}

// decodePeerList decodes n × 6-byte peers; like JS it rejects the whole
// list if any entry is bad or the length is not a multiple of 6.
func decodePeerList(b []byte) ([]netip.AddrPort, bool) {
	if len(b)%6 != 0 {
		return nil, false
	}
	out := make([]netip.AddrPort, 0, len(b)/6)
	for i := 0; i < len(b); i += 6 {
		p, ok := decodePeer(b[i : i+6])
		if !ok {
			return nil, false
		}
		out = append(out, p)
	}
	return out, true
}

// decodeLocalPeers decodes n × 4-byte local peers under the /16 of prefix.
func decodeLocalPeers(prefix [2]byte, b []byte) ([]netip.AddrPort, bool) {
	if len(b)%4 != 0 {
		return nil, false
	}
	out := make([]netip.AddrPort, 0, len(b)/4)
	for i := 0; i < len(b); i += 4 {
		port := binary.BigEndian.Uint16(b[i+2:])
		if port == 0 {
			return nil, false
		}
		ip := netip.AddrFrom4([4]byte{prefix[0], prefix[1], b[i], b[i+1]})
		out = append(out, netip.AddrPortFrom(ip, port))
	}
	return out, true
}

// NodeInfo is a DHT node: its id (zero for an ephemeral node) and address.
type NodeInfo struct {
	ID   ID
	Addr netip.AddrPort
}

const nodeLen = 38

// appendNode appends the 38-byte encoding of n.
func appendNode(b []byte, n NodeInfo) []byte {
	return appendPeer(append(b, n.ID[:]...), n.Addr)
}

// decodeNodes decodes up to max 38-byte nodes, skipping entries with a bad
// address; a length that is not a multiple of 38 yields nothing, as in JS.
func decodeNodes(b []byte, max int) []NodeInfo {
	if len(b)%nodeLen != 0 {
		return nil
	}
	var out []NodeInfo
	for i := 0; i+nodeLen <= len(b) && len(out) < max; i += nodeLen {
		addr, ok := decodePeer(b[i+32 : i+nodeLen])
		if !ok {
			continue
		}
		out = append(out, NodeInfo{ID: ID(b[i : i+32]), Addr: addr})
	}
	return out
}

// ParseBootstrap parses one bootstrap entry: "host:port", ":port" or
// "port" (both meaning 127.0.0.1).
func ParseBootstrap(s string) (host string, port uint16, err error) {
	if !strings.Contains(s, ":") {
		s = ":" + s
	}
	h, p, err := net.SplitHostPort(s)
	if err != nil {
		return "", 0, fmt.Errorf("parse bootstrap %q: %w", s, err)
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("parse bootstrap %q: bad port", s)
	}
	if h == "" {
		h = "127.0.0.1"
	}
	return h, uint16(n), nil
}
