package rpc

import (
	"errors"
	"sync"

	"capnproto.org/go/capnp/v3/rpc/transport"
)

// recvLimit bounds the bytes of the client's messages the daemon holds at
// once: calls read and not yet done with, mostly appends. The calls in
// progress are bounded in number, but 1,024 appends of 64 MiB pipelined
// faster than they commit would be 64 GiB. Reading the next message waits
// while the connection holds its bound, so such a client is slowed by its
// own socket, and the daemon holds at most the bound plus one message.
//
// The bound is above what the calls that wait for later messages can hold
// (appends in parts gathering), so a connection never waits for itself.
type recvLimit struct {
	transport.Transport
	max  int64
	size func() int64 // the bytes of the message RecvMessage returned last

	mu        sync.Mutex
	held      int64
	freed     wakeup        // when a message is released
	done      chan struct{} // closed with the transport
	closeOnce sync.Once
}

// limitRecvs bounds t's messages held at max bytes; size tells the bytes of
// the message t returned last, from its framing, since a message has not
// been checked yet when it is counted.
func limitRecvs(t transport.Transport, max int64, size func() int64) *recvLimit {
	return &recvLimit{Transport: t, max: max, size: size, done: make(chan struct{})}
}

// errRecvClosed: the transport closed while a read waited for room.
var errRecvClosed = errors.New("connection closed while waiting for room to read")

func (r *recvLimit) RecvMessage() (transport.IncomingMessage, error) {
	for {
		r.mu.Lock()
		if r.held < r.max {
			r.mu.Unlock()
			break
		}
		freed := r.freed.next()
		r.mu.Unlock()
		select {
		case <-freed:
		case <-r.done:
			return nil, errRecvClosed
		}
	}
	in, err := r.Transport.RecvMessage()
	if err != nil {
		return in, err
	}
	n := r.size()
	r.mu.Lock()
	r.held += n
	r.mu.Unlock()
	return &countedIn{IncomingMessage: in, r: r, n: n}, nil
}

// holding reports the bytes of messages read and not yet released.
func (r *recvLimit) holding() int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.held
}

func (r *recvLimit) Close() error {
	r.closeOnce.Do(func() { close(r.done) })
	return r.Transport.Close()
}

// countedIn is a message recvLimit counts until its release.
type countedIn struct {
	transport.IncomingMessage
	r    *recvLimit
	once sync.Once
	n    int64
}

func (m *countedIn) Release() {
	m.once.Do(func() {
		m.r.mu.Lock()
		m.r.held -= m.n
		m.r.freed.wake()
		m.r.mu.Unlock()
	})
	m.IncomingMessage.Release()
}
