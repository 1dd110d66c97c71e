package rpc

import (
	"fmt"
	"sync"

	capnp "capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// Bounds of what one connection may leave queued, unread, in the daemon:
// answers and events built but not yet written because the client does
// not read. Past either the client is dropped; others are unaffected.
//
// capnp keeps an answer's message until the client Finishes the question,
// which a fast honest client does up to a quarter second late: the message
// bound therefore sits above the guard's bound on unfinished questions, and
// the byte bound is what keeps memory in check.
const (
	maxQueuedBytes    = 64 << 20
	maxQueuedMessages = 2 * 65536
)

// sendLimit counts the messages capnp made for the peer and has not
// released (written, or dropped), and the bytes the server's large answers
// (blocks, cursor batches) put in them: the handlers charge what they
// write to the message of their answer, so nothing reads a message capnp
// may still be building.
type sendLimit struct {
	transport.Transport
	maxBytes int64
	maxMsgs  int
	onDrop   func(reason string)

	mu      sync.Mutex
	queued  map[*capnp.Message]*countedMsg
	bytes   int64
	dropped bool
}

func limitSends(t transport.Transport, maxBytes int64, maxMsgs int, onDrop func(string)) *sendLimit {
	return &sendLimit{Transport: t, maxBytes: maxBytes, maxMsgs: maxMsgs, onDrop: onDrop, queued: map[*capnp.Message]*countedMsg{}}
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

// charge counts n bytes written into msg (the message of an answer), and
// drops the connection when the unread bytes pass the bound.
func (s *sendLimit) charge(msg *capnp.Message, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.queued[msg]
	if m == nil {
		return
	}
	m.size += int64(n)
	s.bytes += int64(n)
	if s.bytes > s.maxBytes {
		s.dropLocked(fmt.Sprintf("%d messages, %d bytes unread", len(s.queued), s.bytes))
	}
}

// dropLocked ends the connection once. s.mu is held.
func (s *sendLimit) dropLocked(reason string) {
	if s.dropped {
		return
	}
	s.dropped = true
	if s.onDrop != nil {
		go s.onDrop(reason)
	}
	go s.Transport.Close()
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
	}
	m.s.mu.Unlock()
	m.OutgoingMessage.Release()
}

func (m *countedMsg) Message() rpccp.Message { return m.OutgoingMessage.Message() }
