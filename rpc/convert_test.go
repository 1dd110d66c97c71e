package rpc

import (
	"reflect"
	"testing"

	capnp "capnproto.org/go/capnp/v3"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// fillAll sets every field of v, recursively, to a value distinct from
// every other field's and from zero, so a mapping that drops or swaps a
// field is caught.
func fillAll(t *testing.T, v reflect.Value, seed *uint64) {
	t.Helper()
	*seed++
	n := *seed
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			fillAll(t, v.Field(i), seed)
		}
	case reflect.String:
		v.SetString("s" + string(rune('A'+n%26)) + string(rune('a'+n/26)))
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		v.SetUint(n)
	case reflect.Int, reflect.Int32, reflect.Int64:
		v.SetInt(int64(n))
	case reflect.Map:
		m := reflect.MakeMap(v.Type())
		for range 2 {
			key, val := reflect.New(v.Type().Key()).Elem(), reflect.New(v.Type().Elem()).Elem()
			fillAll(t, key, seed)
			fillAll(t, val, seed)
			m.SetMapIndex(key, val)
		}
		v.Set(m)
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 2, 2)
		for i := range 2 {
			fillAll(t, s.Index(i), seed)
		}
		v.Set(s)
	case reflect.Array:
		for i := range v.Len() {
			v.Index(i).SetUint(uint64(byte(n + uint64(i))))
		}
	default:
		t.Fatalf("fillAll: no filler for a %s field (%s): teach the test and the mapping", v.Kind(), v.Type())
	}
}

func newSeg(t *testing.T) *capnp.Segment {
	t.Helper()
	_, seg, err := capnp.NewMessage(capnp.SingleSegment(nil))
	if err != nil {
		t.Fatal(err)
	}
	return seg
}

// roundTrip fills a T by reflection, writes it with write, reads it back
// with read, and wants every field back.
func roundTrip[T, S any](t *testing.T, newS func(*capnp.Segment) (S, error), write func(S, T) error, read func(S) (T, error)) {
	t.Helper()
	var in T
	var seed uint64
	fillAll(t, reflect.ValueOf(&in).Elem(), &seed)
	s, err := newS(newSeg(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := write(s, in); err != nil {
		t.Fatalf("write %T: %v", in, err)
	}
	out, err := read(s)
	if err != nil {
		t.Fatalf("read %T: %v", in, err)
	}
	if !reflect.DeepEqual(in, out) {
		t.Fatalf("%T does not survive Cap'n Proto:\n in: %+v\nout: %+v", in, in, out)
	}
}

func TestMappingsRoundTripEveryField(t *testing.T) {
	t.Run("Status", func(t *testing.T) { roundTrip(t, schema.NewRootStatus, writeStatus, readStatus) })
	t.Run("NetworkStatus", func(t *testing.T) { roundTrip(t, schema.NewRootNetworkStatus, writeNetworkStatus, readNetworkStatus) })
	t.Run("CoreInfo", func(t *testing.T) { roundTrip(t, schema.NewRootCoreInfo, writeCoreInfo, readCoreInfo) })
	t.Run("Peer", func(t *testing.T) { roundTrip(t, schema.NewRootPeer, writePeer, readPeer) })
	t.Run("TopicStatus", func(t *testing.T) { roundTrip(t, schema.NewRootTopicStatus, writeTopicStatus, readTopicStatus) })
	t.Run("Node", func(t *testing.T) { roundTrip(t, schema.NewRootNode, writeNode, readNode) })
	t.Run("DownloadProgress", func(t *testing.T) {
		roundTrip(t, schema.NewRootDownloadProgress, writeDownloadProgress, readDownloadProgress)
	})
}

// TestMappingsRejectBadKeys: a key of the wrong length is an error, an
// absent optional key is zero.
func TestMappingsRejectBadKeys(t *testing.T) {
	ci, _ := schema.NewRootCoreInfo(newSeg(t))
	ci.SetKey([]byte{1, 2, 3})
	if _, err := readCoreInfo(ci); err == nil {
		t.Fatal("a 3-byte key was read")
	}
	ns, _ := schema.NewRootNetworkStatus(newSeg(t))
	got, err := readNetworkStatus(ns)
	if err != nil || got.PublicKey != (core.Key{}) {
		t.Fatalf("absent public key: %+v, %v", got, err)
	}
	if err := writeNetworkStatus(ns, NetworkStatus{}); err != nil || ns.HasPublicKey() {
		t.Fatalf("a zero public key was written: %v", err)
	}
}
