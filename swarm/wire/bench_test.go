package wire

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"testing"

	"github.com/hspd/hsp/core"
)

var benchSizes = []int{1 << 10, 64 << 10}

func sizeName(n int) string { return fmt.Sprintf("%dKiB", n>>10) }

// BenchmarkXSalsa20 is the raw keystream speed, the bound for the others.
func BenchmarkXSalsa20(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			var key [32]byte
			var nonce [24]byte
			x := newXSalsa20(&key, &nonce)
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			for b.Loop() {
				x.XOR(buf, buf)
			}
		})
	}
}

func benchData(n int) Data {
	return Data{
		Index: 12345,
		Value: bytes.Repeat([]byte{7}, n),
		Nodes: []core.Node{{Index: 24690, Size: uint64(n)}, {Index: 24695, Size: 4 * uint64(n)}},
	}
}

// BenchmarkDataPipeline: one Data message through the whole path but the
// socket: encode, frame, encrypt, then decrypt, parse the frame and decode.
func BenchmarkDataPipeline(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			var key [32]byte
			var nonce [24]byte
			tx, rx := newXSalsa20(&key, &nonce), newXSalsa20(&key, &nonce)
			var wire bytes.Buffer
			r := newFrameReader(&wire)
			r.setCipher(rx)
			m := benchData(n)
			var buf []byte
			b.SetBytes(int64(n))
			for b.Loop() {
				buf, _ = AppendFrame(buf[:0], 1, m)
				tx.XOR(buf, buf)
				wire.Write(buf)
				fr, err := r.next()
				if err != nil {
					b.Fatal(err)
				}
				if _, err := Decode(fr.typ, fr.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkStreamTCP: Data messages from Channel.Send to Recv between two
// Streams over TCP on 127.0.0.1.
func BenchmarkStreamTCP(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(sizeName(n), func(b *testing.B) {
			sender, receiver, ch := tcpPair(b)
			defer sender.Close()
			defer receiver.Close()
			m := benchData(n)
			b.SetBytes(int64(n))
			b.ResetTimer()
			go func() {
				for range b.N {
					if ch.Send(m) != nil {
						return
					}
				}
			}()
			for range b.N {
				if _, err := receiver.Recv(context.Background()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// tcpPair connects two streams over loopback TCP and opens one core on
// both; it returns the sender's channel, ready.
func tcpPair(b *testing.B) (sender, receiver *Stream, ch *Channel) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(b, err)
	defer ln.Close()
	x, err := net.Dial("tcp", ln.Addr().String())
	must(b, err)
	y, err := ln.Accept()
	must(b, err)
	sender = NewStream(x, Config{Initiator: true, KeyPair: testKeyPair(b)})
	receiver = NewStream(y, Config{KeyPair: testKeyPair(b)})
	handshakeBoth(b, sender, receiver)
	key := testKey(1)
	ch, err = sender.OpenChannel(key)
	must(b, err)
	_, err = receiver.OpenChannel(key)
	must(b, err)
	for _, s := range []*Stream{sender, receiver} {
		if ev, err := s.Recv(context.Background()); err != nil || ev.Kind != EventChannelReady {
			b.Fatalf("open: %+v %v", ev, err)
		}
	}
	return sender, receiver, ch
}
