package swarm

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Kept is an address the swarm keeps a connection to (see Swarm.Keep).
type Kept struct {
	s      *Swarm
	addr   string
	cancel context.CancelCauseFunc // ends the keeper: Stop, or the swarm's Close
	done   chan struct{}           // closed once the keeper has ended

	mu      sync.Mutex // guards cur, own and stopped
	cur     *peer      // the latest connection, up or gone
	own     bool       // cur was dialled for us (not a live one our dial lost to)
	stopped bool
}

// dialKept dials addr for a keeper. A dial that loses to a live connection
// to the same peer (the duplicate rule) gives that connection, which the
// keeper then follows but never closes: own is false.
func (s *Swarm) dialKept(ctx context.Context, addr string) (p *peer, own bool, err error) {
	p, err = s.dial(ctx, addr)
	var dup *duplicateError
	if errors.As(err, &dup) {
		return dup.survivor, false, nil
	}
	return p, true, err
}

// Keep keeps a connection to addr. It dials now and returns the result of
// that first attempt, as Dial does: on an error there is nothing kept and
// the caller decides whether to go on. Otherwise, whenever the connection
// drops, it re-dials after a pause that starts at RedialMin and doubles up
// to RedialMax while dials fail or connections drop quickly (one that
// lasted RedialReset resets it), until Stop or the swarm closes. ctx bounds
// the first dial only; every dial's handler keeps its values.
func (s *Swarm) Keep(ctx context.Context, addr string) (*Kept, Conn, error) {
	p, own, err := s.dialKept(ctx, addr)
	if err != nil {
		return nil, Conn{}, err
	}
	kctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	k := &Kept{s: s, addr: addr, cancel: cancel, done: make(chan struct{}), cur: p, own: own}
	if !s.addKeeper(k) {
		cancel(ErrClosed)
		if own {
			p.cancel(ErrClosed)
		}
		return nil, Conn{}, fmt.Errorf("keep %s: %w", addr, ErrClosed)
	}
	go k.run(kctx, p)
	return k, p.conn, nil
}

func (s *Swarm) addKeeper(k *Kept) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.keepers[k] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Swarm) removeKeeper(k *Kept) {
	s.mu.Lock()
	delete(s.keepers, k)
	s.mu.Unlock()
	close(k.done)
	s.wg.Done()
}

// run waits for each connection to drop and brings up the next one.
func (k *Kept) run(ctx context.Context, p *peer) {
	defer k.s.removeKeeper(k)
	delay := k.s.opts.RedialMin
	for {
		select {
		case <-p.done:
		case <-ctx.Done():
			return
		}
		if time.Since(p.conn.Since) >= k.s.opts.RedialReset {
			delay = k.s.opts.RedialMin
		}
		var ok bool
		if p, delay, ok = k.redial(ctx, delay); !ok {
			return
		}
	}
}

// redial dials until a connection is up, pausing delay before each
// attempt and doubling it after. It returns the connection and the next
// pause; false means the keeper is over.
func (k *Kept) redial(ctx context.Context, delay time.Duration) (*peer, time.Duration, bool) {
	for {
		if !k.s.sleep(ctx, delay) {
			return nil, delay, false
		}
		delay = min(2*delay, k.s.opts.RedialMax)
		p, own, err := k.s.dialKept(ctx, k.addr)
		if err == nil {
			return p, delay, k.setCurrent(p, own)
		}
		if ctx.Err() != nil || errors.Is(err, ErrClosed) {
			return nil, delay, false
		}
	}
}

// setCurrent makes p the current connection, or closes it when Stop came
// first.
func (k *Kept) setCurrent(p *peer, own bool) bool {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		if own {
			p.cancel(errStopped)
		}
		return false
	}
	k.cur, k.own = p, own
	return true
}

// Stop ends the keeping: the current connection is closed and no further
// dial starts. It returns once the keeper has ended (not waiting for the
// connection's handler) and may be called more than once.
func (k *Kept) Stop() {
	k.mu.Lock()
	k.stopped = true
	cur, own := k.cur, k.own
	k.mu.Unlock()
	k.cancel(errStopped)
	if own {
		cur.cancel(errStopped)
	}
	<-k.done
}

// Addr is the address kept, as given to Keep.
func (k *Kept) Addr() string { return k.addr }

// Conn returns the current connection, if one is up.
func (k *Kept) Conn() (Conn, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.stopped {
		return Conn{}, false
	}
	select {
	case <-k.cur.done:
		return Conn{}, false
	default:
		return k.cur.conn, true
	}
}
