package swarm

import (
	"encoding/binary"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"testing"

	"github.com/pion/stun/v3"
)

// fuzzTxnID and fuzzServer are the outstanding request of
// FuzzSTUNResponse; its seed corpus (testdata/fuzz/FuzzSTUNResponse)
// answers it.
var (
	fuzzTxnID  = [stun.TransactionIDSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	fuzzServer = netip.MustParseAddrPort("127.0.0.1:3478")
)

// stunMagicCookie is RFC 5389's, at bytes 4-7 of every STUN message.
const stunMagicCookie = 0x2112A442

// FuzzSTUNResponse feeds datagrams from the server to a client with a
// request outstanding there, as they are and with the header made to
// match it (cookie and transaction ID), so that every input reaches the
// attribute decoding. Nothing may panic; an answer accepted ends the
// request and carries an address or an error.
func FuzzSTUNResponse(f *testing.F) {
	f.Add([]byte{})
	f.Add(fuzzAnswer(f, stun.BindingSuccess, &stun.XORMappedAddress{IP: []byte{192, 0, 2, 1}, Port: 4000}))
	f.Fuzz(func(t *testing.T, b []byte) {
		checkSTUNInput(t, b)
		if len(b) >= 20 {
			b = append([]byte(nil), b...)
			b[0] &= 0x3f
			binary.BigEndian.PutUint32(b[4:8], stunMagicCookie)
			copy(b[8:20], fuzzTxnID[:])
			checkSTUNInput(t, b)
		}
	})
}

// checkSTUNInput hands b to a fresh client waiting for fuzzTxnID.
func checkSTUNInput(t *testing.T, b []byte) {
	c := newSTUNClient([]string{fuzzServer.String()}, STUNTiming{}, new(atomic.Uint64), slog.New(slog.DiscardHandler))
	sv := c.servers[0]
	txn := c.expect(sv, fuzzTxnID, fuzzServer)
	if took := c.take(b, fuzzServer); took != isSTUN(b) {
		t.Fatalf("take = %v for a datagram isSTUN says %v about", took, isSTUN(b))
	}
	select {
	case a := <-txn.answer:
		if a.mapped.IsValid() == (a.err != nil) || sv.txn != nil || c.dropped.Load() != 0 {
			t.Fatalf("answer %+v (request left %v, %d dropped)", a, sv.txn != nil, c.dropped.Load())
		}
	default:
		var wantDropped uint64
		if isSTUN(b) {
			wantDropped = 1
		}
		if sv.txn != txn || c.dropped.Load() != wantDropped {
			t.Fatalf("no answer, yet the request ended (%v) or %d dropped, want %d", sv.txn != txn, c.dropped.Load(), wantDropped)
		}
	}
}

// fuzzAnswer is an answer of type typ to the fuzz request.
func fuzzAnswer(t testing.TB, typ stun.MessageType, attrs ...stun.Setter) []byte {
	m, err := stun.Build(append([]stun.Setter{stun.NewTransactionIDSetter(fuzzTxnID), typ}, append(attrs, stun.Fingerprint)...)...)
	must(t, err)
	return m.Raw
}
