package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
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
