package rpc

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	capnp "capnproto.org/go/capnp/v3"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"

	"github.com/hspd/hsp/rpc/schema"
)

// A frame builds one Cap'n Proto RPC message, as a hostile peer would.
type frame func(m rpccp.Message) error

// target is a message target: an export, or a question's answer.
type target struct {
	answer bool
	id     uint32
	ops    []uint16
}

func toExport(id uint32) target               { return target{id: id} }
func toAnswer(q uint32, ops ...uint16) target { return target{answer: true, id: q, ops: ops} }

func (t target) set(mt rpccp.MessageTarget) error {
	if !t.answer {
		mt.SetImportedCap(t.id)
		return nil
	}
	pa, err := mt.NewPromisedAnswer()
	if err != nil {
		return err
	}
	return t.fill(pa)
}

func (t target) fill(pa rpccp.PromisedAnswer) error {
	pa.SetQuestionId(t.id)
	ops, err := pa.NewTransform(int32(len(t.ops)))
	for i, f := range t.ops {
		ops.At(i).SetGetPointerField(f)
	}
	return err
}

// capDesc is one entry of a payload's cap table.
type capDesc struct {
	kind rpccp.CapDescriptor_Which
	id   uint32
	tgt  target // for receiverAnswer
}

func (c capDesc) set(d rpccp.CapDescriptor) error {
	switch c.kind {
	case rpccp.CapDescriptor_Which_senderHosted:
		d.SetSenderHosted(c.id)
	case rpccp.CapDescriptor_Which_senderPromise:
		d.SetSenderPromise(c.id)
	case rpccp.CapDescriptor_Which_receiverHosted:
		d.SetReceiverHosted(c.id)
	case rpccp.CapDescriptor_Which_receiverAnswer:
		pa, err := d.NewReceiverAnswer()
		if err != nil {
			return err
		}
		return c.tgt.fill(pa)
	case rpccp.CapDescriptor_Which_thirdPartyHosted:
		_, err := d.NewThirdPartyHosted()
		return err
	default:
		d.SetNone()
	}
	return nil
}

func hosted(id uint32) capDesc { return capDesc{kind: rpccp.CapDescriptor_Which_senderHosted, id: id} }
func promise(id uint32) capDesc {
	return capDesc{kind: rpccp.CapDescriptor_Which_senderPromise, id: id}
}

// payload fills p with an empty struct of params and the given caps.
func payload(p rpccp.Payload, fill func(capnp.Struct) error, caps []capDesc) error {
	st, err := capnp.NewStruct(p.Segment(), capnp.ObjectSize{DataSize: 16, PointerCount: 4})
	if err != nil {
		return err
	}
	if fill != nil {
		if err := fill(st); err != nil {
			return err
		}
	}
	if err := p.SetContent(st.ToPtr()); err != nil {
		return err
	}
	list, err := p.NewCapTable(int32(len(caps)))
	for i, c := range caps {
		if err := c.set(list.At(i)); err != nil {
			return err
		}
	}
	return err
}

func bootstrapFrame(q uint32) frame {
	return func(m rpccp.Message) error {
		b, err := m.NewBootstrap()
		b.SetQuestionId(q)
		return err
	}
}

// callFrame calls method of iface on tgt, with caps in its params.
func callFrame(q uint32, tgt target, iface uint64, method uint16, fill func(capnp.Struct) error, caps ...capDesc) frame {
	return func(m rpccp.Message) error {
		c, err := m.NewCall()
		if err != nil {
			return err
		}
		c.SetQuestionId(q)
		c.SetInterfaceId(iface)
		c.SetMethodId(method)
		mt, err := c.NewTarget()
		if err != nil {
			return err
		}
		if err := tgt.set(mt); err != nil {
			return err
		}
		p, err := c.NewParams()
		if err != nil {
			return err
		}
		return payload(p, fill, caps)
	}
}

// helloFrame is a Daemon.hello call of this client's protocol.
func helloFrame(q uint32, tgt target) frame {
	return callFrame(q, tgt, schema.Daemon_TypeID, 0, func(s capnp.Struct) error {
		p := schema.Daemon_hello_Params(s)
		p.SetProtocol(Protocol)
		return p.SetVersion(Version)
	})
}

func finishFrame(q uint32, release bool) frame {
	return func(m rpccp.Message) error {
		f, err := m.NewFinish()
		f.SetQuestionId(q)
		f.SetReleaseResultCaps(release)
		return err
	}
}

func releaseFrame(id, n uint32) frame {
	return func(m rpccp.Message) error {
		r, err := m.NewRelease()
		r.SetId(id)
		r.SetReferenceCount(n)
		return err
	}
}

func returnFrame(a uint32, caps ...capDesc) frame {
	return func(m rpccp.Message) error {
		r, err := m.NewReturn()
		if err != nil {
			return err
		}
		r.SetAnswerId(a)
		p, err := r.NewResults()
		if err != nil {
			return err
		}
		return payload(p, nil, caps)
	}
}

func resolveFrame(id uint32, to capDesc) frame {
	return func(m rpccp.Message) error {
		r, err := m.NewResolve()
		if err != nil {
			return err
		}
		r.SetPromiseId(id)
		d, err := r.NewCap()
		if err != nil {
			return err
		}
		return to.set(d)
	}
}

// disembargoFrame is a Disembargo on tgt; loopback says which context.
func disembargoFrame(tgt target, sender bool, id uint32) frame {
	return func(m rpccp.Message) error {
		d, err := m.NewDisembargo()
		if err != nil {
			return err
		}
		if sender {
			d.Context().SetSenderLoopback(id)
		} else {
			d.Context().SetReceiverLoopback(id)
		}
		mt, err := d.NewTarget()
		if err != nil {
			return err
		}
		return tgt.set(mt)
	}
}

// kindFrame is an empty message of kind w, such as obsoleteSave.
func kindFrame(w rpccp.Message_Which) frame {
	return func(m rpccp.Message) error {
		capnp.Struct(m).SetUint16(0, uint16(w))
		return nil
	}
}

// build returns f as a message.
func build(t testing.TB, f frame) rpccp.Message {
	t.Helper()
	_, seg := capnp.NewMultiSegmentMessage(nil)
	m, err := rpccp.NewRootMessage(seg)
	if err == nil {
		err = f(m)
	}
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// encode returns f on the wire: its frame of the stream encoding.
func encode(t testing.TB, f frame) []byte {
	t.Helper()
	b, err := build(t, f).Message().Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// selfCall is the 128-byte message of issue 11: a call on the answer of
// its own question, the first message of a connection, with empty params.
func selfCall(t testing.TB) []byte {
	return encode(t, func(m rpccp.Message) error {
		c, err := m.NewCall()
		if err != nil {
			return err
		}
		c.SetInterfaceId(schema.Daemon_TypeID)
		mt, err := c.NewTarget()
		if err != nil {
			return err
		}
		pa, err := mt.NewPromisedAnswer()
		if err != nil {
			return err
		}
		pa.SetQuestionId(0)
		_, err = c.NewParams()
		return err
	})
}

// frameLen returns the length of the stream frame at the start of b, or
// false if b does not hold one whole frame.
func frameLen(b []byte) (int, bool) {
	if len(b) < 8 {
		return 0, false
	}
	n := int(binary.LittleEndian.Uint32(b)) + 1
	if n > 512 {
		return 0, false
	}
	hdr := (4 + 4*n + 7) &^ 7
	if len(b) < hdr {
		return 0, false
	}
	total := hdr
	for i := range n {
		total += 8 * int(binary.LittleEndian.Uint32(b[4+4*i:]))
		if total > len(b) {
			return 0, false
		}
	}
	return total, true
}

// rawPeer speaks the wire protocol to a server by hand.
type rawPeer struct {
	conn net.Conn
	done chan struct{} // closed when the server's ServeConn returns

	mu      sync.Mutex
	cond    *sync.Cond
	returns map[uint32]bool     // answer ids the server has returned
	calls   map[uint32]bool     // question ids the server has called
	caps    map[uint32][]uint32 // … and the capabilities in each
	closed  bool                // the server's side has closed
	aborted string              // the reason of the server's Abort, if any
}

// newRawPeer connects a raw peer to srv over net.Pipe.
func newRawPeer(t testing.TB, srv *Server) *rawPeer {
	return newRawPeerOn(t, func(ctx context.Context, conn net.Conn) { srv.ServeConn(ctx, conn) })
}

// newRawPeerOn connects a raw peer to what serve serves on the other end
// of a net.Pipe.
func newRawPeerOn(t testing.TB, serve func(ctx context.Context, conn net.Conn)) *rawPeer {
	a, z := net.Pipe()
	p := &rawPeer{conn: z, done: make(chan struct{}), returns: map[uint32]bool{}, caps: map[uint32][]uint32{}, calls: map[uint32]bool{}}
	p.cond = sync.NewCond(&p.mu)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { serve(ctx, a); close(p.done) }()
	go p.read()
	t.Cleanup(func() {
		z.Close()
		cancel()
		<-p.done
	})
	return p
}

// read records what the server sends until it closes.
func (p *rawPeer) read() {
	d := capnp.NewDecoder(p.conn)
	for {
		msg, err := d.Decode()
		p.mu.Lock()
		if err != nil {
			p.closed = true
			p.cond.Broadcast()
			p.mu.Unlock()
			return
		}
		if m, err := rpccp.ReadRootMessage(msg); err == nil {
			p.note(m)
		}
		p.cond.Broadcast()
		p.mu.Unlock()
	}
}

func (p *rawPeer) note(m rpccp.Message) {
	switch m.Which() {
	case rpccp.Message_Which_call:
		if c, err := m.Call(); err == nil {
			p.calls[c.QuestionId()] = true
		}
	case rpccp.Message_Which_return:
		if r, err := m.Return(); err == nil {
			p.returns[r.AnswerId()] = true
			p.caps[r.AnswerId()] = capIDs(r)
		}
	case rpccp.Message_Which_abort:
		if e, err := m.Abort(); err == nil {
			p.aborted, _ = e.Reason()
		}
	}
}

// write sends raw bytes; a server that has gone is not an error.
func (p *rawPeer) write(b []byte) {
	p.conn.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := p.conn.Write(b); err != nil && !errors.Is(err, io.ErrClosedPipe) && !errors.Is(err, net.ErrClosed) {
		p.mu.Lock()
		p.closed = true
		p.mu.Unlock()
	}
}

// send sends frames; call sends one and waits for its return.
func (p *rawPeer) send(t testing.TB, fs ...frame) {
	t.Helper()
	for _, f := range fs {
		p.write(encode(t, f))
	}
}

// await waits up to d for the return of question q; it reports whether
// it came (false also when the server closed the connection).
func (p *rawPeer) await(q uint32, d time.Duration) bool {
	return p.awaitIn(p.returns, q, d)
}

// awaitIn waits up to d for q to be in set, one of p's maps.
func (p *rawPeer) awaitIn(set map[uint32]bool, q uint32, d time.Duration) bool {
	expired := false
	timer := time.AfterFunc(d, func() {
		p.mu.Lock()
		expired = true
		p.cond.Broadcast()
		p.mu.Unlock()
	})
	defer timer.Stop()
	p.mu.Lock()
	defer p.mu.Unlock()
	for !set[q] && !p.closed && !expired {
		p.cond.Wait()
	}
	return set[q]
}

// call sends f, a Call or Bootstrap of question q, waits for its return
// and returns the first capability in it.
func (p *rawPeer) call(t testing.TB, q uint32, f frame) uint32 {
	t.Helper()
	p.send(t, f)
	if !p.await(q, 5*time.Second) {
		t.Fatalf("no return for question %d", q)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if caps := p.caps[q]; len(caps) > 0 {
		return caps[0]
	}
	return 0
}

// capIDs returns the capabilities we export in a Return's results.
func capIDs(r rpccp.Return) []uint32 {
	if r.Which() != rpccp.Return_Which_results {
		return nil
	}
	p, err := r.Results()
	if err != nil {
		return nil
	}
	caps, _ := p.CapTable()
	var ids []uint32
	for i := range caps.Len() {
		switch d := caps.At(i); d.Which() {
		case rpccp.CapDescriptor_Which_senderHosted:
			ids = append(ids, d.SenderHosted())
		case rpccp.CapDescriptor_Which_senderPromise:
			ids = append(ids, d.SenderPromise())
		}
	}
	return ids
}

// waitAborted waits for the server to end the connection and returns the
// reason it gave.
func (p *rawPeer) waitAborted(t testing.TB) string {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		t.Fatal("the server kept the connection")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.aborted
}

// replay writes a recorded stream frame by frame, as the recorded client
// did: a Return once the server has made the call it answers, and after
// each Call or Bootstrap, once the server has returned it.
func (p *rawPeer) replay(b []byte, wait time.Duration) {
	for len(b) > 0 {
		n, ok := frameLen(b)
		if !ok {
			p.write(b)
			return
		}
		w, q, ok := questionOf(b[:n])
		if ok && w == rpccp.Message_Which_return {
			p.awaitIn(p.calls, q, wait)
		}
		p.write(b[:n])
		if ok && w != rpccp.Message_Which_return && !p.await(q, wait) && p.isClosed() {
			return
		}
		b = b[n:]
	}
}

func (p *rawPeer) isClosed() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.closed
}

// questionOf returns the kind of a Call, Bootstrap or Return frame and
// the question it asks or answers.
func questionOf(b []byte) (rpccp.Message_Which, uint32, bool) {
	msg, err := capnp.NewDecoder(bytes.NewReader(b)).Decode()
	if err != nil {
		return 0, 0, false
	}
	m, err := rpccp.ReadRootMessage(msg)
	if err != nil {
		return 0, 0, false
	}
	switch w := m.Which(); w {
	case rpccp.Message_Which_call:
		c, err := m.Call()
		return w, c.QuestionId(), err == nil
	case rpccp.Message_Which_bootstrap:
		b, err := m.Bootstrap()
		return w, b.QuestionId(), err == nil
	case rpccp.Message_Which_return:
		r, err := m.Return()
		return w, r.AnswerId(), err == nil
	}
	return 0, 0, false
}
