package rpc

import (
	"errors"
	"fmt"

	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// guardState is what a Guard knows of its connection: the four tables of
// the Cap'n Proto RPC protocol as the peer must see them, rebuilt from the
// messages that cross the wire. Outgoing messages are recorded when they
// are sent, before the peer can answer them; incoming ones are checked
// before capnp reads them, in the order capnp reads them.
type guardState struct {
	lim GuardLimits

	// peerQ are the peer's questions (our answers) from its Call or
	// Bootstrap until we have sent the Return and it has sent the Finish;
	// of them, inProgress are not answered, unfinished are answered and
	// not finished.
	peerQ      map[uint32]*peerQuestion
	inProgress int
	unfinished int
	bootstraps int
	// ourQ are our questions until the peer has returned them and we have
	// sent the Finish.
	ourQ map[uint32]*ourQuestion
	// exports counts the references the peer holds to each capability we
	// sent it (senderHosted, senderPromise), until it releases them.
	exports map[uint32]uint32
	// promises are the peer's promises we hold (senderPromise), and
	// whether the peer has resolved each; we forget one when we Release it.
	promises map[uint32]bool
	// embargoes are our senderLoopback Disembargoes awaiting the peer's
	// receiverLoopback.
	embargoes map[uint32]struct{}
}

// peerQuestion is one of the peer's questions.
type peerQuestion struct {
	bootstrap bool
	finished  bool // the peer has sent Finish
	release   bool // … asking us to release the results' capabilities
	returned  bool // we have sent Return
	results   bool // … with results
	// exports counts the capabilities of our Return, for a Finish that
	// releases them.
	exports map[uint32]uint32
}

// ourQuestion is one of our questions to the peer.
type ourQuestion struct {
	returned   bool // the peer has sent Return
	finishSent bool // we have sent Finish
}

// newGuardState returns the state of a connection that has seen nothing.
func newGuardState(lim GuardLimits) *guardState {
	return &guardState{
		lim:       lim,
		peerQ:     map[uint32]*peerQuestion{},
		ourQ:      map[uint32]*ourQuestion{},
		exports:   map[uint32]uint32{},
		promises:  map[uint32]bool{},
		embargoes: map[uint32]struct{}{},
	}
}

// recv checks one message from the peer and records it.
func (s *guardState) recv(m rpccp.Message) error {
	switch w := m.Which(); w {
	case rpccp.Message_Which_abort:
		return nil
	case rpccp.Message_Which_bootstrap:
		b, err := m.Bootstrap()
		if err != nil {
			return fmt.Errorf("read bootstrap: %w", err)
		}
		return s.addPeerQuestion(b.QuestionId(), true)
	case rpccp.Message_Which_call:
		return s.recvCall(m)
	case rpccp.Message_Which_return:
		return s.recvReturn(m)
	case rpccp.Message_Which_finish:
		return s.recvFinish(m)
	case rpccp.Message_Which_release:
		r, err := m.Release()
		if err != nil {
			return fmt.Errorf("read release: %w", err)
		}
		if err := s.release(r.Id(), r.ReferenceCount()); err != nil {
			return fmt.Errorf("release: %w", err)
		}
		return nil
	case rpccp.Message_Which_resolve:
		return s.recvResolve(m)
	case rpccp.Message_Which_disembargo:
		return s.recvDisembargo(m)
	default:
		return fmt.Errorf("message kind %s is not served", w)
	}
}

// addPeerQuestion starts one of the peer's questions.
func (s *guardState) addPeerQuestion(id uint32, bootstrap bool) error {
	switch {
	case s.peerQ[id] != nil:
		return fmt.Errorf("question %d reused while it is live", id)
	case s.inProgress >= s.lim.Questions:
		return fmt.Errorf("question %d: more than %d questions in progress", id, s.lim.Questions)
	case s.unfinished >= s.lim.Unfinished:
		return fmt.Errorf("question %d: more than %d answers not finished", id, s.lim.Unfinished)
	case bootstrap && s.bootstraps >= s.lim.Bootstraps:
		return fmt.Errorf("bootstrap %d: more than %d bootstraps live", id, s.lim.Bootstraps)
	}
	if bootstrap {
		s.bootstraps++
	}
	s.inProgress++
	s.peerQ[id] = &peerQuestion{bootstrap: bootstrap}
	return nil
}

// answered records our Return to question id; finished its Finish. The
// question is gone once both are in.
func (s *guardState) answered(id uint32, q *peerQuestion) {
	q.returned = true
	s.inProgress--
	if q.finished {
		s.drop(id, q)
		return
	}
	s.unfinished++
}

// finished records the peer's Finish of question id.
func (s *guardState) finished(id uint32, q *peerQuestion) {
	q.finished = true
	if q.returned {
		s.unfinished--
		s.drop(id, q)
	}
}

// drop forgets question id, answered and finished.
func (s *guardState) drop(id uint32, q *peerQuestion) {
	if q.bootstrap {
		s.bootstraps--
	}
	delete(s.peerQ, id)
}

// recvCall checks a Call: a fresh question id, a live target, readable
// params with valid capabilities, within the limits.
func (s *guardState) recvCall(m rpccp.Message) error {
	c, err := m.Call()
	if err != nil {
		return fmt.Errorf("read call: %w", err)
	}
	id := c.QuestionId()
	if s.peerQ[id] != nil {
		return fmt.Errorf("call %d reuses a live question id", id)
	}
	if w := c.SendResultsTo().Which(); w != rpccp.Call_sendResultsTo_Which_caller {
		return fmt.Errorf("call %d sends its results to %s", id, w)
	}
	if !c.HasTarget() {
		return fmt.Errorf("call %d has no target", id)
	}
	tgt, err := c.Target()
	if err != nil {
		return fmt.Errorf("read target of call %d: %w", id, err)
	}
	// The call's own question is not live yet: a target naming it is
	// refused here (the crash of issue 11).
	if err := s.checkTarget(tgt); err != nil {
		return fmt.Errorf("call %d: %w", id, err)
	}
	p, err := c.Params()
	if err != nil {
		return fmt.Errorf("read params of call %d: %w", id, err)
	}
	if err := s.recvPayload(p, true); err != nil {
		return fmt.Errorf("params of call %d: %w", id, err)
	}
	return s.addPeerQuestion(id, false)
}

// checkTarget checks a Call's target: an export the peer holds, or a live
// question of the peer's.
func (s *guardState) checkTarget(tgt rpccp.MessageTarget) error {
	switch w := tgt.Which(); w {
	case rpccp.MessageTarget_Which_importedCap:
		if id := tgt.ImportedCap(); s.exports[id] == 0 {
			return fmt.Errorf("target capability %d is not held by the peer", id)
		}
		return nil
	case rpccp.MessageTarget_Which_promisedAnswer:
		pa, err := tgt.PromisedAnswer()
		_, err = s.promisedAnswer(pa, err, false)
		return err
	default:
		return fmt.Errorf("target kind %s is unknown", w)
	}
}

// promisedAnswer checks a reference to the answer of one of the peer's
// questions: the question must be live (or, if finished is allowed, still
// in the table, as capnp requires of a receiverAnswer), its transform well
// formed.
func (s *guardState) promisedAnswer(pa rpccp.PromisedAnswer, err error, finished bool) (*peerQuestion, error) {
	if err != nil {
		return nil, fmt.Errorf("read promised answer: %w", err)
	}
	id := pa.QuestionId()
	q := s.peerQ[id]
	if q == nil || q.finished && !finished {
		return nil, fmt.Errorf("promised answer of question %d, which is not live", id)
	}
	return q, checkTransform(pa)
}

// checkTransform checks a pipeline transform: a few pointer fields.
func checkTransform(pa rpccp.PromisedAnswer) error {
	ops, err := pa.Transform()
	if err != nil {
		return fmt.Errorf("read transform: %w", err)
	}
	if ops.Len() > maxTransform {
		return fmt.Errorf("transform of %d operations, more than %d", ops.Len(), maxTransform)
	}
	for i := range ops.Len() {
		switch w := ops.At(i).Which(); w {
		case rpccp.PromisedAnswer_Op_Which_noop, rpccp.PromisedAnswer_Op_Which_getPointerField:
		default:
			return fmt.Errorf("transform operation %s is unknown", w)
		}
	}
	return nil
}

// recvPayload checks the payload of a Call or Return: readable, and, if
// capnp takes it up (not the Return of a question it has cancelled), its
// capabilities valid.
func (s *guardState) recvPayload(p rpccp.Payload, take bool) error {
	if !p.IsValid() {
		return nil
	}
	if _, err := p.Content(); err != nil {
		return fmt.Errorf("read content: %w", err)
	}
	caps, err := p.CapTable()
	if err != nil {
		return fmt.Errorf("read cap table: %w", err)
	}
	if caps.Len() > s.lim.CapTable {
		return fmt.Errorf("%d capabilities, more than %d", caps.Len(), s.lim.CapTable)
	}
	for i := 0; take && i < caps.Len(); i++ {
		if err := s.recvCap(caps.At(i)); err != nil {
			return fmt.Errorf("capability %d: %w", i, err)
		}
	}
	return nil
}

// recvCap checks a capability the peer sends us.
func (s *guardState) recvCap(d rpccp.CapDescriptor) error {
	switch w := d.Which(); w {
	case rpccp.CapDescriptor_Which_none, rpccp.CapDescriptor_Which_senderHosted:
		return nil
	case rpccp.CapDescriptor_Which_senderPromise:
		id := d.SenderPromise()
		if _, ok := s.promises[id]; ok {
			return nil
		}
		if len(s.promises) >= s.lim.Exports {
			return fmt.Errorf("promise %d: more than %d promises held", id, s.lim.Exports)
		}
		s.promises[id] = false
		return nil
	case rpccp.CapDescriptor_Which_receiverHosted:
		if id := d.ReceiverHosted(); s.exports[id] == 0 {
			return fmt.Errorf("capability %d is not held by the peer", id)
		}
		return nil
	case rpccp.CapDescriptor_Which_receiverAnswer:
		pa, err := d.ReceiverAnswer()
		_, err = s.promisedAnswer(pa, err, true)
		return err
	default:
		return fmt.Errorf("capability kind %s is not served", w)
	}
}

// recvReturn checks the peer's answer to one of our questions.
func (s *guardState) recvReturn(m rpccp.Message) error {
	r, err := m.Return()
	if err != nil {
		return fmt.Errorf("read return: %w", err)
	}
	id := r.AnswerId()
	q := s.ourQ[id]
	if q == nil || q.returned {
		return fmt.Errorf("return for question %d, which is not awaiting one", id)
	}
	switch w := r.Which(); w {
	case rpccp.Return_Which_results:
		p, err := r.Results()
		if err != nil {
			return fmt.Errorf("read results of question %d: %w", id, err)
		}
		// capnp drops the return of a question it has cancelled.
		if err := s.recvPayload(p, !q.finishSent); err != nil {
			return fmt.Errorf("results of question %d: %w", id, err)
		}
	case rpccp.Return_Which_exception:
		if _, err := r.Exception(); err != nil {
			return fmt.Errorf("read exception of question %d: %w", id, err)
		}
	case rpccp.Return_Which_canceled:
	default:
		return fmt.Errorf("return for question %d: kind %s is not served", id, w)
	}
	q.returned = true
	if q.finishSent {
		delete(s.ourQ, id)
	}
	return nil
}

// recvFinish checks a Finish of a live question of the peer's, and takes
// back the capabilities of our answer if it releases them.
func (s *guardState) recvFinish(m rpccp.Message) error {
	f, err := m.Finish()
	if err != nil {
		return fmt.Errorf("read finish: %w", err)
	}
	id := f.QuestionId()
	q := s.peerQ[id]
	if q == nil || q.finished {
		return fmt.Errorf("finish for question %d, which is not live", id)
	}
	q.release = f.ReleaseResultCaps()
	if q.returned && q.release {
		for e, n := range q.exports {
			if err := s.release(e, n); err != nil {
				return fmt.Errorf("finish for question %d: %w", id, err)
			}
		}
	}
	s.finished(id, q)
	return nil
}

// release takes back n of the peer's references to our capability id.
func (s *guardState) release(id, n uint32) error {
	held := s.exports[id]
	if held == 0 || n > held {
		return fmt.Errorf("%d references to capability %d, of which the peer holds %d", n, id, held)
	}
	if held == n {
		delete(s.exports, id)
	} else {
		s.exports[id] = held - n
	}
	return nil
}

// recvResolve checks the resolution of a promise the peer sent us: once.
func (s *guardState) recvResolve(m rpccp.Message) error {
	r, err := m.Resolve()
	if err != nil {
		return fmt.Errorf("read resolve: %w", err)
	}
	id := r.PromiseId()
	resolved, ok := s.promises[id]
	if !ok {
		return fmt.Errorf("resolve of promise %d, which we do not hold", id)
	}
	if resolved {
		return fmt.Errorf("resolve of promise %d, which is resolved already", id)
	}
	switch w := r.Which(); w {
	case rpccp.Resolve_Which_cap:
		d, err := r.Cap()
		if err != nil {
			return fmt.Errorf("read resolution of promise %d: %w", id, err)
		}
		if err := s.recvCap(d); err != nil {
			return fmt.Errorf("resolution of promise %d: %w", id, err)
		}
	case rpccp.Resolve_Which_exception:
		if _, err := r.Exception(); err != nil {
			return fmt.Errorf("read exception of promise %d: %w", id, err)
		}
	default:
		return fmt.Errorf("resolve of promise %d: kind %s is unknown", id, w)
	}
	s.promises[id] = true
	return nil
}

// recvDisembargo checks a Disembargo: a loopback on something the peer
// may loop back on, or the answer to one of ours.
func (s *guardState) recvDisembargo(m rpccp.Message) error {
	d, err := m.Disembargo()
	if err != nil {
		return fmt.Errorf("read disembargo: %w", err)
	}
	if !d.HasTarget() {
		return errors.New("disembargo has no target")
	}
	tgt, err := d.Target()
	if err != nil {
		return fmt.Errorf("read disembargo target: %w", err)
	}
	switch w := d.Context().Which(); w {
	case rpccp.Disembargo_context_Which_senderLoopback:
		if err := s.loopbackTarget(tgt); err != nil {
			return fmt.Errorf("disembargo: %w", err)
		}
		return nil
	case rpccp.Disembargo_context_Which_receiverLoopback:
		id := d.Context().ReceiverLoopback()
		if _, ok := s.embargoes[id]; !ok {
			return fmt.Errorf("disembargo answers embargo %d, which we did not ask for", id)
		}
		delete(s.embargoes, id)
		return s.targetShape(tgt)
	default:
		return fmt.Errorf("disembargo context %s is not served", w)
	}
}

// loopbackTarget checks the target of a senderLoopback Disembargo: an
// export the peer holds, or an answer we have returned with results (capnp
// reads the results' message, which an answer without results has not).
func (s *guardState) loopbackTarget(tgt rpccp.MessageTarget) error {
	if tgt.Which() != rpccp.MessageTarget_Which_promisedAnswer {
		return s.checkTarget(tgt)
	}
	pa, err := tgt.PromisedAnswer()
	q, err := s.promisedAnswer(pa, err, false)
	if err != nil {
		return err
	}
	if !q.returned || !q.results {
		return fmt.Errorf("loopback on question %d, which has not returned results", pa.QuestionId())
	}
	return nil
}

// targetShape checks that a target is well formed, whatever it names.
func (s *guardState) targetShape(tgt rpccp.MessageTarget) error {
	switch w := tgt.Which(); w {
	case rpccp.MessageTarget_Which_importedCap:
		return nil
	case rpccp.MessageTarget_Which_promisedAnswer:
		pa, err := tgt.PromisedAnswer()
		if err != nil {
			return fmt.Errorf("read promised answer: %w", err)
		}
		return checkTransform(pa)
	default:
		return fmt.Errorf("target kind %s is unknown", w)
	}
}
