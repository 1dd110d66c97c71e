package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"syscall"

	"github.com/hspd/hsp/swarm/dht"
)

// udpSide is the UDP socket of the swarm's port and what reads it: the
// DHT node, when the swarm has one (uTP joins it on the same socket).
type udpSide struct {
	conn *net.UDPConn
	node *dht.Node // nil without Options.DHT
	done chan struct{}
	once sync.Once
}

// randomPortTries bounds the search for a random port free on both TCP
// and UDP.
const randomPortTries = 16

// bindPort binds TCP and UDP on the same port number: port, or with 0 a
// random one free on both.
func bindPort(host string, port int) (net.Listener, *net.UDPConn, error) {
	tries := 1
	if port == 0 {
		tries = randomPortTries
	}
	var err error
	for range tries {
		var ln net.Listener
		ln, err = net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(port)))
		if err != nil {
			return nil, nil, bareNetError(err)
		}
		chosen := ln.Addr().(*net.TCPAddr).Port
		var udp *net.UDPConn
		udp, err = listenUDP(host, chosen)
		if err == nil {
			return ln, udp, nil
		}
		ln.Close()
		if !errors.Is(err, syscall.EADDRINUSE) {
			break
		}
	}
	return nil, nil, fmt.Errorf("udp: %w", bareNetError(err))
}

func listenUDP(host string, port int) (*net.UDPConn, error) {
	addr, err := net.ResolveUDPAddr("udp4", net.JoinHostPort(host, strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp4", addr)
	if err != nil {
		return nil, err
	}
	conn.SetReadBuffer(udpReadBuffer) // bursts of answers to a DHT walk
	return conn, nil
}

const udpReadBuffer = 1 << 20

// startUDP runs the DHT node, if configured, on conn and starts reading.
func (s *Swarm) startUDP(conn *net.UDPConn) {
	u := &udpSide{conn: conn, done: make(chan struct{})}
	if s.opts.DHT != nil {
		send := func(b []byte, to netip.AddrPort) error {
			_, err := conn.WriteToUDPAddrPort(b, to)
			return err
		}
		u.node = dht.New(send, *s.opts.DHT)
	}
	s.udp = u
	go u.read()
}

// read hands every datagram to the DHT node until the socket closes. The
// node never blocks it for long: it parses, answers and queues under its
// own lock.
func (u *udpSide) read() {
	defer close(u.done)
	buf := make([]byte, 65536)
	for {
		n, from, err := u.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue // ICMP errors surface here on Linux; the next read goes on
		}
		if u.node != nil {
			u.node.HandleDatagramFrom(buf[:n], from)
		}
	}
}

func (u *udpSide) close() {
	u.once.Do(func() {
		if u.node != nil {
			u.node.Close()
		}
		u.conn.Close()
		<-u.done
	})
}

// DHT is the swarm's DHT node, nil before Listen or without Options.DHT.
func (s *Swarm) DHT() *dht.Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.udp == nil {
		return nil
	}
	return s.udp.node
}

// bootstrapDHT joins the DHT in the background; the node re-bootstraps by
// itself while its table is empty, so one failure here is only logged.
func (s *Swarm) bootstrapDHT(ctx context.Context) {
	node := s.DHT()
	if node == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := node.Bootstrap(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("dht bootstrap failed; retrying in the background", "err", err)
			return
		}
		if st := node.Status(); st.Bootstrapped {
			s.log.Info("dht bootstrapped", "nodes", st.Nodes)
		} else {
			s.log.Warn("no dht bootstrap node answered; retrying in the background")
		}
	}()
}
