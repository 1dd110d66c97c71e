package dht

import "fmt"

// PeersInput is the value of a `peers` request (@hyperswarm/dht).
type PeersInput struct {
	HasPort      bool
	Port         uint32 // 0 = use the UDP source port
	LocalAddress []byte // 6-byte LAN ip:port, optional
	Unannounce   bool
}

// Encode returns the encoding of in. A lookup without a port encodes to
// zero bytes, which is still sent as a present (empty) value.
func (in *PeersInput) Encode() []byte {
	var b []byte
	if in.HasPort {
		b = appendUintField(b, 1, uint64(in.Port))
	}
	if in.LocalAddress != nil {
		b = appendBytesField(b, 2, in.LocalAddress)
	}
	if in.Unannounce {
		b = appendUintField(b, 3, 1)
	}
	return present(b)
}

// DecodePeersInput decodes a `peers` request value; nil is an empty one.
func DecodePeersInput(b []byte) (*PeersInput, error) {
	in := &PeersInput{}
	err := eachField(b, func(f field) error {
		switch f.num {
		case 1, 3:
			if err := f.want(wireVarint); err != nil {
				return err
			}
			if f.num == 1 {
				in.HasPort, in.Port = true, uint32(min(f.v, 1<<32-1))
			} else {
				in.Unannounce = f.v != 0
			}
		case 2:
			if err := f.want(wireBytes); err != nil {
				return err
			}
			in.LocalAddress = present(f.bytes)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode peers input: %w", err)
	}
	return in, nil
}

// PeersOutput is the value of a `peers` response.
type PeersOutput struct {
	Peers      []byte // n × 6-byte peers
	LocalPeers []byte // n × 4-byte local peers
}

// Encode returns the encoding of out; empty fields are omitted.
func (out *PeersOutput) Encode() []byte {
	var b []byte
	if len(out.Peers) > 0 {
		b = appendBytesField(b, 1, out.Peers)
	}
	if len(out.LocalPeers) > 0 {
		b = appendBytesField(b, 2, out.LocalPeers)
	}
	return present(b)
}

// DecodePeersOutput decodes a `peers` response value.
func DecodePeersOutput(b []byte) (*PeersOutput, error) {
	out := &PeersOutput{}
	err := eachField(b, func(f field) error {
		if f.num != 1 && f.num != 2 {
			return nil
		}
		if err := f.want(wireBytes); err != nil {
			return err
		}
		if f.num == 1 {
			out.Peers = present(f.bytes)
		} else {
			out.LocalPeers = present(f.bytes)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("decode peers output: %w", err)
	}
	return out, nil
}
