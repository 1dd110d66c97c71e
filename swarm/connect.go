package swarm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

// Connect dials a discovered peer as hyperswarm's network.connect does
// (hyperswarm2.md §5.2): a TCP connect to addr at once and, when referrer
// is valid (the peer came from the DHT) and the swarm runs a DHT node, a
// holepunch relayed through referrer followed, once it succeeds, by a uTP
// connect to addr from the port's own UDP socket. Each attempt handshakes
// as initiator; the first to finish its handshake wins and every other is
// destroyed. Everything is bounded by ConnectTimeout. Connect fails when
// every attempt failed, naming what each did (errors.Is sees each cause).
//
// Like Dial, it takes one place against MaxPeers from the start, shared by
// the attempts (ErrTooManyPeers past the cap), and its connection is not
// bound to ctx, which bounds the connect only. Conn.Transport says which
// attempt won.
func (s *Swarm) Connect(ctx context.Context, addr, referrer netip.AddrPort) (Conn, error) {
	p, err := s.dialRace(ctx, addr, referrer)
	if err != nil {
		return Conn{}, err
	}
	return p.conn, nil
}

// dialRace is Connect, returning the peer, with the errors counted and
// wrapped (what dial is to Dial).
func (s *Swarm) dialRace(ctx context.Context, addr, referrer netip.AddrPort) (*peer, error) {
	begin := time.Now()
	p, err := s.racePeer(ctx, addr, referrer)
	if err != nil {
		s.stats.dialFailed.Add(1)
		s.log.Debug("connect failed", "addr", addr, "referrer", referrer, "err", err)
		return nil, fmt.Errorf("connect %s: %w", addr, err)
	}
	s.stats.dialled.Add(1)
	s.log.Debug("connect won", "addr", addr, "transport", p.conn.Transport,
		"took", time.Since(begin).Round(time.Millisecond))
	return p, nil
}

// racePeer admits the connection, races its attempts and serves the
// winner, which the duplicate rule may still close (closedByDedup).
func (s *Swarm) racePeer(ctx context.Context, addr, referrer netip.AddrPort) (*peer, error) {
	p, pctx, err := s.admit(context.WithoutCancel(ctx), "", true)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { p.cancel(context.Cause(ctx)) })
	w, err := s.race(pctx, addr, referrer)
	if !stop() && err == nil {
		err = context.Cause(ctx) // ctx ended just as the handshake did; p.cancel closes w
	}
	if err != nil {
		s.release(p)
		return nil, err
	}
	s.mu.Lock()
	p.conn.Transport = w.transport
	s.mu.Unlock()
	c := s.markUp(p, w.st, w.conn)
	if err := s.closedByDedup(p); err != nil {
		s.release(p)
		return nil, err
	}
	go s.serve(pctx, p, w.st, c)
	return p, nil
}

// attempt is one way a Connect tries to reach the peer.
type attempt struct {
	transport string
	ctx       context.Context         // the attempt's, and then its stream's, lifetime
	cancel    context.CancelCauseFunc // ends the attempt and closes its stream
	unbind    func() bool             // detaches it from the race's deadline
	conn      net.Conn
	st        *wire.Stream
	err       error
}

// race runs the attempts and returns the first to handshake, the others
// ended. The winner's stream lives until pctx ends.
func (s *Swarm) race(pctx context.Context, addr, referrer netip.AddrPort) (*attempt, error) {
	msg := fmt.Sprintf("timed out after %v", s.opts.ConnectTimeout)
	deadline := &netError{msg: msg, err: context.DeadlineExceeded}
	rctx, rcancel := context.WithTimeoutCause(pctx, s.opts.ConnectTimeout, deadline)
	defer rcancel()
	results := make(chan *attempt, 2)
	var attempts []*attempt
	gate := new(raceGate)
	launch := func(transport string, open func(context.Context) (net.Conn, error)) {
		a := &attempt{transport: transport}
		a.ctx, a.cancel = context.WithCancelCause(pctx)
		a.unbind = context.AfterFunc(rctx, func() { a.cancel(context.Cause(rctx)) })
		attempts = append(attempts, a)
		go func() {
			a.conn, a.err = open(a.ctx)
			if a.err == nil {
				a.conn = gate.wrap(a.conn, func() { a.cancel(errLostRace) })
				a.st, a.err = s.handshakeStream(a.ctx, true, a.conn)
			}
			results <- a
		}()
	}
	tcpWhy, utpWhy := s.launchAttempts(launch, addr, referrer)
	if win := collect(results, attempts); win != nil {
		return win, nil
	}
	return nil, newConnectError(attempts, tcpWhy, utpWhy)
}

// collect waits for every attempt and returns the first to handshake
// within the deadline, nil if none did; it ends the others as they lose.
func collect(results <-chan *attempt, attempts []*attempt) *attempt {
	var win *attempt
	for range attempts {
		a := <-results
		if a.err == nil && win == nil && a.unbind() {
			win = a
			for _, o := range attempts {
				if o != a {
					o.cancel(errLostRace)
				}
			}
			continue
		}
		if a.err == nil { // a second winner (the gate prevents it), or one the deadline caught
			a.cancel(errLostRace)
			a.err = context.Cause(a.ctx)
		}
	}
	return win
}

// launcher starts one attempt: open reaches the peer over transport.
type launcher func(transport string, open func(context.Context) (net.Conn, error))

// launchAttempts starts the TCP attempt and, where it can, the uTP one;
// for each not started it says why.
func (s *Swarm) launchAttempts(launch launcher, addr, referrer netip.AddrPort) (tcpWhy, utpWhy string) {
	if s.opts.NoTCP {
		tcpWhy = "disabled by Options.NoTCP"
	} else {
		launch(TransportTCP, func(ctx context.Context) (net.Conn, error) { return s.connect(ctx, addr.String()) })
	}
	u := s.udpSide()
	switch {
	case !utpAvailable:
		utpWhy = "not in this build (no cgo)"
	case !referrer.IsValid():
		utpWhy = "no referrer to holepunch through"
	case u == nil || u.node == nil:
		utpWhy = "no dht node to holepunch with"
	default:
		launch(TransportUTP, func(ctx context.Context) (net.Conn, error) {
			return holepunchAndDial(ctx, u, addr, referrer)
		})
	}
	return tcpWhy, utpWhy
}

// holepunchAndDial opens the UDP path to addr through referrer, then
// dials uTP to it from the port's socket.
func holepunchAndDial(ctx context.Context, u *udpSide, addr, referrer netip.AddrPort) (net.Conn, error) {
	if err := u.node.Holepunch(ctx, addr, referrer); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("holepunch via %s: %w", referrer, context.Cause(ctx))
		}
		return nil, err // names the holepunch, the peer and the referrer
	}
	conn, err := u.sock.dial(ctx, addr)
	if err != nil {
		return nil, fmt.Errorf("connect after the holepunch: %w", err)
	}
	return conn, nil
}

// connectError is a Connect all of whose attempts failed: what each did,
// and why those not tried were not.
type connectError struct {
	parts []string
	errs  []error
}

func newConnectError(attempts []*attempt, tcpWhy, utpWhy string) *connectError {
	e := &connectError{}
	for _, a := range attempts {
		e.parts = append(e.parts, a.transport+": "+a.err.Error())
		e.errs = append(e.errs, a.err)
	}
	for _, skip := range [][2]string{{TransportTCP, tcpWhy}, {TransportUTP, utpWhy}} {
		if skip[1] != "" {
			e.parts = append(e.parts, skip[0]+": not tried, "+skip[1])
		}
	}
	return e
}

func (e *connectError) Error() string   { return strings.Join(e.parts, "; ") }
func (e *connectError) Unwrap() []error { return e.errs }

// raceGate lets only one attempt of a Connect finish its handshake, so
// that the remote never completes a loser's and never holds the pair (its
// duplicate rule would keep TCP, maybe the one we drop). The initiator's
// first write after it has read anything is Noise XX's third message, the
// one that completes the handshake on the remote: the first attempt to
// get there sends it, the others fail that write, their attempt ended.
type raceGate struct{ claimed atomic.Bool }

// gatedConn is one attempt's connection under the gate.
type gatedConn struct {
	net.Conn
	gate *raceGate
	lose func()      // ends the attempt before its write fails
	read atomic.Bool // something was read: the next write is the last
	won  atomic.Bool
}

func (g *raceGate) wrap(c net.Conn, lose func()) net.Conn {
	return &gatedConn{Conn: c, gate: g, lose: lose}
}

func (c *gatedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 && !c.read.Load() {
		c.read.Store(true)
	}
	return n, err
}

func (c *gatedConn) Write(b []byte) (int, error) {
	if !c.won.Load() && c.read.Load() {
		if !c.gate.claimed.CompareAndSwap(false, true) {
			c.lose()
			return 0, errLostRace
		}
		c.won.Store(true)
	}
	return c.Conn.Write(b)
}

// errLostRace ends the attempts of a Connect that another attempt won.
var errLostRace = errors.New("the other transport won the race")

// idleListener stands for the TCP listener of a swarm with Options.NoTCP:
// it has the port's address and accepts nothing until closed.
type idleListener struct {
	addr   net.Addr
	closed chan struct{}
	once   sync.Once
}

// idle closes ln, so that the port refuses TCP, and returns an
// idleListener in its place.
func idle(ln net.Listener) net.Listener {
	ln.Close()
	return &idleListener{addr: ln.Addr(), closed: make(chan struct{})}
}

func (l *idleListener) Accept() (net.Conn, error) {
	<-l.closed
	return nil, net.ErrClosed
}

func (l *idleListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *idleListener) Addr() net.Addr { return l.addr }

// connected counts a handshake completed over transport.
func (c *counters) connected(transport string) {
	if transport == TransportUTP {
		c.utp.Add(1)
	} else {
		c.tcp.Add(1)
	}
}
