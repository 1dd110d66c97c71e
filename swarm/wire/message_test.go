package wire

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

type messageVectors struct {
	Samples []struct {
		Channel  uint64          `json:"channel"`
		Type     Type            `json:"type"`
		TypeName string          `json:"typeName"`
		Message  json.RawMessage `json:"message"`
		Body     string          `json:"body"`
		Frame    string          `json:"frame"`
		Decoded  json.RawMessage `json:"decoded"`
	} `json:"samples"`
	ExtensionFrames []struct {
		Channel     uint64 `json:"channel"`
		ExtensionID uint64 `json:"extensionId"`
		Payload     string `json:"payload"`
		Frame       string `json:"frame"`
	} `json:"extensionFrames"`
	KeepAlive         string                     `json:"keepAlive"`
	DecodedWhenAbsent map[string]json.RawMessage `json:"decodedWhenAbsent"`
}

// TestMessageVectors checks every sample of messages.json: the message
// encodes to the JS body and frame, the body and the frame decode back to
// it (presence included), and the decoded values match what the JS
// decoder returns.
func TestMessageVectors(t *testing.T) {
	var v messageVectors
	loadVector(t, "messages.json", &v)
	if len(v.Samples) != 26 {
		t.Fatalf("messages.json has %d samples, want 26", len(v.Samples))
	}
	for _, s := range v.Samples {
		t.Run(s.TypeName, func(t *testing.T) {
			m, err := fromJS(s.Type, s.Message)
			if err != nil {
				t.Fatal(err)
			}
			if m.Type().String() != s.TypeName {
				t.Fatalf("type %v, want %s", m.Type(), s.TypeName)
			}
			checkEncoding(t, s.Channel, m, unhex(t, s.Body), unhex(t, s.Frame))
			got, err := Decode(s.Type, unhex(t, s.Body))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Errorf("decoded %#v\nwant %#v", got, m)
			}
			var want any
			json.Unmarshal(s.Decoded, &want)
			if view := jsView(got); !reflect.DeepEqual(view, want) {
				t.Errorf("JS view %v\nwant %v", view, want)
			}
		})
	}
}

func checkEncoding(t *testing.T, channel uint64, m Message, body, frame []byte) {
	t.Helper()
	if got := m.appendBody(nil); !bytes.Equal(got, body) {
		t.Errorf("body %x, want %x", got, body)
	}
	got, err := AppendFrame([]byte("prefix"), channel, m)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, append([]byte("prefix"), frame...)) {
		t.Errorf("frame %x, want prefix+%x", got, frame)
	}
	fr, err := newFrameReader(bytes.NewReader(frame)).next()
	if err != nil {
		t.Fatal(err)
	}
	if fr.channel != channel || fr.typ != m.Type() || !bytes.Equal(fr.body, body) {
		t.Errorf("frame read as channel %d type %v body %x", fr.channel, fr.typ, fr.body)
	}
}

func TestExtensionFrames(t *testing.T) {
	var v messageVectors
	loadVector(t, "messages.json", &v)
	for _, e := range v.ExtensionFrames {
		m := Extension{ID: e.ExtensionID, Payload: unhex(t, e.Payload)}
		frame := unhex(t, e.Frame)
		body := m.appendBody(nil)
		checkEncoding(t, e.Channel, m, body, frame)
		got, err := Decode(TypeExtension, body)
		if err != nil || !reflect.DeepEqual(got, m) {
			t.Errorf("decoded %#v, %v; want %#v", got, err, m)
		}
	}
	if len(v.ExtensionFrames) != 3 {
		t.Errorf("%d extension frames, want 3", len(v.ExtensionFrames))
	}
}

// TestKeepAlive: a lone 00 is skipped between frames.
func TestKeepAlive(t *testing.T) {
	var v messageVectors
	loadVector(t, "messages.json", &v)
	in := append(unhex(t, v.KeepAlive+v.KeepAlive+"051208011000"), unhex(t, v.KeepAlive)...)
	r := newFrameReader(bytes.NewReader(in))
	fr, err := r.next()
	if err != nil || fr.typ != TypeStatus || fr.channel != 1 {
		t.Fatalf("got %+v, %v", fr, err)
	}
	if _, err := r.next(); err == nil || err.Error() != "EOF" {
		t.Errorf("after the last keep-alive: %v, want EOF", err)
	}
}

// TestDecodedWhenAbsent: the defaults the JS decoder gives absent fields.
func TestDecodedWhenAbsent(t *testing.T) {
	var v messageVectors
	loadVector(t, "messages.json", &v)
	bodies := map[string]Message{
		"Status": Status{}, "Options": Options{}, "Have": Have{Start: 9}, "Unhave": Unhave{Start: 9},
		"Want": Want{Start: 9}, "Unwant": Unwant{Start: 9}, "Request": Request{Index: 9},
		"Cancel": Cancel{Index: 9}, "Data": Data{Index: 9}, "Close": Close{},
		"Open": Open{DiscoveryKey: unhex(t, "daaf3d66c0c7b35b2a9ca711d5cac1154025f2a37f9dd714ee59a894edaa90a9")},
	}
	if len(v.DecodedWhenAbsent) != len(bodies) {
		t.Fatalf("%d cases, want %d", len(v.DecodedWhenAbsent), len(bodies))
	}
	for name, raw := range v.DecodedWhenAbsent {
		m := bodies[name]
		got, err := Decode(m.Type(), m.appendBody(nil))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var want any
		json.Unmarshal(raw, &want)
		if view := jsView(got); !reflect.DeepEqual(view, want) {
			t.Errorf("%s: %v, want %v", name, view, want)
		}
	}
}

// TestPresence: absent and empty are different on the wire.
func TestPresence(t *testing.T) {
	cases := []struct {
		m    Message
		body string
	}{
		{Data{Index: 3}, "0803"},
		{Data{Index: 3, Value: []byte{}}, "08031200"},
		{Have{Start: 0}, "0800"},
		{Have{Start: 0, Bitfield: []byte{}}, "08001a00"},
		{Have{Start: 0, Length: Uint64(1)}, "08001001"},
		{Status{Uploading: Bool(false), Downloading: Bool(false)}, "08001000"},
		{Status{}, ""},
		{Request{Index: 0, Bytes: Uint64(0), Hash: Bool(false), Nodes: Uint64(0)}, "0800100018002000"},
	}
	for _, c := range cases {
		body := c.m.appendBody(nil)
		if hex.EncodeToString(body) != c.body {
			t.Errorf("%#v: %x, want %s", c.m, body, c.body)
		}
		got, err := Decode(c.m.Type(), body)
		if err != nil || !reflect.DeepEqual(got, c.m) {
			t.Errorf("%#v decoded as %#v, %v", c.m, got, err)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	cases := []struct {
		t    Type
		body string
	}{
		{TypeHave, ""},                                       // missing start
		{TypeOpen, "1200"},                                   // missing discoveryKey
		{TypeData, "08011203aa"},                             // value runs past the body
		{TypeData, "0801" + "1a0408011201"},                  // node hash cut short
		{TypeData, "0801" + "1a0a0801120400000000" + "1805"}, // 4-byte node hash
		{TypeRequest, "0a0101"},                              // index with wire type 2
		{TypeWant, "08ffffffffffffffffffff01"},               // varint over 64 bits
		{TypeStatus, "0b"},                                   // wire type 3 (group)
		{TypeCancel, "0801" + "1d0000"},                      // fixed32 cut short
		{TypeExtension, ""},                                  // no id
		{TypeExtension, "80"},                                // cut id
		{Type(12), "00"},                                     // unassigned type
	}
	for _, c := range cases {
		body := unhex(t, c.body)
		if _, err := Decode(c.t, body); err == nil {
			t.Errorf("%v %s: decoded", c.t, c.body)
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownType) {
			t.Errorf("%v %s: %v does not wrap ErrMalformed", c.t, c.body, err)
		}
	}
}

func TestDecodeSkipsUnknownFields(t *testing.T) {
	// Want{start: 5} with fields 9 (varint), 10 (bytes), 11 (fixed64) and 12 (fixed32) around it.
	body := unhex(t, "4801"+"5202aabb"+"0805"+"590102030405060708"+"6501020304")
	got, err := Decode(TypeWant, body)
	if err != nil || !reflect.DeepEqual(got, Want{Start: 5}) {
		t.Errorf("got %#v, %v", got, err)
	}
}

func TestOptionsLimits(t *testing.T) {
	var many Options
	for range MaxExtensions + 1 {
		many.Extensions = append(many.Extensions, "x")
	}
	if _, err := Decode(TypeOptions, many.appendBody(nil)); !errors.Is(err, ErrMalformed) {
		t.Errorf("%d names: %v", len(many.Extensions), err)
	}
	long := Options{Extensions: []string{string(make([]byte, MaxExtensionNameLen+1))}}
	if _, err := Decode(TypeOptions, long.appendBody(nil)); !errors.Is(err, ErrMalformed) {
		t.Errorf("long name: %v", err)
	}
	many.Extensions = many.Extensions[:MaxExtensions]
	if _, err := Decode(TypeOptions, many.appendBody(nil)); err != nil {
		t.Errorf("%d names: %v", MaxExtensions, err)
	}
}

func TestTypeString(t *testing.T) {
	if TypeData.String() != "Data" || TypeExtension.String() != "Extension" || Type(12).String() != "Type(12)" {
		t.Error(TypeData, TypeExtension, Type(12))
	}
}
