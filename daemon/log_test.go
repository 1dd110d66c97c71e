package daemon

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
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

// TestLogFileRotates: past its size the log moves aside and a fresh one
// starts, keeping at most three old files.
func TestLogFileRotates(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "daemon.log")
	w := OpenLogFile(path, 1)
	log := NewLogger(w, slog.LevelInfo, nil)
	line := strings.Repeat("x", 1000)
	for range 6000 { // about 6 MiB through a 1 MiB log
		log.Warn("flood", "line", line)
	}
	w.Close()
	// Old files are removed in the background: give it a moment.
	var files []string
	var total int64
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		files, total = logFiles(t, dir)
		if len(files) <= 4 && total <= 5<<20 || time.Now().After(deadline) {
			break
		}
	}
	if len(files) > 4 || total > 5<<20 {
		t.Fatalf("%d log files of %d bytes in all after 6 MiB through a 1 MiB log", len(files), total)
	}
}

func logFiles(t *testing.T, dir string) ([]string, int64) {
	files, _ := filepath.Glob(filepath.Join(dir, "daemon*.log"))
	var total int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil {
			total += fi.Size()
		}
	}
	return files, total
}

// TestThrottle: one warning of a kind per interval, with a count of the
// ones held back.
func TestThrottle(t *testing.T) {
	var buf bytes.Buffer
	log := NewLogger(&buf, slog.LevelInfo, nil)
	th := newThrottle(time.Second)
	now := time.Unix(1000, 0)
	th.now = func() time.Time { return now }
	for range 1000 {
		th.warn(log, "refused", "refused tcp client")
	}
	th.warn(log, "busy", "busy")
	now = now.Add(2 * time.Second)
	th.warn(log, "refused", "refused tcp client")
	out := buf.String()
	if n := strings.Count(out, "refused tcp client"); n != 2 {
		t.Fatalf("%d refusal lines for 1001 refusals:\n%s", n, out)
	}
	if !strings.Contains(out, "suppressed=999") || !strings.Contains(out, "msg=busy") {
		t.Fatalf("no count of the held-back warnings, or a kind held back by another:\n%s", out)
	}
}

// lockedBuffer is a bytes.Buffer the daemon's goroutines may log to.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestLogNamesOneSubsystem: with the network up, every record of the
// daemon's log names one subsystem, the one that wrote it.
func TestLogNamesOneSubsystem(t *testing.T) {
	var out lockedBuffer
	d := startDaemon(t, t.TempDir(), Options{SwarmHost: "127.0.0.1", Logger: NewLogger(&out, slog.LevelDebug, nil)})
	c := dial(t, d)
	ctx := context.Background()
	dk := core.DiscoveryKey{2}
	if err := c.Configure(ctx, dk, rpc.ConfigureOptions{Announce: true}); err != nil {
		t.Fatalf("configure: %v", err)
	}
	waitFor(t, "the announce round", func() bool {
		ts, err := c.TopicStatus(ctx, dk)
		return err == nil && ts.Announce && ts.Rounds > 0
	})
	c.Close()
	d.Close()
	seen := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		if n := strings.Count(line, " pkg="); n > 1 {
			t.Errorf("a record names %d subsystems: %s", n, line)
		}
		if _, rest, ok := strings.Cut(line, " pkg="); ok {
			seen[strings.Fields(rest)[0]] = true
		}
	}
	for _, pkg := range []string{"net", "swarm"} {
		if !seen[pkg] {
			t.Errorf("no record of %s in:\n%s", pkg, out.String())
		}
	}
}
