package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	hsphome "github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// buildHsp builds the hsp binary with extra linker flags.
func buildHsp(t *testing.T, ldflags string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hsp")
	out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestVersionSkew runs a daemon built as another release: a client of
// this build notices the skew at the handshake, and still works.
func TestVersionSkew(t *testing.T) {
	bin := buildHsp(t, "-X github.com/hspd/hsp/rpc.Version=v9.9.9-skew")
	out, err := exec.Command(bin, "--version").Output()
	if err != nil || !strings.Contains(string(out), "v9.9.9-skew") {
		t.Fatalf("hsp --version: %q, %v", out, err)
	}
	home := t.TempDir()
	daemon := exec.Command(bin, "--home", home, "daemon")
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	defer daemon.Wait()
	defer daemon.Process.Kill()
	socket := hsphome.PathsFor(home, os.Getenv).Socket
	var c *rpc.Client
	for deadline := time.Now().Add(20 * time.Second); ; {
		if c, err = rpc.Dial(context.Background(), socket); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon never answered: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer c.Close()
	if !c.VersionSkew() || c.DaemonVersion != "v9.9.9-skew" {
		t.Fatalf("skew %v, daemon version %q", c.VersionSkew(), c.DaemonVersion)
	}
	if st, err := c.Status(context.Background()); err != nil || st.Version != "v9.9.9-skew" {
		t.Fatalf("status across versions: %+v, %v", st, err)
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
}
