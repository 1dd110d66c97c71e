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

	"github.com/pion/stun/v3"
)

// STUN (spec §8) is optional: with Options.STUN set, each server gets a
// Binding request from the port's UDP socket, the one the DHT and uTP use,
// so the mapping it reports is theirs. The answers come back on that
// socket and are taken off it before the DHT sees them (udpSide.read, and
// stun_utp.go under libutp). pion/stun's Client is not used: it would read
// the socket itself.

// Defaults of STUNTiming.
const (
	DefaultSTUNRetransmit = 500 * time.Millisecond
	DefaultSTUNTries      = 3
	DefaultSTUNRefresh    = 5 * time.Minute
)

// STUNTiming times the Binding requests to the STUN servers; zero fields
// take the defaults above.
type STUNTiming struct {
	// Retransmit is how long the first send of a request waits for its
	// answer; the wait doubles after each resend.
	Retransmit time.Duration
	// Tries is how many times a request is sent before the server's round
	// fails.
	Tries int
	// Refresh is the pause between the end of a server's round and its
	// next one.
	Refresh time.Duration
}

func (t STUNTiming) withDefaults() STUNTiming {
	t.Retransmit = positiveOr(t.Retransmit, DefaultSTUNRetransmit)
	t.Tries = positiveOr(t.Tries, DefaultSTUNTries)
	t.Refresh = positiveOr(t.Refresh, DefaultSTUNRefresh)
	return t
}

// STUNResult is one STUN server's last round.
type STUNResult struct {
	// Server is the server as configured, HOST:PORT.
	Server string
	// Mapped is our ip:port as the server saw it; zero when its last
	// round got no answer, or before the first ends.
	Mapped netip.AddrPort
	// Err says why the last round failed; "" when it did not.
	Err string
	// When is when the last round ended; zero before the first.
	When time.Time
}

// stunClient asks the STUN servers, one round each per Refresh, with at
// most one request outstanding per server.
type stunClient struct {
	send    func(b []byte, to netip.AddrPort) error // from the port's socket
	timing  STUNTiming
	dropped *atomic.Uint64 // STUN datagrams not answering a request of ours
	log     *slog.Logger

	mu      sync.Mutex // guards each server's txn, res and from
	servers []*stunServer
	cancel  context.CancelFunc // ends the rounds; set by start
	wg      sync.WaitGroup     // one per server's loop
}

// stunServer is one configured server and its last round.
type stunServer struct {
	name string
	txn  *stunTxn       // the request outstanding, nil between requests
	res  STUNResult     // the last round
	from netip.AddrPort // the server's address in the last round
}

// stunTxn is a Binding request waiting for its answer.
type stunTxn struct {
	id     [stun.TransactionIDSize]byte
	to     netip.AddrPort
	answer chan stunAnswer // 1 slot: claim hands out the txn only once
}

// stunAnswer is what an answer to a request said.
type stunAnswer struct {
	mapped netip.AddrPort
	err    error
}

// errNoAnswer: a server did not answer a request, resends included.
var errNoAnswer = errors.New("no answer")

// newSTUNClient is a client of servers (each once) that counts into
// dropped the STUN datagrams it gets and wants not.
func newSTUNClient(servers []string, timing STUNTiming, dropped *atomic.Uint64, log *slog.Logger) *stunClient {
	c := &stunClient{timing: timing.withDefaults(), dropped: dropped, log: log}
	seen := make(map[string]bool)
	for _, name := range servers {
		if !seen[name] {
			seen[name] = true
			c.servers = append(c.servers, &stunServer{name: name, res: STUNResult{Server: name}})
		}
	}
	return c
}

// divert is the hook that takes the STUN datagrams off the socket before
// libutp reads them, nil when no server is configured.
func (c *stunClient) divert() func(b []byte, from netip.AddrPort) bool {
	if len(c.servers) == 0 {
		return nil
	}
	return c.take
}

// start runs each server's rounds, sending with send, until stop.
func (c *stunClient) start(send func(b []byte, to netip.AddrPort) error) {
	ctx, cancel := context.WithCancel(context.Background())
	c.send, c.cancel = send, cancel
	for _, sv := range c.servers {
		c.wg.Add(1)
		go c.loop(ctx, sv)
	}
}

// stop ends the rounds and waits for them.
func (c *stunClient) stop() {
	if c.cancel != nil {
		c.cancel()
	}
	c.wg.Wait()
}

// loop runs sv's rounds, Refresh apart, until ctx ends.
func (c *stunClient) loop(ctx context.Context, sv *stunServer) {
	defer c.wg.Done()
	for {
		mapped, from, err := c.query(ctx, sv)
		if ctx.Err() != nil {
			return
		}
		c.record(sv, mapped, from, err)
		if !sleepCtx(ctx, c.timing.Refresh) {
			return
		}
	}
}

// query resolves sv and asks it for our mapped address; it returns that
// and the address it asked.
func (c *stunClient) query(ctx context.Context, sv *stunServer) (mapped, to netip.AddrPort, err error) {
	to, err = resolveUDP4(ctx, sv.name)
	if err != nil {
		return mapped, to, err
	}
	req, err := stun.Build(stun.TransactionID, stun.BindingRequest, stun.Fingerprint)
	if err != nil {
		return mapped, to, fmt.Errorf("build binding request: %w", err)
	}
	txn := c.expect(sv, req.TransactionID, to)
	defer c.forget(sv, txn)
	mapped, err = c.exchange(ctx, req.Raw, txn)
	return mapped, to, err
}

// exchange sends raw up to Tries times, the wait doubling from
// Retransmit, until txn's answer comes.
func (c *stunClient) exchange(ctx context.Context, raw []byte, txn *stunTxn) (netip.AddrPort, error) {
	wait := c.timing.Retransmit
	for range c.timing.Tries {
		if err := c.send(raw, txn.to); err != nil {
			return netip.AddrPort{}, fmt.Errorf("send binding request to %s: %w", txn.to, bareNetError(err))
		}
		select {
		case a := <-txn.answer:
			return a.mapped, a.err
		case <-time.After(wait):
		case <-ctx.Done():
			return netip.AddrPort{}, ctx.Err()
		}
		wait *= 2
	}
	return netip.AddrPort{}, fmt.Errorf("binding request to %s: %w after %d tries", txn.to, errNoAnswer, c.timing.Tries)
}

// expect makes txn sv's outstanding request, in place of any other.
func (c *stunClient) expect(sv *stunServer, id [stun.TransactionIDSize]byte, to netip.AddrPort) *stunTxn {
	txn := &stunTxn{id: id, to: to, answer: make(chan stunAnswer, 1)}
	c.mu.Lock()
	defer c.mu.Unlock()
	sv.txn = txn
	return txn
}

// forget ends txn: later answers to it are dropped.
func (c *stunClient) forget(sv *stunServer, txn *stunTxn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if sv.txn == txn {
		sv.txn = nil
	}
}

// record keeps the outcome of sv's round.
func (c *stunClient) record(sv *stunServer, mapped, from netip.AddrPort, err error) {
	res := STUNResult{Server: sv.name, Mapped: mapped, When: time.Now()}
	if err != nil {
		res.Err = err.Error()
		c.log.Debug("stun round failed", "server", sv.name, "err", err)
	} else {
		c.log.Debug("stun answer", "server", sv.name, "mapped", mapped)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	sv.res, sv.from = res, from
}

// take handles b if it is a STUN message, saying whether it was: an
// answer to an outstanding request goes to its round, anything else is
// dropped and counted.
func (c *stunClient) take(b []byte, from netip.AddrPort) bool {
	if !isSTUN(b) {
		return false
	}
	if !c.accept(b, netip.AddrPortFrom(from.Addr().Unmap(), from.Port())) {
		c.dropped.Add(1)
	}
	return true
}

// accept hands b to its request if it answers one sent to from.
func (c *stunClient) accept(b []byte, from netip.AddrPort) bool {
	var m stun.Message
	if stun.Decode(b, &m) != nil || (m.Type != stun.BindingSuccess && m.Type != stun.BindingError) {
		return false
	}
	if m.Contains(stun.AttrFingerprint) && stun.Fingerprint.Check(&m) != nil {
		return false
	}
	txn := c.claim(m.TransactionID, from)
	if txn == nil {
		return false
	}
	mapped, err := bindingAnswer(&m)
	txn.answer <- stunAnswer{mapped, err}
	return true
}

// claim removes and returns the request with transaction id outstanding
// at from, if there is one.
func (c *stunClient) claim(id [stun.TransactionIDSize]byte, from netip.AddrPort) *stunTxn {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, sv := range c.servers {
		if txn := sv.txn; txn != nil && txn.id == id && txn.to == from {
			sv.txn = nil
			return txn
		}
	}
	return nil
}

// snapshot returns each server's last round and the address it had.
func (c *stunClient) snapshot() []stunSeen {
	c.mu.Lock()
	defer c.mu.Unlock()
	seen := make([]stunSeen, len(c.servers))
	for i, sv := range c.servers {
		seen[i] = stunSeen{res: sv.res, server: sv.from}
	}
	return seen
}

// stunSeen is a server's last round and the server's address in it.
type stunSeen struct {
	res    STUNResult
	server netip.AddrPort
}

// isSTUN says whether b looks like a STUN message: the first two bits zero
// and the magic cookie at bytes 4-7 (RFC 5389 §6). A DHT message starts
// with 0x58 or 0x08 and has no cookie there.
func isSTUN(b []byte) bool {
	return len(b) > 0 && b[0]&0xc0 == 0 && stun.IsMessage(b)
}

// bindingAnswer is what a Binding answer says: the mapped address of a
// success, XOR-MAPPED-ADDRESS or else MAPPED-ADDRESS, or the error of an
// error response.
func bindingAnswer(m *stun.Message) (netip.AddrPort, error) {
	if m.Type == stun.BindingError {
		var code stun.ErrorCodeAttribute
		if err := code.GetFrom(m); err != nil {
			return netip.AddrPort{}, fmt.Errorf("read binding error response: %w", err)
		}
		return netip.AddrPort{}, fmt.Errorf("binding error response: %s", code)
	}
	var xor stun.XORMappedAddress
	xerr := xor.GetFrom(m)
	if xerr == nil {
		return mappedAddrPort(xor.IP, xor.Port)
	}
	var plain stun.MappedAddress
	if err := plain.GetFrom(m); err != nil {
		return netip.AddrPort{}, fmt.Errorf("read mapped address: %w", errors.Join(xerr, err))
	}
	return mappedAddrPort(plain.IP, plain.Port)
}

// mappedAddrPort converts a decoded mapped address.
func mappedAddrPort(ip net.IP, port int) (netip.AddrPort, error) {
	a, ok := netip.AddrFromSlice(ip)
	if !ok || a.Unmap().IsUnspecified() || port <= 0 || port > 65535 {
		return netip.AddrPort{}, fmt.Errorf("read mapped address: bad address %s port %d", ip, port)
	}
	return netip.AddrPortFrom(a.Unmap(), uint16(port)), nil
}

// resolveUDP4 resolves a STUN server's HOST:PORT to an IPv4 address, the
// port's UDP socket being IPv4.
func resolveUDP4(ctx context.Context, hostport string) (netip.AddrPort, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve stun server %s: %w", hostport, err)
	}
	p, err := net.DefaultResolver.LookupPort(ctx, "udp", port)
	if err != nil || p <= 0 || p > 65535 {
		return netip.AddrPort{}, fmt.Errorf("resolve stun server %s: bad port %q", hostport, port)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip4", host)
	if err == nil && len(ips) == 0 {
		err = errors.New("no ipv4 address")
	}
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("resolve stun server %s: %w", hostport, err)
	}
	return netip.AddrPortFrom(ips[0].Unmap(), uint16(p)), nil
}

// sleepCtx waits d; false means ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
