package core

import (
	"encoding/json"
	"testing"
)

// blockSpec is an entry of rle.json's block lists: an index, or a half-open
// [a, b) range.
type blockSpec struct{ from, to uint64 }

func (b *blockSpec) UnmarshalJSON(data []byte) error {
	var pair [2]uint64
	if err := json.Unmarshal(data, &pair); err == nil {
		b.from, b.to = pair[0], pair[1]
		return nil
	}
	if err := json.Unmarshal(data, &b.from); err != nil {
		return err
	}
	b.to = b.from + 1
	return nil
}

func TestVectorsRLE(t *testing.T) {
	var v struct {
		Encodings []struct {
			Bitfield, Encoded, Decoded hexBytes
			DecodedAlign4              hexBytes `json:"decodedAlign4"`
		} `json:"encodings"`
		HaveBitfields []struct {
			Name          string
			Blocks        []blockSpec
			Start, Length uint64
			Encoded       hexBytes
		} `json:"haveBitfields"`
	}
	loadVectors(t, "rle.json", &v)
	for _, e := range v.Encodings {
		wantHex(t, "encode", EncodeRLE(e.Bitfield), e.Encoded)
		dec, err := DecodeRLE(e.Encoded, 1<<20)
		if err != nil {
			t.Fatalf("decode %x: %v", []byte(e.Encoded), err)
		}
		wantHex(t, "decode", dec, e.Decoded)
		wantHex(t, "decode aligned", alignTo4(dec), e.DecodedAlign4)
	}
	for _, h := range v.HaveBitfields {
		bf := NewBitfield()
		for _, b := range h.Blocks {
			for i := b.from; i < b.to; i++ {
				bf.Set(i, true)
			}
		}
		wantHex(t, h.Name, bf.Compress(h.Start, h.Length), h.Encoded)
	}
	reportCount(t, "rle.json", len(v.Encodings)+len(v.HaveBitfields), 15)
}

func alignTo4(b []byte) []byte {
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}
