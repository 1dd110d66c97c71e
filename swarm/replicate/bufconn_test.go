package replicate

import (
	"bytes"
	"net"
	"testing"
	"time"
)

// TestBufferedConn: bytes arrive whole and in order (large writes, which
// go out as they are, among small ones), a peer that does not
// read blocks the writer once bufferedMax bytes wait, and a write after
// the connection broke fails.
func TestBufferedConn(t *testing.T) {
	a, b := net.Pipe()
	c := BufferedConn(a)
	var want bytes.Buffer
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 20000 {
			p := bytes.Repeat([]byte{byte(i)}, bufTestSize(i))
			want.Write(p)
			if _, err := c.Write(p); err != nil {
				t.Error(err)
				return
			}
		}
	}()
	select {
	case <-done:
		t.Fatal("the writer was never held back by a peer that does not read")
	case <-time.After(50 * time.Millisecond):
	}
	total := 0
	for i := range 20000 {
		total += bufTestSize(i)
	}
	got := make([]byte, 0, total)
	buf := make([]byte, 4096)
	for len(got) < total {
		n, err := b.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, buf[:n]...)
	}
	<-done
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("bytes arrived changed or out of order")
	}
	b.Close()
	time.Sleep(10 * time.Millisecond)
	c.Write(make([]byte, bufferedMax)) // fails in the flush
	if _, err := c.Write([]byte{1}); err == nil {
		t.Fatalf("write after the peer closed: %v", err)
	}
	c.Close()
}

// bufTestSize is the length of TestBufferedConn's write i.
func bufTestSize(i int) int {
	if i%4999 == 7 {
		return bufferedMax + i%1000
	}
	return i % 37
}
