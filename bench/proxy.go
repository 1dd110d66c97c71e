package main

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
)

// countingProxy is a TCP proxy on 127.0.0.1 in front of one server: every
// connection accepted is relayed to upstream, and the bytes are counted
// in each direction. The replication workloads put one between every
// downloader and its server to measure the bytes on the wire.
type countingProxy struct {
	ln       net.Listener
	upstream string
	up, down atomic.Int64 // client → server, server → client

	mu     sync.Mutex
	conns  []net.Conn
	closed bool
	wg     sync.WaitGroup
	errs   []error
}

// startProxy listens on a free port of 127.0.0.1 and relays to upstream.
func startProxy(upstream string) (*countingProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("start proxy to %s: %w", upstream, err)
	}
	p := &countingProxy{ln: ln, upstream: upstream}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// addr is the proxy's host:port; port its port.
func (p *countingProxy) addr() string { return p.ln.Addr().String() }
func (p *countingProxy) port() int    { return p.ln.Addr().(*net.TCPAddr).Port }

// bytes returns the bytes relayed so far: client → server and server →
// client.
func (p *countingProxy) bytes() (up, down int64) { return p.up.Load(), p.down.Load() }

func (p *countingProxy) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go p.relay(c)
	}
}

// track records a connection to close with the proxy; false when the
// proxy is closed already.
func (p *countingProxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns = append(p.conns, c)
	return true
}

func (p *countingProxy) fail(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.errs = append(p.errs, err)
	}
}

// relay copies c to a new connection to upstream and back until both
// directions end; a direction that ends half-closes the other side.
func (p *countingProxy) relay(c net.Conn) {
	defer p.wg.Done()
	if !p.track(c) {
		c.Close()
		return
	}
	s, err := net.Dial("tcp", p.upstream)
	if err != nil {
		p.fail(fmt.Errorf("proxy: dial %s: %w", p.upstream, err))
		c.Close()
		return
	}
	if !p.track(s) {
		s.Close()
		c.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); pipe(s, c, &p.up) }()
	go func() { defer wg.Done(); pipe(c, s, &p.down) }()
	wg.Wait()
	c.Close()
	s.Close()
}

// pipe copies src to dst, counting into n, then half-closes dst.
func pipe(dst, src net.Conn, n *atomic.Int64) {
	buf := make([]byte, 256<<10)
	for {
		k, err := src.Read(buf)
		if k > 0 {
			n.Add(int64(k))
			if _, werr := dst.Write(buf[:k]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	if tc, ok := dst.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
}

// close stops the proxy and its connections and returns the first relay
// failure (a dial of upstream that failed), if any.
func (p *countingProxy) close() error {
	p.mu.Lock()
	p.closed = true
	conns := p.conns
	errs := p.errs
	p.mu.Unlock()
	p.ln.Close()
	for _, c := range conns {
		c.Close()
	}
	p.wg.Wait()
	return errors.Join(errs...)
}

// freePort returns a port of 127.0.0.1 free for TCP and UDP right now (the
// hsp swarm listens on both).
func freePort() (int, error) {
	var last error
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, fmt.Errorf("find a free port: %w", err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			u.Close()
			return port, nil
		}
		last = err
	}
	return 0, fmt.Errorf("find a free port: %w", last)
}
