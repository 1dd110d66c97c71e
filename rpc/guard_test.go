package rpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	capnp "capnproto.org/go/capnp/v3"
	crpc "capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/rpc/transport"

	"github.com/hspd/hsp/rpc/schema"
)

// logSink collects what a server logs.
type logSink struct {
	mu    sync.Mutex
	lines []string
}

func (l *logSink) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, msg)
}

func (l *logSink) Debug(msg string, args ...any) { l.add(msg) }
func (l *logSink) Info(msg string, args ...any)  { l.add(msg) }
func (l *logSink) Warn(msg string, args ...any)  { l.add(msg) }
func (l *logSink) Error(msg string, args ...any) { l.add(msg) }

func (l *logSink) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n")
}

func loggedServer() (*Server, *logSink) {
	logs := &logSink{}
	return NewServer(newMemBackend(), ServerOptions{Logger: logs}), logs
}

// stillServes checks that srv answers a new, honest client.
func stillServes(t *testing.T, srv *Server) {
	t.Helper()
	c := pipeClient(t, srv)
	if _, err := c.Status(context.Background()); err != nil {
		t.Fatalf("an honest client after the refused one: %v", err)
	}
}

// expectAbort waits for the server to abort p's connection, and checks
// that the reason, as logged and as sent to the peer, names want. (capnp
// closes the connection 100 ms into its shutdown, sent the Abort or not,
// so a busy server may close without one.)
func expectAbort(t *testing.T, p *rawPeer, logs *logSink, want string) {
	t.Helper()
	reason := p.waitAborted(t)
	if reason != "" && (!strings.Contains(reason, "rpc protocol violation") || !strings.Contains(reason, want)) {
		t.Errorf("abort reason %q, want one naming %q", reason, want)
	}
	if log := logs.String(); !strings.Contains(log, want) {
		t.Errorf("server log %q does not name %q", log, want)
	}
}

// greet opens a session by hand: bootstrap, hello, the corestore and one
// new core. It returns the core's export id; the next question id is 4.
func greet(t *testing.T, p *rawPeer) (core uint32) {
	boot := p.call(t, 0, bootstrapFrame(0))
	p.call(t, 1, helloFrame(1, toExport(boot)))
	store := p.call(t, 2, callFrame(2, toExport(boot), schema.Daemon_TypeID, 3, nil))
	return p.call(t, 3, callFrame(3, toExport(store), schema.Corestore_TypeID, 0, func(s capnp.Struct) error {
		schema.Corestore_open_Params(s).SetNew(true)
		return nil
	}))
}

// TestGuardSelfCall is issue 11's crash: one 128-byte call on the answer
// of its own question, with no bootstrap before it. Without the guard the
// daemon dies of a nil dereference in capnp-go's handleCall.
func TestGuardSelfCall(t *testing.T) {
	msg := selfCall(t)
	if len(msg) != 128 {
		t.Errorf("the self-call is %d bytes, want 128 as in issue 11", len(msg))
	}
	srv, logs := loggedServer()
	p := newRawPeer(t, srv)
	p.write(msg)
	expectAbort(t, p, logs, "call 0: promised answer of question 0, which is not live")
	stillServes(t, srv)
}

// TestGuardSelfCallInSession: the same, in a greeted session, on a live
// core; also pipelined on a question that is live.
func TestGuardSelfCallInSession(t *testing.T) {
	srv, logs := loggedServer()
	p := newRawPeer(t, srv)
	core := greet(t, p)
	p.call(t, 4, callFrame(4, toExport(core), schema.Core_TypeID, 8, nil)) // info
	p.send(t, callFrame(5, toAnswer(5), schema.Core_TypeID, 8, nil))
	expectAbort(t, p, logs, "promised answer of question 5, which is not live")
	stillServes(t, srv)
}

// TestGuardDoubleResolve: a promise sent as a subscription's sink, then
// resolved twice. capnp-go panics ("ClientPromise.Fulfill called more than
// once") if the import outlives its first resolution; in hsp it does not,
// and capnp aborts the connection itself, but the guard refuses it first.
func TestGuardDoubleResolve(t *testing.T) {
	srv, logs := loggedServer()
	p := newRawPeer(t, srv)
	core := greet(t, p)
	p.call(t, 4, callFrame(4, toExport(core), schema.Core_TypeID, 12, func(s capnp.Struct) error {
		return s.SetPtr(0, capnp.NewInterface(s.Segment(), 0).ToPtr())
	}, promise(7)))
	p.send(t, resolveFrame(7, hosted(8)), resolveFrame(7, hosted(9)))
	// The first resolution makes capnp release the promise, so the second
	// names one resolved already or, once the Release is out, not held.
	expectAbort(t, p, logs, "resolve of promise 7, which")
	stillServes(t, srv)
}

// TestGuardLoopbackWithoutResults: a senderLoopback Disembargo on the
// answer of Core.close, which returns no results. Without the guard
// capnp-go reads the cap table of a nil message.
func TestGuardLoopbackWithoutResults(t *testing.T) {
	srv, logs := loggedServer()
	p := newRawPeer(t, srv)
	core := greet(t, p)
	p.call(t, 4, callFrame(4, toExport(core), schema.Core_TypeID, 14, nil))
	p.send(t, disembargoFrame(toAnswer(4), true, 0))
	expectAbort(t, p, logs, "loopback on question 4, which has not returned results")
	stillServes(t, srv)
}

// TestGuardBootstrapFlood: bootstraps never finished end at the limit.
func TestGuardBootstrapFlood(t *testing.T) {
	srv, logs := loggedServer()
	p := newRawPeer(t, srv)
	for q := range uint32(DefaultGuardLimits.Bootstraps) {
		p.send(t, bootstrapFrame(q))
	}
	p.send(t, bootstrapFrame(1000))
	expectAbort(t, p, logs, fmt.Sprintf("more than %d bootstraps live", DefaultGuardLimits.Bootstraps))
	stillServes(t, srv)
}

// TestGuardQuestionFlood: calls pipelined on a call that never returns
// wait in the daemon; past the limit the connection ends.
func TestGuardQuestionFlood(t *testing.T) {
	srv, logs := loggedServer()
	limit := srv.guardOptions().Limits.Questions
	p := newRawPeer(t, srv)
	core := greet(t, p)
	p.send(t, callFrame(4, toExport(core), schema.Core_TypeID, 1, func(s capnp.Struct) error {
		schema.Core_get_Params(s).SetIndex(100) // waits for a block never appended
		return nil
	}))
	for q := 5; q < 4+limit; q++ {
		p.send(t, callFrame(uint32(q), toAnswer(4), schema.Core_TypeID, 8, nil))
	}
	p.send(t, callFrame(uint32(4+limit), toAnswer(4), schema.Core_TypeID, 8, nil))
	expectAbort(t, p, logs, fmt.Sprintf("more than %d questions in progress", limit))
	stillServes(t, srv)
}

// TestGuardBrokenPointer: a call whose target cannot be read.
func TestGuardBrokenPointer(t *testing.T) {
	srv, logs := loggedServer()
	p := newRawPeer(t, srv)
	p.write(brokenTarget())
	expectAbort(t, p, logs, "read target of call 0")
	stillServes(t, srv)
}

// TestGuardExportFlood: a client that takes a capability per call and
// never releases one is cut off at the limit, before the daemon holds more.
func TestGuardExportFlood(t *testing.T) {
	srv, logs := loggedServer()
	limit := srv.guardOptions().Limits.Exports
	p := newRawPeer(t, srv)
	boot := p.call(t, 0, bootstrapFrame(0))
	p.call(t, 1, helloFrame(1, toExport(boot)))
	// Each Daemon.corestore answers with a new capability; the calls are
	// finished, in batches, but the capabilities never released.
	const batch = 256
	for first := uint32(2); ; first += batch {
		if first > uint32(limit)+2*batch {
			t.Fatalf("%d capabilities handed out, past the limit of %d", first, limit)
		}
		for q := first; q < first+batch; q++ {
			p.send(t, callFrame(q, toExport(boot), schema.Daemon_TypeID, 3, nil))
		}
		if !p.await(first+batch-1, 5*time.Second) {
			break
		}
		for q := first; q < first+batch; q++ {
			p.send(t, finishFrame(q, false))
		}
	}
	expectAbort(t, p, logs, fmt.Sprintf("more than %d of our capabilities", limit))
	stillServes(t, srv)
}

// TestGuardLetsHonestTrafficThrough: a client that calls as fast as it
// can, with Finish 250 ms behind every answer (5,000 unfinished answers on
// a laptop), stays under the limits.
func TestGuardLetsHonestTrafficThrough(t *testing.T) {
	if testing.Short() {
		t.Skip("runs for a second")
	}
	srv, logs := loggedServer()
	c := pipeClient(t, srv)
	defer func() {
		if strings.Contains(logs.String(), "protocol violation") {
			t.Errorf("the guard refused an honest client: %s", logs)
		}
	}()
	ctx := context.Background()
	rc, err := c.Open(ctx, OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := time.Now().Add(time.Second)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(stop) {
				if _, err := rc.Has(ctx, 0); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if _, err := c.Status(ctx); err != nil {
		t.Fatalf("status after the burst: %v", err)
	}
}

// refusingSends is a transport that makes no message, as sendLimit once it
// drops a client that does not read.
type refusingSends struct{ transport.Transport }

func (refusingSends) NewMessage() (transport.OutgoingMessage, error) {
	return nil, errors.New("the client does not read its answers")
}

// TestGuardUnsendableAnswer: a call whose Return capnp cannot make, then
// its Finish. Without the guard capnp-go keeps a placeholder answer and
// the Finish dereferences its nil releaser (ansent.destroy).
func TestGuardUnsendableAnswer(t *testing.T) {
	p := newRawPeerOn(t, func(ctx context.Context, conn net.Conn) {
		rc := crpc.NewConn(NewGuard(refusingSends{transport.New(newCodec(conn))}, GuardOptions{}), nil)
		select {
		case <-rc.Done():
		case <-ctx.Done():
			rc.Close()
		}
	})
	p.send(t, call(0, toExport(5)), finishFrame(0, false))
	p.waitAborted(t)
}

// TestGuardClientSide: a client's connection is guarded too: a "daemon"
// that answers with the self-call fails the client's handshake instead of
// crashing the client.
func TestGuardClientSide(t *testing.T) {
	a, z := net.Pipe()
	defer a.Close()
	go func() {
		a.Write(selfCall(t))
		io.Copy(io.Discard, a)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := NewClient(ctx, z)
	if err == nil {
		c.Close()
		t.Fatal("a handshake with a daemon that sent the self-call succeeded")
	}
}

// TestNullCapabilityParams: Core.subscribe and Core.registerExtension with
// a null capability for their sink or handler crashed the daemon (no
// protocol guard can see it: null is a valid capability; FuzzGuardSession
// found it in minutes); the server now refuses them as bad requests.
func TestNullCapabilityParams(t *testing.T) {
	for _, tc := range []struct {
		name   string
		method uint16
		fill   func(capnp.Struct) error
	}{
		{"subscribe", 12, nil},
		{"registerExtension", 13, func(s capnp.Struct) error { return schema.Core_registerExtension_Params(s).SetName("x") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, _ := loggedServer()
			p := newRawPeer(t, srv)
			core := greet(t, p)
			p.call(t, 4, callFrame(4, toExport(core), schema.Core_TypeID, tc.method, tc.fill))
			stillServes(t, srv)
		})
	}
}
