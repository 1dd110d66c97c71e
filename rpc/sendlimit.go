package rpc

import (
	"fmt"
	"sync"
	"time"

	"capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// Bounds of what one connection may leave queued, unread, in the daemon:
// answers and events built but not yet written because the client does
// not read. Past either the client is dropped; others are unaffected.
const (
	maxQueuedBytes    = 64 << 20
	maxQueuedMessages = 8192
	// watchFrom is the number of queued messages from which the sizes are
	// watched; below it a connection costs nothing extra.
	watchFrom = 16
	// watchEvery is how often queued sizes are measured while watched.
	watchEvery = 20 * time.Millisecond
)

// sendLimit keeps count of the messages capnp made for the peer and has
// not released (written, or dropped). capnp makes an answer's message when
// the call arrives and fills it later, so sizes are measured while the
// queue is long rather than when a message is made.
type sendLimit struct {
	transport.Transport
	maxBytes int64
	maxMsgs  int
	onDrop   func(reason string)

	mu       sync.Mutex
	queued   map[*countedMsg]struct{}
	watching bool
	dropped  bool
}

func limitSends(t transport.Transport, maxBytes int64, maxMsgs int, onDrop func(string)) *sendLimit {
	return &sendLimit{Transport: t, maxBytes: maxBytes, maxMsgs: maxMsgs, onDrop: onDrop, queued: map[*countedMsg]struct{}{}}
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
	m := &countedMsg{OutgoingMessage: out, s: s}
	s.mu.Lock()
	s.queued[m] = struct{}{}
	if len(s.queued) >= watchFrom && !s.watching {
		s.watching = true
		go s.watch()
	}
	s.mu.Unlock()
	return m, nil
}

// watch measures the queued messages until the queue is short again, and
// drops the connection when they hold more than maxBytes.
func (s *sendLimit) watch() {
	tick := time.NewTicker(watchEvery)
	defer tick.Stop()
	for range tick.C {
		s.mu.Lock()
		if s.dropped || len(s.queued) < watchFrom {
			s.watching = false
			s.mu.Unlock()
			return
		}
		if total := s.queuedBytes(); total > s.maxBytes {
			s.dropLocked(fmt.Sprintf("%d messages, %d bytes unread", len(s.queued), total))
		}
		s.mu.Unlock()
	}
}

// queuedBytes sums the queued messages' sizes. s.mu is held.
func (s *sendLimit) queuedBytes() int64 {
	total := int64(0)
	for m := range s.queued {
		if size, err := m.Message().Segment().Message().TotalSize(); err == nil {
			total += int64(size)
		}
	}
	return total
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
	s *sendLimit
}

func (m *countedMsg) Release() {
	m.s.mu.Lock()
	delete(m.s.queued, m)
	m.s.mu.Unlock()
	m.OutgoingMessage.Release()
}

func (m *countedMsg) Message() rpccp.Message { return m.OutgoingMessage.Message() }
