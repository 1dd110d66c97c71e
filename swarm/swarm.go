package swarm

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Swarm owns the daemon's replication connections: one listener, the
// dials, the kept addresses, and the cap on them all.
type Swarm struct {
	opts Options
	log  *slog.Logger
	// listenHook, when set (by tests), wraps the listener Listen binds.
	listenHook func(net.Listener) net.Listener

	mu      sync.Mutex // guards the fields below
	ln      net.Listener
	addr    *net.TCPAddr
	udp     *udpSide // the port's UDP socket and the DHT node on it
	topics  map[[32]byte]*topic
	running bool
	closed  bool
	nextID  uint64
	peers   map[uint64]*peer // admitted connections, handshaken or not
	keepers map[*Kept]struct{}
	queue   *peerQueue    // the peers to dial (dialloop.go)
	freed   chan struct{} // signalled when a place may have come free

	wg      sync.WaitGroup // one per peer and per keeper
	closing chan struct{}  // closed by Close
	stats   counters
}

// counters are the live form of Stats.
type counters struct {
	accepted, dialled, rejectedFull atomic.Uint64
	handshakeFailed, dialFailed     atomic.Uint64
	acceptErrors                    atomic.Uint64
	tcp, utp, dhtDropped            atomic.Uint64
	duplicatesClosed, stunDropped   atomic.Uint64
}

// New returns a swarm that neither listens nor dials yet.
func New(opts Options) *Swarm {
	opts = opts.withDefaults()
	return &Swarm{
		opts:    opts,
		log:     opts.Logger,
		peers:   make(map[uint64]*peer),
		keepers: make(map[*Kept]struct{}),
		queue:   newPeerQueue(queueConfig{}),
		freed:   make(chan struct{}, 1),
		closing: make(chan struct{}),
	}
}

// Listen binds Host:Port now, so that Addr is known and a port in use is
// reported before Run.
func (s *Swarm) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.listenLocked()
}

func (s *Swarm) listenLocked() error {
	addr := net.JoinHostPort(s.opts.Host, strconv.Itoa(s.opts.Port))
	switch {
	case s.closed:
		return fmt.Errorf("listen on %s: %w", addr, ErrClosed)
	case s.ln != nil:
		return fmt.Errorf("listen on %s: already listening on %s", addr, s.addr)
	}
	ln, udp, err := bindPort(s.opts.Host, s.opts.Port)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	if err := s.startUDP(udp); err != nil {
		ln.Close()
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	s.addr = ln.Addr().(*net.TCPAddr)
	if s.opts.NoTCP {
		ln = idle(ln) // for tests: the port refuses TCP
	}
	s.ln = ln
	if s.listenHook != nil {
		s.ln = s.listenHook(ln)
	}
	return nil
}

// Addr is the address the swarm listens on; nil before Listen.
func (s *Swarm) Addr() *net.TCPAddr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// Run accepts connections until ctx ends, then returns nil. It calls
// Listen first if nobody did. On return the swarm is closed, as by Close:
// the listener, every connection (accepted and dialled) and every keeper,
// their handlers waited for.
func (s *Swarm) Run(ctx context.Context) error {
	ln, err := s.startRun()
	if err != nil {
		return err
	}
	defer s.Close()
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	s.bootstrapDHT(ctx)
	s.startDialLoop(ctx)
	s.acceptUTP(ctx)
	s.acceptLoop(ctx, ln)
	s.leaveAll() // unannounce, within TopicTiming.Unannounce
	return nil
}

// startRun marks the swarm running, listening first if need be.
func (s *Swarm) startRun() (net.Listener, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closed:
		return nil, fmt.Errorf("run swarm: %w", ErrClosed)
	case s.running:
		return nil, errors.New("run swarm: already running")
	}
	if s.ln == nil {
		if err := s.listenLocked(); err != nil {
			return nil, fmt.Errorf("run swarm: %w", err)
		}
	}
	s.running = true
	return s.ln, nil
}

// acceptLoop accepts until the listener closes. Accept errors back off,
// doubling from AcceptBackoffMin to AcceptBackoffMax; they never end it.
func (s *Swarm) acceptLoop(ctx context.Context, ln net.Listener) {
	var backoff time.Duration
	for {
		conn, err := ln.Accept()
		if err == nil {
			backoff = 0
			s.admitAccepted(ctx, conn, TransportTCP)
			continue
		}
		if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
			return
		}
		backoff = min(max(2*backoff, s.opts.AcceptBackoffMin), s.opts.AcceptBackoffMax)
		s.stats.acceptErrors.Add(1)
		s.log.Warn("accept failed", "err", err, "backoff", backoff)
		if !s.sleep(ctx, backoff) {
			return
		}
	}
}

// sleep waits d; false means ctx ended or the swarm closed first.
func (s *Swarm) sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

// Close closes the listener, every connection and every keeper, and waits
// for their handlers. It is idempotent. A Handler must not call it: Close
// would wait for that very handler.
func (s *Swarm) Close() error {
	s.mu.Lock()
	udp := s.udp
	if !s.closed {
		s.closed = true
		close(s.closing)
		if s.ln != nil {
			s.ln.Close()
		}
		if udp != nil {
			udp.closeDHT() // its walks and holepunches end at once
		}
		for k := range s.keepers {
			k.cancel(ErrClosed)
		}
		for _, tp := range s.topics {
			tp.cancel()
		}
		for _, p := range s.peers {
			p.cancel(ErrClosed)
		}
	}
	s.mu.Unlock()
	s.wg.Wait()
	if udp != nil {
		udp.close() // after the connections, so that uTP ones end with a FIN
	}
	return nil
}

// Conns lists the live connections (handshake done, no duplicate), by ID.
func (s *Swarm) Conns() []Conn {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Conn
	for _, p := range s.peers {
		if p.up && p.dup == nil && !p.self {
			out = append(out, p.conn)
		}
	}
	slices.SortFunc(out, func(a, b Conn) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Stats returns the counters.
func (s *Swarm) Stats() Stats {
	c := &s.stats
	return Stats{
		Accepted:         c.accepted.Load(),
		Dialled:          c.dialled.Load(),
		RejectedFull:     c.rejectedFull.Load(),
		HandshakeFailed:  c.handshakeFailed.Load(),
		DialFailed:       c.dialFailed.Load(),
		AcceptErrors:     c.acceptErrors.Load(),
		TCP:              c.tcp.Load(),
		UTP:              c.utp.Load(),
		DHTDropped:       c.dhtDropped.Load(),
		DuplicatesClosed: c.duplicatesClosed.Load(),
		STUNDropped:      c.stunDropped.Load(),
	}
}

// bareNetError drops the *net.OpError prefix ("dial tcp 1.2.3.4:5: ")
// from err's message, which callers name themselves, keeping err for
// errors.Is and errors.As.
func bareNetError(err error) error {
	var op *net.OpError
	if !errors.As(err, &op) || op.Err == nil {
		return err
	}
	return &netError{msg: op.Err.Error(), err: err}
}

// netError is an error with a message of our own over a net error.
type netError struct {
	msg string
	err error
}

func (e *netError) Error() string { return e.msg }
func (e *netError) Unwrap() error { return e.err }
