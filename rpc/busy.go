package rpc

import (
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	capnp "capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/exc"
	"capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// abortFrame is a whole Cap'n Proto Abort message in stream framing whose
// reason carries err's wire code, so a client reads why it was refused
// before its first answer.
func abortFrame(err error) []byte {
	msg, seg, e := capnp.NewMessage(capnp.SingleSegment(nil))
	if e != nil {
		panic(e) // unreachable: a fresh single-segment message
	}
	m, _ := rpccp.NewRootMessage(seg)
	abort, _ := m.NewAbort()
	abort.SetType(rpccp.Exception_Type_overloaded)
	abort.SetReason(toWire(err).Error())
	b, e := msg.Marshal()
	if e != nil {
		panic(e) // unreachable: the message was just built
	}
	return b
}

// answerBusy writes the busy abort to an over-the-cap unix connection at
// once, then lets it linger a moment, reading and dropping what the client
// sends, so the client reads the reason instead of a broken pipe.
func answerBusy(conn net.Conn, frame []byte) {
	conn.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	conn.Write(frame)
	conn.SetReadDeadline(time.Now().Add(busyTimeout))
	buf := make([]byte, 512)
	for {
		if _, err := conn.Read(buf); err != nil {
			return
		}
	}
}

// busyError is the refusal of an over-the-cap client.
func busyError(max int) error {
	return fmt.Errorf("the daemon serves %d clients already, its limit (hsp daemon --max-clients): %w", max, ErrBusy)
}

// abortWatch is the client's transport: it keeps the reason of an Abort
// the daemon sends, so a refused handshake reports why.
type abortWatch struct {
	transport.Transport
	reason atomic.Pointer[string]
}

func (w *abortWatch) RecvMessage() (transport.IncomingMessage, error) {
	in, err := w.Transport.RecvMessage()
	if err == nil && in.Message().Which() == rpccp.Message_Which_abort {
		if e, err := in.Message().Abort(); err == nil {
			if r, err := e.Reason(); err == nil {
				w.reason.Store(&r)
			}
		}
	}
	return in, err
}

// handshakeErr explains a failed hello: the reason of the daemon's abort
// if it sent one; a daemon that hung up before answering is busy (it
// accepts and drops connections past its cap when flooded).
func (w *abortWatch) handshakeErr(err error) error {
	for range 20 { // the reader may lag the failed send a moment
		if r := w.reason.Load(); r != nil {
			return fromWire(exc.New(exc.Failed, "", *r))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if exc.TypeOf(err) == exc.Disconnected {
		return fmt.Errorf("the daemon hung up before answering: %w", ErrBusy)
	}
	return wireErr(err)
}

// busyGate bounds the over-the-cap connections lingering at once.
type busyGate struct {
	mu sync.Mutex
	n  int
}

func (g *busyGate) enter() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n >= busyResponders {
		return false
	}
	g.n++
	return true
}

func (g *busyGate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.n--
}
