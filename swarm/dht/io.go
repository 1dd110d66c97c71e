package dht

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"time"
)

// Request errors.
var (
	ErrTimeout    = errors.New("request timed out")
	ErrOverloaded = errors.New("too many pending requests")
)

const maxTries = 3 // sends per request, as dht-rpc's TRIES

// request is one outgoing QUERY or UPDATE awaiting its response.
type request struct {
	rid      uint16
	msg      Message
	buf      []byte
	to       netip.AddrPort
	expect   *ID            // the id we expect to answer (a table node)
	referrer netip.AddrPort // the node that told us of `to`, if valid
	fast     *bool          // fast holepunch sent, shared per node object
	timeout  int
	tries    int
	hp       Timer
	done     func(res *Message, from netip.AddrPort, err error)
	onRetry  func() // called locked before each retry
}

// ioState is dht-rpc's IO: the rid map, the wait queue and the send rate.
type ioState struct {
	rid      uint16
	inflight map[uint16]*request
	pending  []*request
	sends    []time.Time // ring of the last rps request send times
	sendPos  int
}

func newIOState(rps int) ioState {
	return ioState{
		rid:      uint16(rand.IntN(65536)),
		inflight: map[uint16]*request{},
		sends:    make([]time.Time, rps),
	}
}

// freeRID returns the next rid not in flight.
func (io *ioState) freeRID() uint16 {
	for range 65536 {
		r := io.rid
		io.rid++
		if io.inflight[r] == nil {
			return r
		}
	}
	return io.rid
}

// saturated is dht-rpc's throttle: rps sends in the last second and
// concurrency requests in flight; or our hard inflight bound.
func (n *Node) saturated() bool {
	io := &n.io
	if len(io.inflight) >= n.limits.Inflight {
		return true
	}
	oldest := io.sends[io.sendPos]
	fast := !oldest.IsZero() && n.clock.Now().Sub(oldest) < time.Second
	return fast && len(io.inflight) >= n.conc
}

// request queues or sends r; r.done is called exactly once, under the lock.
func (n *Node) request(r *request) {
	if n.closed {
		n.later(func() { r.done(nil, netip.AddrPort{}, ErrClosed) })
		return
	}
	if len(n.io.pending) > 0 || n.saturated() {
		if len(n.io.pending) >= n.limits.Pending {
			n.later(func() { r.done(nil, netip.AddrPort{}, ErrOverloaded) })
			return
		}
		n.io.pending = append(n.io.pending, r)
		return
	}
	n.requestNow(r)
}

func (n *Node) requestNow(r *request) {
	io := &n.io
	r.rid = io.freeRID()
	r.msg.RID = uint64(r.rid)
	r.buf = r.msg.Encode()
	r.timeout = 4
	io.sends[io.sendPos] = n.clock.Now()
	io.sendPos = (io.sendPos + 1) % len(io.sends)
	if r.referrer.IsValid() && r.fast != nil && !*r.fast {
		*r.fast = true
		rid := r.rid
		r.hp = n.clock.AfterFunc(n.timing.FastHolepunch, func() {
			n.do(func() {
				if cur := n.io.inflight[rid]; cur == r {
					n.holepunchVia(r)
				}
			})
		})
	}
	io.inflight[r.rid] = r
	n.sendTo(r.buf, r.to)
	if r.msg.Command == cmdHolepunch {
		n.holepunchVia(r)
	}
}

// holepunchVia asks r's referrer to relay a holepunch to r.to. For a
// _holepunch request it carries the request's rid, so that the punched
// node's answer completes it; otherwise a fresh one.
func (n *Node) holepunchVia(r *request) {
	rid := uint64(r.rid)
	if r.msg.Command != cmdHolepunch {
		rid = uint64(n.io.freeRID())
	}
	punch := Message{
		Version: ProtocolVersion, Type: TypeQuery, RID: rid,
		To: encodePeer(r.referrer), ID: r.msg.ID, Command: cmdHolepunch,
		Value: (&Holepunch{To: encodePeer(r.to)}).Encode(),
	}
	n.sendTo(punch.Encode(), r.referrer)
}

// finish completes the request with rid, if any.
func (n *Node) finish(rid uint16, res *Message, from netip.AddrPort, err error) {
	r := n.io.inflight[rid]
	if r == nil {
		return
	}
	delete(n.io.inflight, rid)
	if r.hp != nil {
		r.hp.Stop()
	}
	if res != nil && r.expect != nil {
		if id, ok := idFrom(res.ID); !ok || id != *r.expect {
			n.removeNode(*r.expect)
		}
	}
	r.done(res, from, err)
	n.drain()
}

// cancel fails r with err, whether it waits in the queue or is in flight.
func (n *Node) cancel(r *request, err error) {
	for i, p := range n.io.pending {
		if p == r {
			n.io.pending = append(n.io.pending[:i], n.io.pending[i+1:]...)
			r.done(nil, netip.AddrPort{}, err)
			return
		}
	}
	if n.io.inflight[r.rid] == r {
		n.finish(r.rid, nil, netip.AddrPort{}, err)
	}
}

func (n *Node) drain() {
	for len(n.io.pending) > 0 && !n.saturated() && !n.closed {
		r := n.io.pending[0]
		n.io.pending[0] = nil
		n.io.pending = n.io.pending[1:]
		n.requestNow(r)
	}
}

// ioTick retries and expires requests, as dht-rpc's 750 ms tick.
func (n *Node) ioTick() {
	for _, r := range n.inflightList() {
		if r.timeout == 2 && r.tries+1 < maxTries {
			if !n.saturated() {
				r.tries++
				n.retry(r)
			}
			continue
		}
		if r.timeout--; r.timeout > 0 {
			continue
		}
		n.finish(r.rid, nil, netip.AddrPort{}, ErrTimeout)
	}
	n.drain()
}

func (n *Node) inflightList() []*request {
	out := make([]*request, 0, len(n.io.inflight))
	for _, r := range n.io.inflight {
		out = append(out, r)
	}
	return out
}

func (n *Node) retry(r *request) {
	if r.onRetry != nil {
		n.later(r.onRetry)
	}
	r.timeout = 4
	n.sendTo(r.buf, r.to)
	if r.referrer.IsValid() {
		n.holepunchVia(r)
	}
}

// failAll fails every queued and in-flight request with err.
func (io *ioState) failAll(n *Node, err error) {
	pending := io.pending
	io.pending = nil
	for _, r := range pending {
		r.done(nil, netip.AddrPort{}, err)
	}
	for _, r := range n.inflightList() {
		n.finish(r.rid, nil, netip.AddrPort{}, err)
	}
}

// limiter counts datagrams per source address in one-second windows.
type limiter struct {
	perAddr, maxAddrs int
	window            time.Time
	counts            map[netip.AddrPort]int
}

func newLimiter(perAddr, maxAddrs int) limiter {
	return limiter{perAddr: perAddr, maxAddrs: maxAddrs, counts: map[netip.AddrPort]int{}}
}

func (l *limiter) allow(a netip.AddrPort, now time.Time) bool {
	if now.Sub(l.window) >= time.Second || now.Before(l.window) {
		l.window = now
		clear(l.counts)
	}
	c, ok := l.counts[a]
	if !ok && len(l.counts) >= l.maxAddrs {
		return false
	}
	if c >= l.perAddr {
		return false
	}
	l.counts[a] = c + 1
	return true
}
