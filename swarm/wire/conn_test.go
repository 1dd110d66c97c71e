package wire

import (
	"bytes"
	"io"
	"net"
	"sync"
	"time"
)

// recConn records every Write as one chunk.
type recConn struct {
	net.Conn
	mu     sync.Mutex
	chunks [][]byte
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.chunks = append(c.chunks, bytes.Clone(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recConn) written() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.chunks...)
}

// replayConn serves recorded bytes to Read (all at once if they fit, then
// io.EOF) and records writes.
type replayConn struct {
	recConn
	in      io.Reader
	discard bool // do not record writes
}

func newReplayConn(chunks [][]byte) *replayConn {
	return &replayConn{in: bytes.NewReader(bytes.Join(chunks, nil))}
}

func (c *replayConn) Read(p []byte) (int, error) { return c.in.Read(p) }

func (c *replayConn) Write(p []byte) (int, error) {
	if c.discard {
		return len(p), nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.chunks = append(c.chunks, bytes.Clone(p))
	return len(p), nil
}

func (c *replayConn) Close() error                     { return nil }
func (c *replayConn) LocalAddr() net.Addr              { return nil }
func (c *replayConn) RemoteAddr() net.Addr             { return nil }
func (c *replayConn) SetDeadline(time.Time) error      { return nil }
func (c *replayConn) SetReadDeadline(time.Time) error  { return nil }
func (c *replayConn) SetWriteDeadline(time.Time) error { return nil }
