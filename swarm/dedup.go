package swarm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/hspd/hsp/swarm/wire"
)

// Two peers that both announce and look up a topic often dial each other
// at once. Right after a handshake the swarm applies hyperswarm's rule
// (spec §5.4, queue.js deduplicate) to the new connection and the live one
// with the same pair of Noise static keys, if any; both ends apply it and
// so agree on the connection that survives. The other is the duplicate:
// its client closes it at once (and the peer queue bans the address it
// dialled until the survivor ends); its server does nothing and waits for
// the client to close it. No Handler starts on a connection that is the
// duplicate when its handshake ends (the server holds it, reading and
// dropping what comes to see the close); one already running on a live
// connection that a later one beats runs until that is closed, as in JS.
// Since a client that never closes its duplicate would hold a place for
// good, the server closes it itself HandshakeTimeout after the handshake
// that made it one.

var (
	// ErrDuplicate: a dialled connection lost to a live one to the same
	// peer (the same Noise key) by the rule of §5.4, and was closed.
	ErrDuplicate = errors.New("duplicate connection")
	// ErrSelf: a connection reached our own swarm (the remote's Noise key
	// is ours); it was closed.
	ErrSelf = errors.New("connected to ourselves")
)

// duplicateError is ErrDuplicate naming the connection that survives.
type duplicateError struct{ survivor *peer }

func (e *duplicateError) Error() string {
	return fmt.Sprintf("duplicate of connection %d", e.survivor.conn.ID)
}

func (e *duplicateError) Is(target error) bool { return target == ErrDuplicate }

// dedupRole is one connection's part in the rule.
type dedupRole struct {
	Transport string
	Client    bool // we dialled it (the Noise initiator)
}

// dedupVerdict is the rule's decision on a new connection.
type dedupVerdict uint8

const (
	dedupKeep      dedupVerdict = iota + 1 // no live connection with the keys: keep the new one
	dedupSelf                              // the remote is us: close the new one
	dedupDropNew                           // the new one is the duplicate
	dedupDropOther                         // the live one is the duplicate; the new one survives
)

// dedupRule decides on a new connection between our key local and the
// remote's key remote, given the live connection with the same keys
// (nil: none).
func dedupRule(local, remote [32]byte, other *dedupRole, fresh dedupRole) dedupVerdict {
	switch {
	case local == remote:
		return dedupSelf
	case other == nil:
		return dedupKeep
	case freshWins(local, remote, *other, fresh):
		return dedupDropOther
	}
	return dedupDropNew
}

// freshWins: over different transports TCP survives; over the same one,
// when our key is the lower the new connection wins exactly when we are
// its client, when it is the higher exactly when we are its server. So
// of a crossing pair the connection the lower key dialled survives.
func freshWins(local, remote [32]byte, other, fresh dedupRole) bool {
	if other.Transport != fresh.Transport {
		return fresh.Transport == TransportTCP
	}
	if bytes.Compare(local[:], remote[:]) < 0 {
		return fresh.Client
	}
	return !fresh.Client
}

func roleOf(p *peer) dedupRole {
	return dedupRole{Transport: p.conn.Transport, Client: p.conn.Initiator}
}

// dedupLocked applies the rule to p, just handshaken, against the live
// connection with the same remote key, flagging p (p.self, p.dup) when it
// is to go. A live connection that loses is flagged too, and closed at
// once when we are its client, else bounded (dropLiveDuplicate).
func (s *Swarm) dedupLocked(p *peer) {
	remote := p.conn.RemotePublicKey
	other := s.liveLocked(remote, p)
	var otherRole *dedupRole
	if other != nil {
		r := roleOf(other)
		otherRole = &r
	}
	switch dedupRule(s.opts.KeyPair.Public, remote, otherRole, roleOf(p)) {
	case dedupSelf:
		p.self = true
		s.stats.duplicatesClosed.Add(1)
	case dedupDropNew:
		p.dup = other
		if p.conn.Initiator {
			s.stats.duplicatesClosed.Add(1)
		}
	case dedupDropOther:
		other.dup = p
		s.dropLiveDuplicate(other)
	}
}

// closedByDedup says why p, just handshaken, is to be closed at once:
// ErrSelf, or a duplicateError when p is a duplicate we are the client
// of. Nil otherwise, a duplicate we are the server of included.
func (s *Swarm) closedByDedup(p *peer) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case p.self:
		return ErrSelf
	case p.dup != nil && p.conn.Initiator:
		return &duplicateError{survivor: p.dup}
	}
	return nil
}

// liveLocked is the live connection other than p with the remote key: up,
// no duplicate, its stream not ended.
func (s *Swarm) liveLocked(remote [32]byte, p *peer) *peer {
	for _, q := range s.peers {
		if q != p && q.up && q.dup == nil && q.conn.RemotePublicKey == remote && q.st.Err() == nil {
			return q
		}
	}
	return nil
}

// dropLiveDuplicate ends p, a live connection that has just become the
// duplicate: at once when we are its client, else HandshakeTimeout later
// unless its client closes it first. Its handler runs until then.
func (s *Swarm) dropLiveDuplicate(p *peer) {
	s.log.Debug("duplicate connection", "id", p.conn.ID, "survivor", p.dup.conn.ID, "initiator", p.conn.Initiator)
	if p.conn.Initiator {
		s.stats.duplicatesClosed.Add(1)
		p.cancel(ErrDuplicate)
		return
	}
	time.AfterFunc(s.opts.HandshakeTimeout, func() {
		select {
		case <-p.done:
		default:
			s.stats.duplicatesClosed.Add(1)
			p.cancel(ErrDuplicate)
		}
	})
}

// holdDuplicate keeps p from its handler when the rule flagged it: a
// duplicate we are the server of is held until its client closes it,
// HandshakeTimeout passes or the connection it lost to ends (its stream
// read, what comes dropped, to see the close); one to close at once
// (closedByDedup, for callers that did not check) is closed. False when p
// is to be served.
//
// The survivor can end first when the two sides ranked the pair apart
// (each ranks by when its own handshakes ended): the other side then
// closed what we kept and uses what we hold. Closing it at once lets
// that side dial again now instead of after HandshakeTimeout.
func (s *Swarm) holdDuplicate(ctx context.Context, p *peer, st *wire.Stream) bool {
	if err := s.closedByDedup(p); err != nil {
		s.log.Debug("connection closed", "id", p.conn.ID, "err", err)
		return true
	}
	survivor := s.duplicateOf(p)
	if survivor == nil {
		return false
	}
	hctx, cancel := context.WithTimeout(ctx, s.opts.HandshakeTimeout)
	defer cancel()
	var survivorEnded atomic.Bool
	go func() {
		select {
		case <-survivor.done:
			survivorEnded.Store(true)
			cancel()
		case <-hctx.Done():
		}
	}()
	for {
		if _, err := st.Recv(hctx); err != nil {
			ended := survivorEnded.Load()
			timedOut := hctx.Err() != nil && ctx.Err() == nil && !ended
			if timedOut || ended {
				s.stats.duplicatesClosed.Add(1)
			}
			s.log.Debug("duplicate connection ended", "id", p.conn.ID, "survivor", survivor.conn.ID,
				"timedOut", timedOut, "survivorEnded", ended, "err", err)
			return true
		}
	}
}

// duplicateOf is the connection p lost to, nil if p is no duplicate.
func (s *Swarm) duplicateOf(p *peer) *peer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return p.dup
}
