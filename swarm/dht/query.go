package dht

import (
	"errors"
	"net/netip"
)

// Errors of a query walk, as dht-rpc's.
var (
	ErrNoNodes      = errors.New("no nodes responded")
	ErrNoCloseNodes = errors.New("no close nodes responded")
)

type phase int

const (
	walking phase = iota
	updating
	finished
)

// candidate is a node a query knows of; referrer is the node that named it.
type candidate struct {
	NodeInfo
	referrer netip.AddrPort
	token    []byte
	queried  bool
	inflight bool
	stalled  bool // its request went unanswered until a retry
	fast     bool
}

// query is dht-rpc's QueryStream: a walk towards target sending command
// (query mode) or _find_node (update-only mode), then, with update, an
// UPDATE to the ≤ 20 closest nodes that answered with an id and a token.
type query struct {
	n          *Node
	target     ID
	command    string
	value      []byte
	query      bool // send command itself while walking
	update     bool // run the update phase
	phase      phase
	unverified []*candidate
	closest    []*candidate
	inflight   [2]int // per phase
	stalled    [2]int // of those, stalled
	sent       int
	responses  int
	updates    int
	onValue    func(res *Message, from netip.AddrPort) // a response during the walk
	onDone     func(err error)
	timer      Timer
}

// start seeds the walk from the table, and from the bootstrap nodes when
// the table knows fewer nodes than there are of them. Called locked.
func (q *query) start() {
	n := q.n
	n.queries++
	q.timer = n.clock.AfterFunc(n.timing.QueryTimeout, func() {
		n.do(func() {
			if q.phase == walking {
				q.endWalk()
			}
		})
	})
	seed := n.table.closest(q.target, K)
	for _, c := range seed {
		q.addUnverified(c.NodeInfo, netip.AddrPort{})
	}
	if len(seed) < len(n.bootAddrs) {
		for _, a := range n.bootAddrs {
			q.send(&candidate{NodeInfo: NodeInfo{Addr: a}}, false)
		}
	}
	q.step()
}

func (q *query) addUnverified(node NodeInfo, referrer netip.AddrPort) {
	if node.ID == q.n.id {
		return
	}
	c := &candidate{NodeInfo: node, referrer: referrer}
	q.unverified = insertSorted(q.target, q.unverified, c)
}

func (q *query) addVerified(res *Message, from netip.AddrPort) {
	id, ok := idFrom(res.ID)
	if !ok || res.Token == nil || id == q.n.id {
		return
	}
	c := findCandidate(q.unverified, id)
	if c == nil {
		c = &candidate{NodeInfo: NodeInfo{ID: id, Addr: from}}
	}
	c.token = res.Token
	q.closest = insertSorted(q.target, q.closest, c)
}

// insertSorted keeps list sorted by distance to target, at most K long.
func insertSorted(target ID, list []*candidate, c *candidate) []*candidate {
	if len(list) == K && !closer(target, c.ID, list[K-1].ID) {
		return list
	}
	if findCandidate(list, c.ID) != nil {
		return list
	}
	if len(list) < K {
		list = append(list, c)
	} else {
		list[K-1] = c
	}
	for i := len(list) - 1; i > 0 && closer(target, c.ID, list[i-1].ID); i-- {
		list[i], list[i-1] = list[i-1], list[i]
	}
	return list
}

func findCandidate(list []*candidate, id ID) *candidate {
	for _, c := range list {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// send sends the walk's request (or, updating, the UPDATE) to c.
func (q *query) send(c *candidate, isUpdate bool) {
	n := q.n
	p := q.phase
	q.inflight[p]++
	q.sent++
	c.inflight = true
	msg := Message{Version: ProtocolVersion, Type: TypeQuery, To: encodePeer(c.Addr),
		ID: n.idBytes(), Target: q.target[:], Command: q.command, Value: q.value}
	switch {
	case isUpdate:
		msg.Type, msg.Token = TypeUpdate, c.token
	case !q.query:
		msg.Command, msg.Value = cmdFindNode, nil
	}
	r := &request{msg: msg, to: c.Addr, referrer: c.referrer, fast: &c.fast,
		done:    func(res *Message, from netip.AddrPort, err error) { q.onResponse(p, c, res, from, err) },
		onRetry: func() { q.onStall(p, c) }}
	n.request(r)
}

// onStall: a request is being retried. The walk stops waiting for it, so
// that silent nodes cost one retry interval, not the full timeout.
func (q *query) onStall(p phase, c *candidate) {
	if c.stalled || !c.inflight {
		return
	}
	c.stalled = true
	q.stalled[p]++
	if q.phase == p {
		q.step()
	}
}

func (q *query) onResponse(p phase, c *candidate, res *Message, from netip.AddrPort, err error) {
	q.inflight[p]--
	c.inflight = false
	if c.stalled {
		c.stalled = false
		q.stalled[p]--
	}
	if err != nil && !c.ID.IsZero() && q.n.table.get(c.ID) != nil {
		q.n.removeNode(c.ID)
	}
	if q.phase != p {
		q.step()
		return
	}
	if err != nil {
		q.step()
		return
	}
	q.responses++
	q.addVerified(res, from)
	if p == walking {
		for _, node := range decodeNodes(res.CloserNodes, 4*K) {
			q.addUnverified(node, from)
		}
	} else {
		q.updates++
	}
	if res.Error != "" {
		q.n.log.Debug("query warning", "command", q.command, "from", from, "error", res.Error)
	} else if p == walking && q.query && q.onValue != nil {
		q.onValue(res, from)
	}
	q.step()
}

func (q *query) step() {
	if q.n.closed {
		q.finish(ErrClosed)
		return
	}
	switch q.phase {
	case walking:
		q.moveCloser()
	case updating:
		q.sendUpdates()
	}
}

// free is how many requests the query may start now. dht-rpc counts the
// whole socket's requests in flight here, so that concurrent walks
// stall one another behind silent nodes; we count the walk's own and let
// the request queue (Options.RPS) throttle the socket.
func (q *query) free() int {
	return max(0, q.n.conc-q.waiting(q.phase))
}

// waiting counts the phase's requests in flight and not stalled.
func (q *query) waiting(p phase) int { return q.inflight[p] - q.stalled[p] }

func (q *query) moveCloser() {
	if q.converged() || q.sent >= q.n.limits.QueryRequests {
		q.endWalk()
		return
	}
	sent, free := 0, q.free()
	for _, c := range q.unverified {
		if sent == free {
			break
		}
		if !c.queried {
			c.queried = true
			q.send(c, false)
			sent++
		}
	}
	if sent == 0 && q.waiting(walking) == 0 && (q.inflight[walking] == 0 || q.responses > 0) {
		q.endWalk()
	}
}

// converged reports that K nodes answered and no closer node is left to
// ask or still being asked, so late answers cannot change the result.
func (q *query) converged() bool {
	if len(q.closest) < K {
		return false
	}
	far := q.closest[K-1].ID
	for _, c := range q.unverified {
		if (!c.queried || c.inflight && !c.stalled) && closer(q.target, c.ID, far) {
			return false
		}
	}
	return true
}

func (q *query) endWalk() {
	if !q.update {
		q.finish(nil)
		return
	}
	for _, c := range q.closest {
		c.queried = false
	}
	q.phase = updating
	q.sendUpdates()
}

func (q *query) sendUpdates() {
	sent, free := 0, q.free()
	for _, c := range q.closest {
		if sent == free {
			break
		}
		if !c.queried && c.token != nil {
			c.queried = true
			q.send(c, true)
			sent++
		}
	}
	if sent == 0 && q.waiting(updating) == 0 && (q.inflight[updating] == 0 || q.updates > 0) {
		q.finish(nil)
	}
}

// finish ends the query once; err nil becomes the walk's own verdict.
func (q *query) finish(err error) {
	if q.phase == finished {
		return
	}
	was := q.phase
	q.phase = finished
	q.n.queries--
	q.timer.Stop()
	if err == nil && q.responses == 0 {
		err = ErrNoNodes
	}
	if err == nil && was == updating && q.updates == 0 {
		err = ErrNoCloseNodes
	}
	q.onDone(err)
}
