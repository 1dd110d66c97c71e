package daemon

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
)

func TestLogLevelAndTrace(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelWarn, []string{"gc"})
	log.Info("quiet")
	log.Warn("loud")
	log.With("pkg", "gc").Debug("traced")
	log.With("pkg", "capnp").Debug("untraced")
	log.With("pkg", "capnp").Info("untraced info")
	out := buf.String()
	for _, want := range []string{"loud", "traced"} {
		if !strings.Contains(out, "msg="+want) {
			t.Errorf("missing %q in:\n%s", want, out)
		}
	}
	for _, unwanted := range []string{"quiet", "msg=untraced"} {
		if strings.Contains(out, unwanted) {
			t.Errorf("%q logged:\n%s", unwanted, out)
		}
	}
	for _, s := range []string{"debug", "INFO", "warn", "error"} {
		if _, err := ParseLogLevel(s); err != nil {
			t.Errorf("level %q: %v", s, err)
		}
	}
	if _, err := ParseLogLevel("loud"); err == nil {
		t.Error("level loud accepted")
	}
}
