package wire

import (
	"strconv"

	"github.com/hspd/hsp/core"
)

// Type is a frame's message type, the low 4 bits of its header.
type Type uint8

// The message types of hypercore-protocol 8. 11 to 14 are unassigned.
const (
	TypeOpen      Type = 0
	TypeOptions   Type = 1
	TypeStatus    Type = 2
	TypeHave      Type = 3
	TypeUnhave    Type = 4
	TypeWant      Type = 5
	TypeUnwant    Type = 6
	TypeRequest   Type = 7
	TypeCancel    Type = 8
	TypeData      Type = 9
	TypeClose     Type = 10
	TypeExtension Type = 15
)

var typeNames = [...]string{"Open", "Options", "Status", "Have", "Unhave", "Want", "Unwant",
	"Request", "Cancel", "Data", "Close", "", "", "", "", "Extension"}

func (t Type) String() string {
	if int(t) < len(typeNames) && typeNames[t] != "" {
		return typeNames[t]
	}
	return "Type(" + strconv.Itoa(int(t)) + ")"
}

// Message is one of the message types of this package: Open, Options,
// Status, Have, Unhave, Want, Unwant, Request, Cancel, Data, Close or
// Extension, as values.
//
// Presence follows proto2 as JS encodes it: a field is on the wire exactly
// when it is set. Optional scalars are OptUint64 / OptBool; optional bytes
// are absent when nil and present (possibly empty) when non-nil. Decoded
// byte slices alias the received frame and belong to the receiver.
type Message interface {
	Type() Type
	appendBody(b []byte) []byte
}

// OptUint64 is an optional uint64 field; Set reports it is on the wire.
type OptUint64 struct {
	Value uint64
	Set   bool
}

// Uint64 returns a set OptUint64.
func Uint64(v uint64) OptUint64 { return OptUint64{Value: v, Set: true} }

// Or returns the value, or def when the field is absent.
func (o OptUint64) Or(def uint64) uint64 {
	if o.Set {
		return o.Value
	}
	return def
}

// OptBool is an optional bool field; Set reports it is on the wire.
type OptBool struct {
	Value bool
	Set   bool
}

// Bool returns a set OptBool.
func Bool(v bool) OptBool { return OptBool{Value: v, Set: true} }

// Open (type 0) starts a channel for a core on the sender's channel id.
type Open struct {
	DiscoveryKey []byte // required
	Capability   []byte // nil: absent
}

// Options (type 1) announces extension names (sorted) and ack mode, on a
// core's channel or on channel 0 for the stream.
type Options struct {
	Extensions []string
	Ack        OptBool // JS default false
}

// Status (type 2) tells whether the sender uploads and downloads. JS reads
// an absent field as false, so always set both.
type Status struct {
	Uploading   OptBool
	Downloading OptBool
}

// Have (type 3) announces blocks. With a Bitfield (even an empty one) it
// replaces what the receiver knows of the range; without one it means
// "I have blocks Start .. Start+Length".
type Have struct {
	Start    uint64    // required
	Length   OptUint64 // JS default 1
	Bitfield []byte    // nil: absent
	Ack      OptBool
}

// Unhave (type 4) withdraws blocks.
type Unhave struct {
	Start  uint64    // required
	Length OptUint64 // JS default 1
}

// Want (type 5) asks for Have announcements in a range.
type Want struct {
	Start  uint64    // required
	Length OptUint64 // JS default 0
}

// Unwant (type 6) cancels a Want.
type Unwant struct {
	Start  uint64    // required
	Length OptUint64 // JS default 0
}

// Request (type 7) asks for a block (or its proof only when Hash is true).
// Nodes is the request digest; JS always sends all four fields.
type Request struct {
	Index uint64 // required
	Bytes OptUint64
	Hash  OptBool
	Nodes OptUint64
}

// Cancel (type 8) withdraws a Request.
type Cancel struct {
	Index uint64 // required
	Bytes OptUint64
	Hash  OptBool
}

// Data (type 9) carries a block, its proof nodes and a signature.
type Data struct {
	Index     uint64 // required
	Value     []byte // nil: absent (a proof-only reply); non-nil empty: an empty block
	Nodes     []core.Node
	Signature []byte // nil: absent
}

// Close (type 10) closes the sender's channel, or, with a DiscoveryKey on an
// id never opened, rejects the receiver's channel for that core.
type Close struct {
	DiscoveryKey []byte // nil: absent
}

// Extension (type 15) is an extension message: ID indexes the sender's
// announced, sorted extension names. Its body is varint(ID) || Payload.
type Extension struct {
	ID      uint64
	Payload []byte
}

func (Open) Type() Type      { return TypeOpen }
func (Options) Type() Type   { return TypeOptions }
func (Status) Type() Type    { return TypeStatus }
func (Have) Type() Type      { return TypeHave }
func (Unhave) Type() Type    { return TypeUnhave }
func (Want) Type() Type      { return TypeWant }
func (Unwant) Type() Type    { return TypeUnwant }
func (Request) Type() Type   { return TypeRequest }
func (Cancel) Type() Type    { return TypeCancel }
func (Data) Type() Type      { return TypeData }
func (Close) Type() Type     { return TypeClose }
func (Extension) Type() Type { return TypeExtension }
