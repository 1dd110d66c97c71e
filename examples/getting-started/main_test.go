package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestWalkthrough runs the example as `go run` would and checks what a
// newcomer reads: both servers saw their client come and go, the remote
// one read hello and world, everything closed, and the storage is gone.
func TestWalkthrough(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var out, logs bytes.Buffer
	start := time.Now()
	if err := run(ctx, &out, &logs, slog.LevelInfo); err != nil {
		t.Fatalf("run: %v\noutput:\n%s\nlog:\n%s", err, out.String(), logs.String())
	}
	t.Logf("took %v", time.Since(start))
	text := out.String()
	for _, want := range []string{
		"local:  client-open (client 1)",
		"remote: client-open (client 1)",
		"remote: read block 0: hello",
		"remote: read block 1: world",
		"local:  client-close (client 1)",
		"remote: client-close (client 1)",
		"local:  server closed",
		"remote: server closed",
		"dht:    bootstrap node closed",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	if !regexp.MustCompile(`(?m)^local:  created core [0-9a-f]{64}$`).MatchString(text) {
		t.Errorf("output names no core created:\n%s", text)
	}
	// The daemon's own log says the same at info level.
	for _, want := range []string{"msg=client-open server=local", "msg=client-close server=remote", `msg="daemon stopped" server=local`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, logs.String())
		}
	}
	if m := regexp.MustCompile(`storage in (\S+), socket`).FindStringSubmatch(text); m == nil {
		t.Errorf("output names no storage:\n%s", text)
	} else if _, err := os.Stat(filepath.Dir(m[1])); !os.IsNotExist(err) {
		t.Errorf("the example left %s behind (stat: %v)", filepath.Dir(m[1]), err)
	}
}
