package swarm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/hspd/hsp/swarm/dht"
)

// udpSide is the UDP socket of the swarm's port and what runs on it:
// uTP (in cgo builds) and the DHT node, when the swarm has one. A reader
// takes the datagrams uTP does not claim off the socket and queues them
// for one dispatcher, which feeds the DHT node: the reader never waits on
// the node, so a busy node cannot back libutp's own small queue up.
type udpSide struct {
	sock  *udpSocket
	node  *dht.Node   // nil without Options.DHT
	stun  *stunClient // takes the STUN datagrams, which never reach node
	queue chan datagram
	// deliver hands one datagram to the node (tests stall it).
	deliver atomic.Pointer[func(b []byte, from netip.AddrPort)]
	dropped *atomic.Uint64 // datagrams dropped with the queue full
	log     *slog.Logger

	readDone, dispatchDone chan struct{}
	accepting              sync.WaitGroup // the uTP accept loop
	nodeOnce, sockOnce     sync.Once
}

// datagram is one non-uTP datagram waiting for the DHT node.
type datagram struct {
	b    []byte
	from netip.AddrPort
}

// dhtQueueLen bounds the datagrams waiting for the DHT node; past it they
// are dropped and counted (Stats.DHTDropped), as a full socket buffer
// would drop them.
const dhtQueueLen = 1024

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

// startUDP runs uTP, where the build has it, and the DHT node, if
// configured, on conn and starts reading. Failing that (libutp could not
// start) conn is closed.
func (s *Swarm) startUDP(conn *net.UDPConn) error {
	stun := newSTUNClient(s.opts.STUN, s.opts.STUNTiming, &s.stats.stunDropped, s.log)
	sock, err := newUDPSocket(conn, stun.divert(), s.log)
	if err != nil {
		conn.Close()
		return err
	}
	u := &udpSide{
		sock:         sock,
		stun:         stun,
		queue:        make(chan datagram, dhtQueueLen),
		dropped:      &s.stats.dhtDropped,
		log:          s.log,
		readDone:     make(chan struct{}),
		dispatchDone: make(chan struct{}),
	}
	if s.opts.DHT != nil {
		u.node = dht.New(sock.writeTo, *s.opts.DHT)
		deliver := u.node.HandleDatagramFrom
		u.deliver.Store(&deliver)
	}
	s.udp = u
	go u.read()
	go u.dispatch()
	stun.start(sock.writeTo)
	return nil
}

// read queues every datagram that is neither uTP nor STUN for the DHT
// node until the socket closes, dropping those that find the queue full.
func (u *udpSide) read() {
	defer close(u.readDone)
	defer close(u.queue)
	buf := make([]byte, 65536)
	for {
		n, from, err := u.sock.readFrom(buf)
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				u.log.Warn("udp socket lost; the dht hears nothing more", "err", err)
			}
			return
		}
		if u.stun.take(buf[:n], from) || u.node == nil {
			continue
		}
		select {
		case u.queue <- datagram{append([]byte(nil), buf[:n]...), from}:
		default:
			u.dropped.Add(1)
		}
	}
}

// dispatch feeds the queued datagrams to the DHT node.
func (u *udpSide) dispatch() {
	defer close(u.dispatchDone)
	for d := range u.queue {
		(*u.deliver.Load())(d.b, d.from)
	}
}

// closeDHT closes the DHT node, ending its walks and holepunches; the
// socket stays open for the uTP connections still closing.
func (u *udpSide) closeDHT() {
	u.nodeOnce.Do(func() {
		if u.node != nil {
			u.node.Close()
		}
	})
}

// close closes the DHT node, ends STUN, then closes the socket and every
// uTP connection on it, and waits for the reader and the dispatcher.
func (u *udpSide) close() {
	u.closeDHT()
	u.sockOnce.Do(func() {
		u.stun.stop()
		u.sock.close()
		<-u.readDone
		<-u.dispatchDone
		u.accepting.Wait()
	})
}

// acceptUTP admits the incoming uTP connections as acceptLoop admits TCP
// ones, until the socket closes. In a build without uTP it only waits.
func (s *Swarm) acceptUTP(ctx context.Context) {
	u := s.udpSide()
	if u == nil {
		return
	}
	u.accepting.Add(1)
	go func() {
		defer u.accepting.Done()
		for {
			conn, err := u.sock.accept()
			if err != nil {
				return
			}
			s.admitAccepted(ctx, conn, TransportUTP)
		}
	}()
}

// udpSide is the port's UDP side, nil before Listen.
func (s *Swarm) udpSide() *udpSide {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.udp
}

// DHT is the swarm's DHT node, nil before Listen or without Options.DHT.
func (s *Swarm) DHT() *dht.Node {
	if u := s.udpSide(); u != nil {
		return u.node
	}
	return nil
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
