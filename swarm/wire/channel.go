package wire

import (
	"crypto/subtle"
	"fmt"

	"github.com/hspd/hsp/core"
)

// Channel is one core replicated over a Stream. It is usable once Recv has
// reported EventChannelReady for it, and ends with Close or with
// EventChannelClosed.
type Channel struct {
	s   *Stream
	key core.Key
	dk  core.DiscoveryKey

	// Guarded by s.mu.
	remoteID   uint64
	remoteOpen bool
	remoteCap  []byte

	// localID is written under s.mu and s.wmu and read under either; 0
	// when the channel is not (or no longer) open locally.
	localID uint64
}

// Key is the core's public key.
func (c *Channel) Key() core.Key { return c.key }

// DiscoveryKey is the core's discovery key.
func (c *Channel) DiscoveryKey() core.DiscoveryKey { return c.dk }

// Send sends m on the channel. Open and Close are not for Send: use
// Stream.OpenChannel and Channel.Close.
func (c *Channel) Send(m Message) error {
	switch m.(type) {
	case Open, Close, *Open, *Close:
		return fmt.Errorf("send %v on channel: use OpenChannel or Close", m.Type())
	}
	s := c.s
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if c.localID == 0 {
		return fmt.Errorf("send %v: %w", m.Type(), ErrChannelClosed)
	}
	return s.sendLocked(c.localID, m)
}

// Close closes the local side: it sends Close{} and frees the local id.
// Later frames from the remote on this channel are dropped.
func (c *Channel) Close() error {
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if c.localID == 0 {
		return nil
	}
	err := s.closeLocal(c)
	s.chans.forget(c)
	return err
}

// OpenChannel opens a channel for the core named key: it sends
// Open{discoveryKey, capability} on the lowest free local id. Opening a core
// twice returns the same channel. When the remote had already opened the
// core with a capability that does not check out, the core is rejected
// instead (Close{discoveryKey}, as hypercore does) and the error wraps
// ErrBadCapability; the stream stays up.
func (s *Stream) OpenChannel(key core.Key) (*Channel, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	dk := key.DiscoveryKey()
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chans.byDK[dk]
	if ch != nil && ch.localID != 0 {
		return ch, nil
	}
	if ch == nil {
		if len(s.chans.byDK) >= s.cfg.MaxChannels {
			return nil, fmt.Errorf("open channel %v: %w", dk, ErrTooManyChannels)
		}
		ch = &Channel{s: s, dk: dk}
		s.chans.byDK[dk] = ch
	}
	ch.key = key
	if ch.remoteOpen && !s.verified(ch) {
		if err := s.sendReject(dk[:]); err != nil {
			return nil, err
		}
		return nil, fmt.Errorf("open channel %v: %w", dk, ErrBadCapability)
	}
	if err := s.openLocal(ch); err != nil {
		return nil, err
	}
	if ch.remoteOpen {
		s.pushPending(Event{Kind: EventChannelReady, Channel: ch, DiscoveryKey: dk})
	}
	return ch, nil
}

// Reject refuses a core the remote opened: it sends Close{discoveryKey} on
// a fresh local id, as Corestore does for cores it does not have.
func (s *Stream) Reject(dk core.DiscoveryKey) error {
	if err := s.ready(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if ch := s.chans.byDK[dk]; ch != nil {
		if ch.localID != 0 {
			return fmt.Errorf("reject %v: channel is open locally", dk)
		}
		s.chans.forget(ch)
	}
	return s.sendReject(dk[:])
}

// Send sends a stream-level Options or Extension on channel 0.
func (s *Stream) Send(m Message) error {
	switch m.(type) {
	case Options, Extension, *Options, *Extension:
	default:
		return fmt.Errorf("send %v on channel 0: only Options and Extension belong there", m.Type())
	}
	if err := s.ready(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.sendLocked(0, m)
}

// openLocal gives ch a local id and sends its Open. s.mu is held.
func (s *Stream) openLocal(ch *Channel) error {
	id := s.chans.allocLocal()
	c := capability(&s.ses.rx, &s.ses.tx, ch.key)
	s.wmu.Lock()
	defer s.wmu.Unlock()
	ch.localID = id
	s.chans.local[id] = ch
	return s.sendLocked(id, Open{DiscoveryKey: ch.dk[:], Capability: c[:]})
}

// closeLocal sends Close{} on ch's local id and frees it. s.mu is held.
func (s *Stream) closeLocal(ch *Channel) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	id := ch.localID
	ch.localID = 0
	s.chans.local[id] = nil
	return s.sendLocked(id, Close{})
}

// sendReject sends Close{discoveryKey} on the lowest free local id, which
// stays free. s.mu is held.
func (s *Stream) sendReject(dk []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.sendLocked(s.chans.allocLocal(), Close{DiscoveryKey: dk})
}

// verified reports whether the remote's capability for ch proves it knows
// the key: the receiver's check swaps its split keys.
func (s *Stream) verified(ch *Channel) bool {
	want := capability(&s.ses.tx, &s.ses.rx, ch.key)
	return subtle.ConstantTimeCompare(ch.remoteCap, want[:]) == 1
}

// onOpen handles a remote Open on its channel id.
func (s *Stream) onOpen(id uint64, m Open) (Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(m.DiscoveryKey) != len(core.DiscoveryKey{}) {
		return Event{}, false, s.sendReject(m.DiscoveryKey) // no core has it
	}
	dk := core.DiscoveryKey(m.DiscoveryKey)
	ch := s.chans.byDK[dk]
	if ch == nil {
		if len(s.chans.byDK) >= s.cfg.MaxChannels {
			return Event{}, false, s.sendReject(dk[:])
		}
		ch = &Channel{s: s, dk: dk}
		s.chans.byDK[dk] = ch
	}
	s.chans.attachRemote(ch, id, m.Capability)
	if ch.localID == 0 {
		return Event{Kind: EventRemoteOpen, DiscoveryKey: dk}, true, nil
	}
	if !s.verified(ch) {
		return Event{}, false, fmt.Errorf("remote open %v: %w", dk, ErrBadCapability)
	}
	return Event{Kind: EventChannelReady, Channel: ch, DiscoveryKey: dk}, true, nil
}

// onClose handles a remote Close: on an id the remote opened, or with a
// discovery key to reject one of ours. If the core is open locally it is
// closed and Close{} is sent back.
func (s *Stream) onClose(id uint64, m Close) (Event, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := s.chans.remote[id]
	if ch == nil && len(m.DiscoveryKey) == len(core.DiscoveryKey{}) {
		ch = s.chans.byDK[core.DiscoveryKey(m.DiscoveryKey)]
	}
	if ch == nil {
		return Event{}, false, nil
	}
	wasOpen := ch.localID != 0
	var err error
	if wasOpen {
		err = s.closeLocal(ch)
	}
	s.chans.forget(ch)
	ev := Event{Kind: EventChannelClosed, Channel: ch, DiscoveryKey: ch.dk}
	return ev, wasOpen && err == nil, err
}

// onMessage delivers a message on a channel open on both sides, and
// stream-level Options and Extension frames on channel 0.
func (s *Stream) onMessage(id uint64, m Message) (Event, bool, error) {
	s.mu.Lock()
	ch := s.chans.remote[id]
	open := ch != nil && ch.localID != 0 // open on both sides: the capability was checked
	s.mu.Unlock()
	switch {
	case open:
		return Event{Kind: EventMessage, Channel: ch, DiscoveryKey: ch.dk, Message: m}, true, nil
	case ch == nil && id == 0:
		t := m.Type()
		return Event{Kind: EventMessage, Message: m}, t == TypeOptions || t == TypeExtension, nil
	}
	return Event{}, false, nil
}
