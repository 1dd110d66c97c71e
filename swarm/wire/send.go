package wire

import (
	"fmt"
	"time"
)

// sendLocked frames, encrypts and writes m on channel. s.wmu is held.
func (s *Stream) sendLocked(channel uint64, m Message) error {
	b, err := AppendFrame(s.wbuf[:0], channel, m)
	if err != nil {
		return err
	}
	err = s.writeLocked(b)
	s.wbuf = nil
	if cap(b) <= maxKeptBuf {
		s.wbuf = b[:0]
	}
	return err
}

// writeLocked encrypts b in place and writes it. A failed write ends the
// stream, since the keystreams are out of step from then on. s.wmu is held.
func (s *Stream) writeLocked(b []byte) error {
	if err := s.Err(); err != nil {
		return err
	}
	s.tx.XOR(b, b)
	_, err := s.conn.Write(b)
	s.lastSend = time.Now()
	if err != nil {
		s.destroy(fmt.Errorf("write frame: %w", err))
		return s.Err()
	}
	return nil
}

// ping sends a keep-alive now.
func (s *Stream) ping() error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	return s.writeLocked([]byte{0})
}

// keepAliveTick sends a keep-alive (an empty frame) when nothing was sent
// for Config.KeepAlive, and sets the timer for the next check.
func (s *Stream) keepAliveTick() {
	if s.Err() != nil {
		return
	}
	every := s.cfg.KeepAlive
	s.wmu.Lock()
	idle := time.Since(s.lastSend)
	if idle >= every {
		s.writeLocked([]byte{0}) // a failure ends the stream
		idle = 0
	}
	s.wmu.Unlock()
	s.keepAlive.Load().Reset(every - idle)
}

// Outgoing is one message for SendBatch: on Channel, or on channel 0 when
// Channel is nil (then only Options and Extension).
type Outgoing struct {
	Channel *Channel
	Message Message
}

// batchBytes is how much SendBatch gathers before it writes.
const batchBytes = 128 << 10

// SendBatch sends msgs in order as Channel.Send and Stream.Send would, but
// gathers their frames into few writes (one per batchBytes): a burst of
// small messages costs one system call, not one each. A message for a
// channel closed meanwhile is skipped; its entry in errs (when errs is
// not nil, len(msgs) long) is set, as is that of a message refused.
// SendBatch returns the first error that ended the stream, after which
// nothing more is sent.
func (s *Stream) SendBatch(msgs []Outgoing, errs []error) error {
	if err := s.ready(); err != nil {
		return err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	b := s.wbuf[:0]
	for k, o := range msgs {
		var err error
		id := uint64(0)
		switch o.Message.(type) {
		case Open, Close, *Open, *Close:
			err = fmt.Errorf("send %v: use OpenChannel or Close", o.Message.Type())
		case Options, Extension, *Options, *Extension:
		default:
			if o.Channel == nil {
				err = fmt.Errorf("send %v on channel 0: only Options and Extension belong there", o.Message.Type())
			}
		}
		if err == nil && o.Channel != nil {
			if id = o.Channel.localID; id == 0 {
				err = fmt.Errorf("send %v: %w", o.Message.Type(), ErrChannelClosed)
			}
		}
		if err == nil {
			b, err = AppendFrame(b, id, o.Message)
		}
		if err != nil && errs != nil {
			errs[k] = err
		}
		if len(b) >= batchBytes {
			if err := s.writeLocked(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	var err error
	if len(b) > 0 {
		err = s.writeLocked(b)
	}
	s.wbuf = nil
	if cap(b) <= maxKeptBuf {
		s.wbuf = b[:0]
	}
	return err
}
