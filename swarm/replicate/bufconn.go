package replicate

import (
	"net"
	"runtime"
	"sync"
	"time"
)

// bufferedMax is what a BufferedConn gathers before Write itself writes.
const bufferedMax = 64 << 10

// BufferedConn wraps a connection for wire.NewStream so that a burst of
// frames leaves in one write: wire writes each frame with its own Write,
// which on TCP is a system call per frame, the largest cost of a download
// of small blocks. Write only copies into a buffer, which a flusher writes
// out as soon as the writer pauses; once bufferedMax bytes wait, Write
// writes them itself, so a peer that stops reading still blocks the
// writer (and the replicator's stall detection still sees it).
func BufferedConn(c net.Conn) net.Conn {
	b := &bufferedConn{Conn: c, kick: make(chan struct{}, 1), done: make(chan struct{})}
	go b.flusher()
	return b
}

type bufferedConn struct {
	net.Conn
	mu    sync.Mutex // guards buf, spare, err
	buf   []byte
	spare []byte
	err   error
	wmu   sync.Mutex // one flush at a time, so bytes leave in order
	kick  chan struct{}
	done  chan struct{}
	once  sync.Once
}

func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return 0, c.err
	}
	if len(p) >= bufferedMax { // large already: written as it is, after what waits
		c.mu.Unlock()
		if err := c.flushWith(p); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	c.buf = append(c.buf, p...)
	full := len(c.buf) >= bufferedMax
	c.mu.Unlock()
	if full {
		if err := c.flush(); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	signal(c.kick)
	return len(p), nil
}

// flusher writes out what gathered each time the writer pauses.
func (c *bufferedConn) flusher() {
	for {
		select {
		case <-c.kick:
		case <-c.done:
			return
		}
		runtime.Gosched() // let a burst finish first
		c.flush()
	}
}

func (c *bufferedConn) flush() error { return c.flushWith(nil) }

// flushWith writes out what waits, then p.
func (c *bufferedConn) flushWith(p []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.mu.Lock()
	b := c.buf
	c.buf, c.spare = c.spare[:0], nil
	err := c.err
	c.mu.Unlock()
	if err == nil && len(b) > 0 {
		_, err = c.Conn.Write(b)
	}
	if err == nil && len(p) > 0 {
		_, err = c.Conn.Write(p)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if err != nil && c.err == nil {
		c.err = err
	}
	if cap(b) <= 4*bufferedMax {
		c.spare = b[:0]
	}
	return c.err
}

// Close writes out what waits, if the peer takes it within a moment, and
// closes the connection.
func (c *bufferedConn) Close() error {
	c.once.Do(func() {
		close(c.done)
		c.Conn.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
		c.flush()
	})
	return c.Conn.Close()
}
