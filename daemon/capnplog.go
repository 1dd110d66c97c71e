package daemon

import (
	"log/slog"
	"strings"
)

// capnpLogger passes the Cap'n Proto layer's reports to the daemon's log.
// A client hanging up is routine, so those reports go out at debug level.
type capnpLogger struct{ l *slog.Logger }

func (c capnpLogger) Debug(msg string, args ...any) { c.l.Debug(msg, args...) }
func (c capnpLogger) Info(msg string, args ...any)  { c.l.Info(msg, args...) }
func (c capnpLogger) Warn(msg string, args ...any)  { c.l.Warn(msg, args...) }

func (c capnpLogger) Error(msg string, args ...any) {
	if strings.Contains(msg, "connection closed") || strings.Contains(msg, "EOF") {
		c.l.Debug(msg, args...)
		return
	}
	c.l.Warn(msg, args...)
}
