package rpc

import (
	"fmt"

	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// send records one message we are about to send. It fails only when the
// message would give the peer more capabilities than the limit. Our own
// messages are well formed, so a field that cannot be read is skipped.
func (s *guardState) send(m rpccp.Message) error {
	switch m.Which() {
	case rpccp.Message_Which_bootstrap:
		b, err := m.Bootstrap()
		if err == nil {
			s.ourQ[b.QuestionId()] = &ourQuestion{}
		}
	case rpccp.Message_Which_call:
		c, err := m.Call()
		if err != nil {
			return nil
		}
		s.ourQ[c.QuestionId()] = &ourQuestion{}
		p, _ := c.Params()
		_, err = s.sendPayload(p, true)
		return err
	case rpccp.Message_Which_return:
		return s.sendReturn(m)
	case rpccp.Message_Which_finish:
		f, err := m.Finish()
		if err != nil {
			return nil
		}
		if q := s.ourQ[f.QuestionId()]; q != nil {
			q.finishSent = true
			if q.returned {
				delete(s.ourQ, f.QuestionId())
			}
		}
	case rpccp.Message_Which_release:
		if r, err := m.Release(); err == nil {
			delete(s.promises, r.Id())
		}
	case rpccp.Message_Which_resolve:
		return s.sendResolve(m)
	case rpccp.Message_Which_disembargo:
		d, err := m.Disembargo()
		if err == nil && d.Context().Which() == rpccp.Disembargo_context_Which_senderLoopback {
			s.embargoes[d.Context().SenderLoopback()] = struct{}{}
		}
	}
	return nil
}

// sendReturn records our answer to one of the peer's questions.
func (s *guardState) sendReturn(m rpccp.Message) error {
	r, err := m.Return()
	if err != nil {
		return nil
	}
	id := r.AnswerId()
	q := s.peerQ[id]
	if q == nil || q.returned {
		return nil
	}
	if r.Which() == rpccp.Return_Which_results {
		p, _ := r.Results()
		q.results = p.HasContent()
		// After a Finish that released the results' capabilities, capnp
		// has taken back the references this Return carries.
		keep := !q.finished || !q.release
		refs, err := s.sendPayload(p, keep)
		if err != nil {
			return err
		}
		if keep && !q.finished {
			q.exports = refs
		}
	}
	s.answered(id, q)
	return nil
}

// sendResolve counts the capability a promise of ours resolves to.
func (s *guardState) sendResolve(m rpccp.Message) error {
	r, err := m.Resolve()
	if err != nil || r.Which() != rpccp.Resolve_Which_cap {
		return nil
	}
	d, err := r.Cap()
	if err != nil {
		return nil
	}
	_, err = s.sendCap(d, nil)
	return err
}

// sendPayload counts the capabilities a payload gives the peer, if keep,
// and returns them.
func (s *guardState) sendPayload(p rpccp.Payload, keep bool) (map[uint32]uint32, error) {
	if !keep || !p.HasCapTable() {
		return nil, nil
	}
	caps, err := p.CapTable()
	if err != nil {
		return nil, nil
	}
	var refs map[uint32]uint32
	for i := range caps.Len() {
		if refs, err = s.sendCap(caps.At(i), refs); err != nil {
			return nil, err
		}
	}
	return refs, nil
}

// sendCap counts one capability we give the peer, into refs too.
func (s *guardState) sendCap(d rpccp.CapDescriptor, refs map[uint32]uint32) (map[uint32]uint32, error) {
	var id uint32
	switch d.Which() {
	case rpccp.CapDescriptor_Which_senderHosted:
		id = d.SenderHosted()
	case rpccp.CapDescriptor_Which_senderPromise:
		id = d.SenderPromise()
	default:
		return refs, nil
	}
	if s.exports[id] == 0 && len(s.exports) >= s.lim.Exports {
		return refs, fmt.Errorf("the peer would hold more than %d of our capabilities", s.lim.Exports)
	}
	s.exports[id]++
	if refs == nil {
		refs = map[uint32]uint32{}
	}
	refs[id]++
	return refs, nil
}
