package wire

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hspd/hsp/core"
)

// EventKind tells what an Event reports.
type EventKind uint8

// The kinds of Event.
const (
	// EventMessage: Message arrived on Channel, which both sides opened.
	// Channel is nil for a stream-level Options or Extension (channel 0).
	EventMessage EventKind = iota + 1
	// EventRemoteOpen: the remote opened DiscoveryKey, for which there is
	// no local channel. Answer with OpenChannel(key) if the core is known,
	// else Reject(DiscoveryKey), as Corestore does.
	EventRemoteOpen
	// EventChannelReady: both sides have opened Channel and the remote's
	// capability checks out; messages may flow. It comes once per pair
	// of Opens, whichever side opened first.
	EventChannelReady
	// EventChannelClosed: the remote closed (or rejected) Channel. Its local
	// side was closed too and a Close was sent back, as JS does.
	EventChannelClosed
)

// Event is what Recv delivers.
type Event struct {
	Kind         EventKind
	Channel      *Channel
	DiscoveryKey core.DiscoveryKey // of Channel, or of the remote Open
	Message      Message           // for EventMessage
}

// Recv returns the next event. Frames for channels that are not open on
// both sides are dropped, as in JS. An error ends the stream (except ctx's
// own, which leaves it up) and is returned by every later call: io.EOF
// when the remote ended the connection, ErrTimeout, ErrMalformed,
// ErrFrameTooLarge, ErrBadCapability, ErrClosed.
func (s *Stream) Recv(ctx context.Context) (Event, error) {
	for {
		if err := s.ready(); err != nil {
			return Event{}, err // also when frames are still queued
		}
		if ev, ok := s.popPending(); ok {
			return ev, nil
		}
		select {
		case in := <-s.frames:
			s.release(len(in.body))
			ev, ok, err := s.handle(in)
			if err != nil {
				s.destroy(err)
				return Event{}, s.Err()
			}
			if ok {
				return ev, nil
			}
		case <-s.wake:
		case <-s.done:
			return Event{}, s.Err()
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// readLoop reads frames for Recv until an error, holding back while more
// than maxQueued bytes wait.
func (s *Stream) readLoop() {
	for s.waitDrained() {
		fr, err := s.rd.next()
		if err != nil {
			err = s.readErr(err)
		}
		s.queued.Add(int64(len(fr.body)))
		select {
		case s.frames <- inbound{fr, err}:
		case <-s.done:
			return
		}
		if err != nil {
			return
		}
	}
}

func (s *Stream) waitDrained() bool {
	for s.queued.Load() > maxQueued {
		select {
		case <-s.drained:
		case <-s.done:
			return false
		}
	}
	return true
}

func (s *Stream) release(n int) {
	s.queued.Add(-int64(n))
	select {
	case s.drained <- struct{}{}:
	default:
	}
}

func (s *Stream) readErr(err error) error {
	if errors.Is(err, os.ErrDeadlineExceeded) {
		return fmt.Errorf("read frame: %w after %v", ErrTimeout, s.cfg.Timeout)
	}
	return fmt.Errorf("read frame: %w", err)
}

// handle turns a frame into an event; ok is false for frames that are
// dropped. Types 11 to 14 are ignored, as JS does.
func (s *Stream) handle(in inbound) (ev Event, ok bool, err error) {
	if in.err != nil {
		return Event{}, false, in.err
	}
	if in.typ > TypeClose && in.typ != TypeExtension {
		return Event{}, false, nil
	}
	m, err := Decode(in.typ, in.body)
	if err != nil {
		return Event{}, false, fmt.Errorf("channel %d: %w", in.channel, err)
	}
	switch m := m.(type) {
	case Open:
		return s.onOpen(in.channel, m)
	case Close:
		return s.onClose(in.channel, m)
	}
	return s.onMessage(in.channel, m)
}

func (s *Stream) pushPending(ev Event) {
	s.pending = append(s.pending, ev)
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *Stream) popPending() (Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.pending) == 0 {
		return Event{}, false
	}
	ev := s.pending[0]
	s.pending = s.pending[1:]
	return ev, true
}
