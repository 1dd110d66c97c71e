package rpc

import (
	"encoding/binary"
	"strings"
	"testing"

	capnp "capnproto.org/go/capnp/v3"
	rpccp "capnproto.org/go/capnp/v3/std/capnp/rpc"
)

// A step is one message through a guard: from the peer, or sent by us.
type step struct {
	out bool
	f   frame
}

func in(f frame) step  { return step{f: f} }
func out(f frame) step { return step{out: true, f: f} }

// call is a call on tgt of no method in particular.
func call(q uint32, tgt target, caps ...capDesc) frame { return callFrame(q, tgt, 1, 0, nil, caps...) }

// exported is a peer's bootstrap 0 answered with our capability 0.
var exported = []step{in(bootstrapFrame(0)), out(returnFrame(0, hosted(0)))}

func steps(prefix []step, more ...step) []step { return append(append([]step{}, prefix...), more...) }

// guardRules are the guard's rules, one case each: every step but the
// last passes; the last is refused with want, or passes if want is "".
var guardRules = []struct {
	name  string
	lim   GuardLimits
	steps []step
	want  string
}{
	{"self call", GuardLimits{}, []step{in(call(0, toAnswer(0)))}, "call 0: promised answer of question 0, which is not live"},
	{"call on an answer in progress", GuardLimits{}, []step{in(bootstrapFrame(0)), in(call(1, toAnswer(0, 0)))}, ""},
	{"call on a finished answer", GuardLimits{}, steps(exported, in(finishFrame(0, false)), in(call(1, toAnswer(0)))), "question 0, which is not live"},
	{"call on a cancelled question", GuardLimits{}, []step{in(bootstrapFrame(0)), in(finishFrame(0, true)), in(call(1, toAnswer(0)))}, "question 0, which is not live"},
	{"call on an export", GuardLimits{}, steps(exported, in(call(1, toExport(0)))), ""},
	{"call on no export", GuardLimits{}, steps(exported, in(call(1, toExport(1)))), "target capability 1 is not held by the peer"},
	{"call on a released export", GuardLimits{}, steps(exported, in(releaseFrame(0, 1)), in(call(1, toExport(0)))), "target capability 0 is not held"},
	{"call with no target", GuardLimits{}, []step{in(func(m rpccp.Message) error { _, err := m.NewCall(); return err })}, "call 0 has no target"},
	{"call with results elsewhere", GuardLimits{}, steps(exported, in(func(m rpccp.Message) error {
		err := call(1, toExport(0))(m)
		c, _ := m.Call()
		c.SendResultsTo().SetYourself()
		return err
	})), "call 1 sends its results to yourself"},
	{"bootstrap reused", GuardLimits{}, []step{in(bootstrapFrame(0)), in(bootstrapFrame(0))}, "question 0 reused while it is live"},
	{"call reused", GuardLimits{}, steps(exported, in(call(1, toExport(0))), in(call(1, toExport(0)))), "call 1 reuses a live question id"},
	{"reused once returned and finished", GuardLimits{}, steps(exported, in(finishFrame(0, false)), in(bootstrapFrame(0))), ""},
	{"reused once finished, not returned", GuardLimits{}, []step{in(bootstrapFrame(0)), in(finishFrame(0, false)), in(bootstrapFrame(0))}, "question 0 reused"},
	{"finish twice", GuardLimits{}, []step{in(bootstrapFrame(0)), in(finishFrame(0, false)), in(finishFrame(0, false))}, "finish for question 0, which is not live"},
	{"finish of nothing", GuardLimits{}, []step{in(finishFrame(3, false))}, "finish for question 3, which is not live"},
	{"questions in progress", GuardLimits{Questions: 2}, []step{in(bootstrapFrame(0)), in(bootstrapFrame(1)), in(bootstrapFrame(2))}, "more than 2 questions in progress"},
	{"answers not finished", GuardLimits{Unfinished: 2}, []step{in(bootstrapFrame(0)), out(returnFrame(0)), in(bootstrapFrame(1)), out(returnFrame(1)), in(bootstrapFrame(2))}, "more than 2 answers not finished"},
	{"answers finished", GuardLimits{Unfinished: 1}, []step{in(bootstrapFrame(0)), out(returnFrame(0)), in(finishFrame(0, false)), in(bootstrapFrame(1)), out(returnFrame(1)), in(finishFrame(1, false)), in(bootstrapFrame(2))}, ""},
	{"bootstraps", GuardLimits{Bootstraps: 1}, []step{in(bootstrapFrame(0)), out(returnFrame(0)), in(bootstrapFrame(1))}, "more than 1 bootstraps live"},
	{"exports", GuardLimits{Exports: 2}, steps(exported, in(call(1, toExport(0))), out(returnFrame(1, hosted(0), hosted(1), hosted(1), promise(2)))), "more than 2 of our capabilities"},
	{"exports in our calls", GuardLimits{Exports: 1}, []step{out(call(0, toExport(5), hosted(0), hosted(1)))}, "more than 1 of our capabilities"},
	{"exports released", GuardLimits{Exports: 1}, steps(exported, in(releaseFrame(0, 1)), in(call(1, toAnswer(0))), out(returnFrame(1, hosted(1)))), ""},
	{"release of nothing", GuardLimits{}, []step{in(releaseFrame(4, 1))}, "release: 1 references to capability 4, of which the peer holds 0"},
	{"release of too many", GuardLimits{}, steps(exported, in(releaseFrame(0, 2))), "2 references to capability 0, of which the peer holds 1"},
	{"finish releases the results", GuardLimits{}, steps(exported, in(finishFrame(0, true)), in(call(1, toExport(0)))), "target capability 0 is not held"},
	{"finish keeps the results", GuardLimits{}, steps(exported, in(finishFrame(0, false)), in(call(1, toExport(0)))), ""},
	{"early finish releases the results", GuardLimits{}, []step{in(bootstrapFrame(0)), in(finishFrame(0, true)), out(returnFrame(0, hosted(0))), in(call(1, toExport(0)))}, "target capability 0 is not held"},
	{"transform too long", GuardLimits{}, []step{in(bootstrapFrame(0)), in(call(1, toAnswer(0, make([]uint16, maxTransform+1)...)))}, "transform of 65 operations"},
	{"cap: promise", GuardLimits{}, steps(exported, in(call(1, toExport(0), promise(3), hosted(4)))), ""},
	{"cap: third party", GuardLimits{}, steps(exported, in(call(1, toExport(0), capDesc{kind: rpccp.CapDescriptor_Which_thirdPartyHosted}))), "capability 0: capability kind thirdPartyHosted is not served"},
	{"cap: not ours", GuardLimits{}, steps(exported, in(call(1, toExport(0), capDesc{kind: rpccp.CapDescriptor_Which_receiverHosted, id: 9}))), "capability 9 is not held by the peer"},
	{"cap: own answer", GuardLimits{}, steps(exported, in(call(1, toExport(0), capDesc{kind: rpccp.CapDescriptor_Which_receiverAnswer, tgt: toAnswer(1)}))), "promised answer of question 1, which is not live"},
	{"cap: answer finished early", GuardLimits{}, steps(exported, in(call(1, toExport(0))), in(finishFrame(1, true)), in(call(2, toExport(0), capDesc{kind: rpccp.CapDescriptor_Which_receiverAnswer, tgt: toAnswer(1)}))), ""},
	{"cap table", GuardLimits{CapTable: 1}, steps(exported, in(call(1, toExport(0), hosted(1), hosted(2)))), "2 capabilities, more than 1"},
	{"return of ours", GuardLimits{}, []step{out(call(0, toExport(0))), in(returnFrame(0, hosted(0)))}, ""},
	{"return twice", GuardLimits{}, []step{out(call(0, toExport(0))), in(returnFrame(0)), in(returnFrame(0))}, "return for question 0, which is not awaiting one"},
	{"return after our cancel", GuardLimits{}, []step{out(call(0, toExport(0))), out(finishFrame(0, true)), in(returnFrame(0))}, ""},
	{"return after our cancel, not taken up", GuardLimits{}, []step{out(call(0, toExport(0))), out(finishFrame(0, true)), in(returnFrame(0, capDesc{kind: rpccp.CapDescriptor_Which_receiverHosted, id: 9}))}, ""},
	{"return of nothing", GuardLimits{}, []step{in(returnFrame(7))}, "return for question 7, which is not awaiting one"},
	{"return from elsewhere", GuardLimits{}, []step{out(call(0, toExport(0))), in(func(m rpccp.Message) error {
		r, err := m.NewReturn()
		r.SetTakeFromOtherQuestion(3)
		return err
	})}, "kind takeFromOtherQuestion is not served"},
	{"resolve", GuardLimits{}, steps(exported, in(call(1, toExport(0), promise(3))), in(resolveFrame(3, hosted(4)))), ""},
	{"resolve twice", GuardLimits{}, steps(exported, in(call(1, toExport(0), promise(3))), in(resolveFrame(3, hosted(4))), in(resolveFrame(3, hosted(5)))), "resolve of promise 3, which is resolved already"},
	{"resolve of no promise", GuardLimits{}, steps(exported, in(call(1, toExport(0), hosted(3))), in(resolveFrame(3, hosted(4)))), "resolve of promise 3, which we do not hold"},
	{"resolve after release", GuardLimits{}, steps(exported, in(call(1, toExport(0), promise(3))), out(releaseFrame(3, 1)), in(resolveFrame(3, hosted(4)))), "which we do not hold"},
	{"loopback on results", GuardLimits{}, steps(exported, in(disembargoFrame(toAnswer(0), true, 0))), ""},
	{"loopback without results", GuardLimits{}, steps(exported, in(call(1, toExport(0))), out(func(m rpccp.Message) error {
		r, err := m.NewReturn()
		r.SetAnswerId(1)
		_, _ = r.NewResults()
		return err
	}), in(disembargoFrame(toAnswer(1), true, 0))), "loopback on question 1, which has not returned results"},
	{"loopback before the return", GuardLimits{}, []step{in(bootstrapFrame(0)), in(disembargoFrame(toAnswer(0), true, 0))}, "loopback on question 0, which has not returned results"},
	{"loopback on no export", GuardLimits{}, []step{in(disembargoFrame(toExport(2), true, 0))}, "target capability 2 is not held"},
	{"loopback answered", GuardLimits{}, []step{out(disembargoFrame(toExport(1), true, 5)), in(disembargoFrame(toExport(1), false, 5))}, ""},
	{"loopback not asked for", GuardLimits{}, []step{in(disembargoFrame(toExport(1), false, 5))}, "embargo 5, which we did not ask for"},
	{"disembargo accept", GuardLimits{}, []step{in(func(m rpccp.Message) error {
		d, err := m.NewDisembargo()
		d.Context().SetAccept(nil)
		_, _ = d.NewTarget()
		return err
	})}, "disembargo context accept is not served"},
	{"abort", GuardLimits{}, []step{in(func(m rpccp.Message) error { _, err := m.NewAbort(); return err })}, ""},
}

func TestGuardRules(t *testing.T) {
	for _, tc := range guardRules {
		t.Run(tc.name, func(t *testing.T) {
			s := newGuardState(tc.lim.withDefaults())
			for i, st := range tc.steps {
				m := build(t, st.f)
				var err error
				if st.out {
					err = s.send(m)
				} else {
					err = s.recv(m)
				}
				last := i == len(tc.steps)-1
				switch {
				case !last && err != nil:
					t.Fatalf("step %d: %v", i, err)
				case last && tc.want == "" && err != nil:
					t.Fatalf("refused: %v", err)
				case last && tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
					t.Fatalf("got %v, want a refusal naming %q", err, tc.want)
				}
			}
		})
	}
}

// TestGuardRefusesKinds: every message kind capnp-go does not serve.
func TestGuardRefusesKinds(t *testing.T) {
	for _, w := range []rpccp.Message_Which{
		rpccp.Message_Which_unimplemented, rpccp.Message_Which_obsoleteSave, rpccp.Message_Which_obsoleteDelete,
		rpccp.Message_Which_provide, rpccp.Message_Which_accept, rpccp.Message_Which_join,
		rpccp.Message_Which_thirdPartyAnswer, 99,
	} {
		err := newGuardState(DefaultGuardLimits).recv(build(t, kindFrame(w)))
		if err == nil || !strings.Contains(err.Error(), "is not served") {
			t.Errorf("message kind %v: %v, want it refused", w, err)
		}
	}
}

// brokenTarget is a stream frame of a Call whose target pointer points
// past the end of its segment.
func brokenTarget() []byte {
	structPtr := func(off, data, ptrs uint64) uint64 { return off<<2 | data<<32 | ptrs<<48 }
	words := []uint64{
		structPtr(0, 1, 1), // root: Message
		2,                  // Message.which = call
		structPtr(0, 3, 3), // Message.call
		0, 0, 0,            // Call's data
		structPtr(1000, 1, 1), // Call.target, out of bounds
		0, 0,                  // Call.params, sendResultsTo.thirdParty
	}
	b := binary.LittleEndian.AppendUint32(nil, 0)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(words)))
	for _, w := range words {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

func TestGuardRefusesBrokenPointer(t *testing.T) {
	msg, err := capnp.Unmarshal(brokenTarget())
	if err != nil {
		t.Fatal(err)
	}
	m, err := rpccp.ReadRootMessage(msg)
	if err != nil {
		t.Fatal(err)
	}
	err = newGuardState(DefaultGuardLimits).recv(m)
	if err == nil || !strings.Contains(err.Error(), "read target of call 0") {
		t.Fatalf("a call with a broken target: %v, want it refused", err)
	}
}
