package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"gopkg.in/natefinch/lumberjack.v2"
)

// ParseLogLevel reads a level name: debug, info, warn or error.
func ParseLogLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil || !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(s)) {
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger returns the daemon's text logger on w: records at level and
// above, and every record, debug included, of the subsystems named in
// trace (the "pkg" attribute each subsystem's logger carries, such as gc,
// capnp or swarm).
func NewLogger(w io.Writer, level slog.Level, trace []string) *slog.Logger {
	base := slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})
	return slog.New(&traceHandler{next: base, level: level, trace: trace})
}

// traceHandler lowers the level to debug for the traced subsystems.
type traceHandler struct {
	next  slog.Handler
	level slog.Level
	trace []string
	pkg   string
}

func (h *traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level || h.traced() && h.next.Enabled(ctx, l)
}

func (h *traceHandler) traced() bool {
	return h.pkg != "" && (slices.Contains(h.trace, h.pkg) || slices.Contains(h.trace, "all"))
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error { return h.next.Handle(ctx, r) }

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	for _, a := range attrs {
		if a.Key == "pkg" {
			c.pkg = a.Value.String()
		}
	}
	return &c
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}

// OpenLogFile returns a writer on path that rotates it past maxMiB, keeping
// a few old files, so a flood of warnings cannot fill the disk.
func OpenLogFile(path string, maxMiB int) io.WriteCloser {
	return &lumberjack.Logger{Filename: path, MaxSize: maxMiB, MaxBackups: 3}
}

// throttle lets one warning of a kind through per interval and counts the
// ones it held back, so a flood of refused clients writes a line a second,
// not a line a connection.
type throttle struct {
	mu       sync.Mutex
	every    time.Duration
	last     map[string]time.Time
	withheld map[string]int
	now      func() time.Time
}

func newThrottle(every time.Duration) *throttle {
	return &throttle{every: every, last: map[string]time.Time{}, withheld: map[string]int{}, now: time.Now}
}

// allow reports whether a warning of kind may go out now and, if so, how
// many were held back since the last one.
func (t *throttle) allow(kind string) (bool, int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if last, ok := t.last[kind]; ok && now.Sub(last) < t.every {
		t.withheld[kind]++
		return false, 0
	}
	t.last[kind] = now
	n := t.withheld[kind]
	t.withheld[kind] = 0
	return true, n
}

// warn logs msg through the throttle.
func (t *throttle) warn(log *slog.Logger, kind, msg string, args ...any) {
	if ok, held := t.allow(kind); ok {
		if held > 0 {
			args = append(args, "suppressed", held)
		}
		log.Warn(msg, args...)
	}
}
