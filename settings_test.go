package main

import (
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func settingsOf(t *testing.T, c *cli, args ...string) map[string]any {
	t.Helper()
	st := jsonOf(t, c.ok(append(args, "--json", "status")...))
	set, _ := st["settings"].(map[string]any)
	return set
}

// TestConfigSurvivesAutoSpawn: a setting made with `hsp config set`
// reaches the daemon the next command starts by itself.
func TestConfigSurvivesAutoSpawn(t *testing.T) {
	c := newCLI(t)
	port := strconv.Itoa(freePort(t))
	c.ok("config", "set", "port", port)
	c.ok("config", "set", "max-loaded", "7")
	if got := strings.TrimSpace(c.ok("config", "get", "port")); got != port {
		t.Fatalf("config get port: %q", got)
	}
	set := settingsOf(t, c) // spawns the daemon
	if set["port"] != port || set["max-loaded"] != "7" {
		t.Fatalf("the auto-spawned daemon has settings %v", set)
	}
	c.ok("--connect", "127.0.0.1:"+port, "status") // TCP is up, with the home's token
	r := c.run(nil, "config", "set", "max-loaded", "9")
	if r.code != 0 || !strings.Contains(r.stderr, "restart") {
		t.Fatalf("config set against a running daemon: %d %s", r.code, r.stderr)
	}
	c.ok("daemon", "stop")
	if set := settingsOf(t, c); set["max-loaded"] != "9" {
		t.Fatalf("after a restart: %v", set)
	}
	c.ok("config", "unset", "port")
	list := jsonOf(t, c.ok("--json", "config", "list"))
	if n := len(list["settings"].([]any)); n < 8 {
		t.Fatalf("config list shows %d settings", n)
	}
}

// TestConfigRefusesBadInput: unknown keys and bad values are usage errors;
// a malformed file stops the daemon from starting, naming the line.
func TestConfigRefusesBadInput(t *testing.T) {
	c := newCLI(t)
	c.fails(2, "no setting", "config", "set", "colour", "blue")
	c.fails(2, "not a port", "config", "set", "port", "99999")
	os.MkdirAll(c.home, 0o700)
	os.WriteFile(filepath.Join(c.home, "config"), []byte("port = 7070\nhost 0.0.0.0\n"), 0o600)
	r := c.run(nil, "status")
	if r.code == 0 || !strings.Contains(r.stderr, "line 2") {
		t.Fatalf("a malformed config: exit %d, %s", r.code, r.stderr)
	}
	os.WriteFile(filepath.Join(c.home, "config"), []byte("colour = \"blue\"\n"), 0o600)
	if r := c.run(nil, "status"); r.code == 0 || !strings.Contains(r.stderr, "colour") {
		t.Fatalf("an unknown key in the config: exit %d, %s", r.code, r.stderr)
	}
}

// TestDaemonStartFlags: daemon flags are taken before and after `start`
// and reach the detached daemon; asking a running daemon for others fails.
func TestDaemonStartFlags(t *testing.T) {
	for _, order := range [][]string{{"daemon", "start", "--port"}, {"daemon", "--port"}} {
		c := newCLI(t)
		port := strconv.Itoa(freePort(t))
		args := append(append([]string{}, order...), port)
		if order[1] != "start" {
			args = append(args, "start")
		}
		c.ok(args...)
		c.ok("--connect", "127.0.0.1:"+port, "daemon", "status")
		r := c.run(nil, "daemon", "start", "--port", strconv.Itoa(freePort(t)))
		if r.code != 1 || !strings.Contains(r.stderr, "already runs") {
			t.Fatalf("start with another port against a running daemon: %d %s", r.code, r.stderr)
		}
		c.ok("daemon", "start", "--port", port) // the same settings: fine
		stopped := jsonOf(t, c.ok("--connect", "127.0.0.1:"+port, "--json", "daemon", "stop"))
		if stopped["stopped"] != true {
			t.Fatalf("daemon stop over TCP: %v", stopped)
		}
		if r := c.run(nil, "--no-spawn", "status"); r.code != 3 {
			t.Fatalf("the daemon stopped over TCP still answers: %d", r.code)
		}
	}
}

// TestConcurrentStartsOneStarted: of three racing starts, one says it
// started the daemon.
func TestConcurrentStartsOneStarted(t *testing.T) {
	c := newCLI(t)
	var wg sync.WaitGroup
	outs := make([]string, 3)
	for i := range outs {
		wg.Add(1)
		go func() { defer wg.Done(); outs[i] = c.ok("--json", "daemon", "start") }()
	}
	wg.Wait()
	started, pids := 0, map[any]bool{}
	for _, o := range outs {
		res := jsonOf(t, o)
		if res["started"] == true {
			started++
		}
		pids[res["pid"]] = true
	}
	if started != 1 || len(pids) != 1 {
		t.Fatalf("three racing starts: %d said started, pids %v\n%s", started, pids, strings.Join(outs, ""))
	}
}

// TestDaemonOnOtherSocket: a daemon started with --socket is found through
// the home's lock by plain commands, and stopped by plain `daemon stop`.
func TestDaemonOnOtherSocket(t *testing.T) {
	c := newCLI(t)
	sock := filepath.Join(t.TempDir(), "other.sock")
	c.ok("--socket", sock, "daemon", "start")
	if out := c.ok("--no-spawn", "ls"); !strings.Contains(out, "no cores") && out != "" {
		t.Logf("ls: %q", out)
	}
	st := jsonOf(t, c.ok("--no-spawn", "--json", "status"))
	if st["socket"] != sock {
		t.Fatalf("status found the daemon on %v, want %s", st["socket"], sock)
	}
	stopped := jsonOf(t, c.ok("--json", "daemon", "stop"))
	if stopped["stopped"] != true {
		t.Fatalf("plain daemon stop: %v", stopped)
	}
	if _, err := os.Stat(sock); !os.IsNotExist(err) {
		t.Fatalf("the socket is still there: %v", err)
	}
}
