package rpc

import (
	"context"
	"fmt"
	"sync"
	"time"

	capnp "capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// Bounds of what one connection may hold for its client in the daemon:
// answers and events built and not yet released.
//
// capnp keeps an answer's message until the client Finishes the question,
// and capnp-go's client sends each Finish 250 ms after the answer, however
// fast it reads. Large answers (blocks, cursor batches) therefore reserve
// their bytes first and wait while the connection holds maxQueuedBytes:
// a client reading faster than the bound per quarter second is slowed,
// never dropped. A client whose answers stay unreleased for SlowConsumer
// does not read them and is dropped. The message bound sits above the
// guard's bound on unfinished questions.
const (
	maxQueuedBytes    = 64 << 20
	maxQueuedMessages = 2 * 65536
)

// sendLimit counts the messages capnp made for the peer and has not
// released (written and Finished, or dropped), and the bytes the server's
// large answers put in them. The handlers reserve what they will write
// before they build their answer, then charge it to the answer's message,
// so nothing reads a message capnp may still be building.
type sendLimit struct {
	transport.Transport
	maxBytes int64
	maxMsgs  int
	maxWait  time.Duration // how long a reservation may wait for room
	onDrop   func(reason string)

	mu       sync.Mutex
	queued   map[*capnp.Message]*countedMsg
	bytes    int64  // charged to queued messages
	reserved int64  // reserved and not yet charged
	freed    wakeup // when room is made
	dropped  bool
}

func limitSends(t transport.Transport, maxBytes int64, maxMsgs int, maxWait time.Duration, onDrop func(string)) *sendLimit {
	return &sendLimit{Transport: t, maxBytes: maxBytes, maxMsgs: maxMsgs, maxWait: maxWait, onDrop: onDrop,
		queued: map[*capnp.Message]*countedMsg{}}
}

// errUnread: the peer left too much unread; its connection is dropped.
var errUnread = fmt.Errorf("the client does not read its answers: %w", ErrLimit)

func (s *sendLimit) NewMessage() (transport.OutgoingMessage, error) {
	s.mu.Lock()
	if s.dropped || len(s.queued) >= s.maxMsgs {
		s.dropLocked(fmt.Sprintf("%d messages unread", len(s.queued)))
		s.mu.Unlock()
		return nil, errUnread
	}
	s.mu.Unlock()
	out, err := s.Transport.NewMessage()
	if err != nil {
		return nil, err
	}
	m := &countedMsg{OutgoingMessage: out, s: s, msg: out.Message().Segment().Message()}
	s.mu.Lock()
	s.queued[m.msg] = m
	s.mu.Unlock()
	return m, nil
}

// reserve waits until n more bytes fit beside what the connection holds
// and what other answers reserved (a connection holding nothing always
// has room for one answer), then reserves them. It fails when ctx ends,
// and drops the connection when no room is made within maxWait.
func (s *sendLimit) reserve(ctx context.Context, n int64) (*sendReservation, error) {
	var timeout <-chan time.Time
	for {
		s.mu.Lock()
		if s.dropped {
			s.mu.Unlock()
			return nil, errUnread
		}
		held := s.bytes + s.reserved
		if held == 0 || held+n <= s.maxBytes {
			s.reserved += n
			s.mu.Unlock()
			return &sendReservation{s: s, n: n}, nil
		}
		freed := s.freed.next()
		s.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(s.maxWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-freed:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-timeout:
			s.mu.Lock()
			s.dropLocked(fmt.Sprintf("%d bytes unread for %s", s.bytes, s.maxWait))
			s.mu.Unlock()
			return nil, errUnread
		}
	}
}

// dropLocked ends the connection once. s.mu is held.
func (s *sendLimit) dropLocked(reason string) {
	if s.dropped {
		return
	}
	s.dropped = true
	s.freed.wake()
	if s.onDrop != nil {
		go s.onDrop(reason)
	}
	go s.Transport.Close()
}

// sendReservation is room reserve made for one answer.
type sendReservation struct {
	s *sendLimit
	n int64 // still reserved; guarded by s.mu
}

// charge moves the reservation onto msg, the message of the answer, as
// the n bytes written into it. A nil reservation charges nothing.
func (r *sendReservation) charge(msg *capnp.Message, n int) {
	if r == nil {
		return
	}
	s := r.s
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reserved -= r.n
	r.n = 0
	if m := s.queued[msg]; m != nil {
		m.size += int64(n)
		s.bytes += int64(n)
	}
	s.freed.wake()
}

// cancel gives back what was reserved and not charged. A nil reservation,
// or one already charged, gives back nothing.
func (r *sendReservation) cancel() {
	if r == nil {
		return
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.n != 0 {
		r.s.reserved -= r.n
		r.n = 0
		r.s.freed.wake()
	}
}

// countedMsg is a message sendLimit counts until its release.
type countedMsg struct {
	transport.OutgoingMessage
	s    *sendLimit
	msg  *capnp.Message
	size int64 // charged bytes; guarded by s.mu
}

func (m *countedMsg) Release() {
	m.s.mu.Lock()
	if m.s.queued[m.msg] == m {
		delete(m.s.queued, m.msg)
		m.s.bytes -= m.size
		if m.size != 0 {
			m.s.freed.wake()
		}
	}
	m.s.mu.Unlock()
	m.OutgoingMessage.Release()
}

func (m *countedMsg) Message() rpccp.Message { return m.OutgoingMessage.Message() }
