package rpc

import (
	"errors"
	"fmt"
	"sync"

	capnp "capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc/transport"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// The protocol guard stands between a connection's transport and capnp-go's
// Conn. capnp-go v3.1.0-alpha.2 (the newest we can use) trusts its peer in
// ways that let one message take the whole process down; the guard checks
// every message the peer sends against what the connection has seen so far
// and, on the first it refuses, fails RecvMessage, so that capnp aborts that
// one connection and nothing else.
//
// Inputs that crash (panic) the daemon through capnp-go v3.1.0-alpha.2,
// each refused here:
//
//   - A Call whose target is the promisedAnswer of its own question id:
//     handleCall registers the answer, then finds it as its own target
//     before its pipeline caller is set, and calls PipelineRecv on a nil
//     interface (rpc.go:961, from handleCall). 128 bytes, no Bootstrap
//     needed: issue 11.
//   - A senderLoopback Disembargo on the promisedAnswer of a call that
//     returned without allocating results (Core.close, Corestore.delete,
//     Daemon.stop, …): getAnswerSnapshot reads the cap table of a nil
//     *capnp.Message (rpc.go:1828).
//   - The Finish of a call whose Return capnp could not allocate (the
//     transport refused the message, as sendLimit does for a client that
//     does not read): capnp keeps a placeholder answer without a releaser
//     and the Finish dereferences it (rc.go:18, from handleFinish). The
//     guard's NewMessage never fails; see there.
//   - A payload whose cap table cannot be read: capnp logs it and goes on
//     with an empty cap table, so every capability in the params is null,
//     and Core.subscribe dereferences a null sink (found by
//     FuzzGuardSession). A well-formed null sink or extension handler
//     crashes it the same way: that one is for Core.subscribe and
//     Core.registerExtension to check, as the guard knows no schema.
//
// Inputs that capnp-go answers with an error or an abort but that cost
// memory, or tell of a broken or hostile peer, also refused: a reused
// question id; a Finish, Release, Return, Resolve or receiverLoopback
// naming nothing live (capnp-go panics on a second Resolve of a promise
// whose import outlives the first, "ClientPromise.Fulfill called more than
// once"); a target naming a finished question or a capability the peer
// does not hold; more questions in progress, answers unfinished,
// bootstraps or capabilities held than the limits (400,000 unfinished
// Bootstraps once grew the daemon by 879 MiB); cap tables and pipeline
// transforms past a bound; third-party handoff and results sent elsewhere;
// every message kind capnp-go does not serve (unimplemented, obsoleteSave,
// obsoleteDelete, provide, accept, join, thirdPartyAnswer, unknown); and
// any pointer that cannot be read.

// ErrProtocol is what a connection refused by its guard fails with: the
// peer broke the Cap'n Proto RPC protocol or a guard limit (or the
// transport could not make a message, which ends the connection too).
var ErrProtocol = errors.New("rpc protocol violation")

// ProtocolError is the error of a refused message; Err says why.
type ProtocolError struct {
	Err error
}

// Error says the connection was refused, and why.
func (e *ProtocolError) Error() string { return "rpc protocol violation: " + e.Err.Error() }

// Unwrap returns the cause, such as a pointer that could not be read.
func (e *ProtocolError) Unwrap() error { return e.Err }

// Is makes every ProtocolError match ErrProtocol.
func (e *ProtocolError) Is(target error) bool { return target == ErrProtocol }

// Reason is the cause as one line for a log.
func (e *ProtocolError) Reason() string { return e.Err.Error() }

// IsProtocolError reports whether err comes from a guard's refusal.
func IsProtocolError(err error) bool { return errors.Is(err, ErrProtocol) }

// GuardLimits bound what one peer can make a connection hold.
type GuardLimits struct {
	// Questions caps the peer's questions in progress: its calls and
	// bootstraps we have not answered yet.
	Questions int
	// Unfinished caps the peer's questions we have answered and it has not
	// yet Finished. capnp-go sends each Finish 250 ms after the answer, so
	// a client making 20,000 calls a second has 5,000 of them.
	Unfinished int
	// Bootstraps caps the peer's bootstraps not yet both answered and
	// Finished.
	Bootstraps int
	// Exports caps the capabilities the peer holds from us at once (and,
	// apart, the promises it has sent us and we hold).
	Exports int
	// CapTable caps the capabilities in one message.
	CapTable int
}

// DefaultGuardLimits are the limits a guard applies unless told otherwise.
var DefaultGuardLimits = GuardLimits{Questions: 4096, Unfinished: 65536, Bootstraps: 64, Exports: 16384, CapTable: 256}

// maxTransform bounds the operations of one pipeline transform.
const maxTransform = 64

// withDefaults fills the zero fields of l from DefaultGuardLimits.
func (l GuardLimits) withDefaults() GuardLimits {
	d := DefaultGuardLimits
	l.Questions, l.Unfinished = positiveOr(l.Questions, d.Questions), positiveOr(l.Unfinished, d.Unfinished)
	l.Bootstraps, l.Exports = positiveOr(l.Bootstraps, d.Bootstraps), positiveOr(l.Exports, d.Exports)
	l.CapTable = positiveOr(l.CapTable, d.CapTable)
	return l
}

// GuardOptions tune a Guard.
type GuardOptions struct {
	// Limits are the guard's bounds; zero fields take DefaultGuardLimits.
	Limits GuardLimits
	// OnAbort, when set, is told once why the guard refused the
	// connection, before the connection is aborted.
	OnAbort func(reason string)
}

// Guard is a transport.Transport that vets every message the peer sends
// before passing it on, and watches what we send so that it knows which
// questions and capabilities are live. The first message it refuses fails
// RecvMessage with a *ProtocolError, and capnp's Conn aborts the
// connection. Build one per connection with NewGuard.
type Guard struct {
	inner transport.Transport
	opts  GuardOptions

	closeOnce sync.Once
	closeErr  error

	mu  sync.Mutex
	st  *guardState
	err *ProtocolError // set once the guard has refused
}

// NewGuard wraps t, one connection's transport.
func NewGuard(t transport.Transport, opts GuardOptions) *Guard {
	opts.Limits = opts.Limits.withDefaults()
	return &Guard{inner: t, opts: opts, st: newGuardState(opts.Limits)}
}

// guardOptions are the guard limits of a server's connections: the
// defaults, raised with the server's own limits so that they never cut a
// session its Limits allow.
func (s *Server) guardOptions() GuardOptions {
	l := DefaultGuardLimits
	l.Questions = max(l.Questions, 4*s.opts.Limits.Calls)
	l.Exports = max(l.Exports, 4*s.opts.Limits.Cores)
	return GuardOptions{Limits: l}
}

// clientGuardOptions are the guard limits of a client's connection to the
// daemon. The daemon's calls to the client (events to a sink, extension
// messages to a handler) are streaming calls bounded by their flow window
// in bytes, not in number: a slow sink can have many thousands in
// progress, so the counts are bounded loosely here.
func clientGuardOptions() GuardOptions {
	return GuardOptions{Limits: GuardLimits{Questions: 1 << 18, Unfinished: 1 << 18}}
}

// Err returns the guard's refusal, or nil while it has refused nothing.
func (g *Guard) Err() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.err == nil {
		return nil
	}
	return g.err
}

// RecvMessage receives the peer's next message and vets it.
func (g *Guard) RecvMessage() (transport.IncomingMessage, error) {
	in, err := g.inner.RecvMessage()
	g.mu.Lock()
	if g.err != nil {
		perr := g.err
		g.mu.Unlock()
		if err == nil {
			in.Release()
		}
		return nil, perr
	}
	if err != nil {
		g.mu.Unlock()
		return nil, err
	}
	verr := g.st.recv(in.Message())
	g.mu.Unlock()
	if verr != nil {
		in.Release()
		return nil, g.refuse(verr)
	}
	return in, nil
}

// refuse records the guard's first refusal, tells OnAbort, and returns it.
func (g *Guard) refuse(cause error) *ProtocolError {
	g.mu.Lock()
	first := g.err == nil
	if first {
		g.err = &ProtocolError{Err: cause}
	}
	perr := g.err
	g.mu.Unlock()
	if first && g.opts.OnAbort != nil {
		g.opts.OnAbort(perr.Reason())
	}
	return perr
}

// NewMessage allocates a message to send; the guard sees it when it is
// sent. It never fails: capnp-go answers a call whose Return it cannot
// allocate with a placeholder that the call's Finish then dereferences (a
// nil *rc.Releaser in ansent.destroy), so when the wrapped transport
// refuses a message (such as sendLimit, for a client that does not read)
// the guard hands out one that is never sent, and refuses the connection.
func (g *Guard) NewMessage() (transport.OutgoingMessage, error) {
	out, err := g.inner.NewMessage()
	if err != nil {
		g.refuse(fmt.Errorf("make a message: %w", err))
		return newUnsent(err)
	}
	return &guardedMessage{OutgoingMessage: out, g: g}, nil
}

// unsent is a message the transport refused to make: built, never sent.
type unsent struct {
	msg      rpccp.Message
	err      error
	released bool
}

// newUnsent returns a message to build that Send fails with cause.
func newUnsent(cause error) (transport.OutgoingMessage, error) {
	_, seg := capnp.NewMultiSegmentMessage(nil)
	m, err := rpccp.NewRootMessage(seg)
	if err != nil {
		return nil, cause
	}
	return &unsent{msg: m, err: cause}, nil
}

// Message returns the message being built.
func (u *unsent) Message() rpccp.Message { return u.msg }

// Send fails with the transport's refusal.
func (u *unsent) Send() error { return fmt.Errorf("send: %w", u.err) }

// Release frees the message, once.
func (u *unsent) Release() {
	if !u.released {
		u.released = true
		u.msg.Message().Release()
	}
}

// Close closes the wrapped transport, once.
func (g *Guard) Close() error {
	g.closeOnce.Do(func() { g.closeErr = g.inner.Close() })
	return g.closeErr
}

// guardedMessage is an outgoing message the guard records as it is sent.
type guardedMessage struct {
	transport.OutgoingMessage
	g *Guard
}

// Send records the message, then sends it. A message that would give the
// peer more capabilities than the limit is not sent: the guard refuses the
// connection, sends the peer an Abort and closes the transport, which ends
// RecvMessage.
func (m *guardedMessage) Send() error {
	g := m.g
	g.mu.Lock()
	err := g.st.send(m.Message())
	g.mu.Unlock()
	if err != nil {
		perr := g.refuse(err)
		g.abort(perr)
		g.Close()
		return fmt.Errorf("send: %w", perr)
	}
	return m.OutgoingMessage.Send()
}

// abort tells the peer why the guard ends the connection, as capnp would
// for a refusal on the receiving side.
func (g *Guard) abort(perr *ProtocolError) {
	out, err := g.inner.NewMessage()
	if err != nil {
		return
	}
	defer out.Release()
	e, err := out.Message().NewAbort()
	if err != nil {
		return
	}
	e.SetType(rpccp.Exception_Type_failed)
	if e.SetReason(perr.Error()) == nil {
		out.Send()
	}
}
