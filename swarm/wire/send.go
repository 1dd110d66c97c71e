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
