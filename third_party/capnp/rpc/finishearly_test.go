package rpc

// hsp: tests of finishing a question as soon as its return arrives
// (finishEarly) and of the redirect that keeps that safe.

import (
	"context"
	"net"
	"testing"
	"time"

	"capnproto.org/go/capnp/v3"
	"capnproto.org/go/capnp/v3/rpc/internal/testcapnp"
)

var selfCall = capnp.Send{Method: capnp.Method{
	InterfaceID:   testcapnp.CapArgsTest_TypeID,
	MethodID:      1,
	InterfaceName: "test.capnp:CapArgsTest",
	MethodName:    "self",
}}

// gatedSelf answers self with itself once gate is closed.
type gatedSelf struct {
	capArgsTest
	gate chan struct{}
}

func (g *gatedSelf) Self(ctx context.Context, p testcapnp.CapArgsTest_self) error {
	<-g.gate
	res, err := p.AllocResults()
	if err != nil {
		return err
	}
	return res.SetSelf(testcapnp.CapArgsTest_ServerToClient(g))
}

// selfPair connects a client conn to a server conn whose bootstrap is srv.
func selfPair(t *testing.T, srv testcapnp.CapArgsTest_Server) (*Conn, testcapnp.CapArgsTest) {
	cClient, cServer := net.Pipe()
	serverConn := NewConn(NewStreamTransport(cServer), &Options{
		BootstrapClient: capnp.Client(testcapnp.CapArgsTest_ServerToClient(srv)),
	})
	clientConn := NewConn(NewStreamTransport(cClient), nil)
	bs := testcapnp.CapArgsTest(clientConn.Bootstrap(context.Background()))
	t.Cleanup(func() {
		bs.Release()
		clientConn.Close()
		serverConn.Close()
	})
	return clientConn, bs
}

func questionOf(c *Conn, ans *capnp.Answer) *question {
	return withLockedConn1(c, func(c *lockedConn) *question {
		q, _ := c.getAnswerQuestion(ans)
		return q
	})
}

// waitFinishSent waits until q's Finish has gone and returns q's flags.
func waitFinishSent(t *testing.T, c *Conn, q *question) questionFlags {
	deadline := time.Now().Add(10 * time.Second)
	for {
		flags := withLockedConn1(c, func(*lockedConn) questionFlags { return q.flags })
		if flags.Contains(finishSent) {
			return flags
		}
		if time.Now().After(deadline) {
			t.Fatal("the Finish was never sent")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestFinishEarlyRedirectsALatePipelinedCall(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c, bs := selfPair(t, &gatedSelf{gate: closedGate()})
	ans, release := capnp.Client(bs).SendCall(ctx, selfCall)
	defer release()
	if _, err := ans.Struct(); err != nil {
		t.Fatal(err)
	}
	q := questionOf(c, ans)
	if q == nil {
		t.Fatal("no question for the answer")
	}
	if flags := waitFinishSent(t, c, q); !flags.Contains(finishedEarly) {
		t.Fatalf("a question no call was pipelined on was not finished at once (flags %b)", flags)
	}
	// A pipelined call reaching the question after its Finish, as one that
	// read the promise's caller just before it resolved does, must go to
	// the resolution: naming the finished question would be a protocol
	// error, and the server would abort the connection.
	late, lateRelease := q.PipelineSend(ctx, []capnp.PipelineOp{{Field: 0}}, selfCall)
	defer lateRelease()
	if _, err := late.Struct(); err != nil {
		t.Fatalf("late pipelined call: %v", err)
	}
	again, againRelease := capnp.Client(bs).SendCall(ctx, selfCall)
	defer againRelease()
	if _, err := again.Struct(); err != nil {
		t.Fatalf("a call after the late one: %v", err)
	}
}

func TestPipelinedQuestionIsFinishedLate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := &gatedSelf{gate: make(chan struct{})}
	c, bs := selfPair(t, srv)
	ans, release := capnp.Client(bs).SendCall(ctx, selfCall)
	defer release()
	piped, pipedRelease := ans.PipelineSend(ctx, []capnp.PipelineOp{{Field: 0}}, selfCall)
	defer pipedRelease()
	q := questionOf(c, ans)
	if q == nil {
		t.Fatal("no question for the answer")
	}
	close(srv.gate)
	if _, err := ans.Struct(); err != nil {
		t.Fatal(err)
	}
	if _, err := piped.Struct(); err != nil {
		t.Fatalf("pipelined call: %v", err)
	}
	if flags := waitFinishSent(t, c, q); flags.Contains(finishedEarly) {
		t.Fatal("a question a call was pipelined on was finished at once")
	}
}

func closedGate() chan struct{} {
	g := make(chan struct{})
	close(g)
	return g
}
