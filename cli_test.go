package main

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	hsphome "github.com/hspd/hsp/home"
)

// These tests run the real hsp binary, as a user would, each on its own
// home, and stop the daemons they spawn.

var (
	hspOnce sync.Once
	hspBin  string
	hspErr  error
)

func hspBinary(t *testing.T) string {
	t.Helper()
	hspOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hsp-bin-")
		if err != nil {
			hspErr = err
			return
		}
		hspBin = filepath.Join(dir, "hsp")
		out, err := exec.Command("go", "build", "-o", hspBin, ".").CombinedOutput()
		if err != nil {
			hspErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if hspErr != nil {
		t.Fatal(hspErr)
	}
	return hspBin
}

// cli runs hsp commands on one home.
type cli struct {
	t    *testing.T
	bin  string
	home string
	env  []string // more environment for every command, over the test's
}

func newCLI(t *testing.T) *cli {
	c := &cli{t: t, bin: hspBinary(t), home: filepath.Join(t.TempDir(), "home")}
	t.Cleanup(c.stopDaemon)
	return c
}

type result struct {
	stdout, stderr string
	code           int
}

func (c *cli) run(stdin []byte, args ...string) result {
	c.t.Helper()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(append(os.Environ(), "HSP_HOME="+c.home, "NO_COLOR=1"), c.env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run hsp %v: %v", args, err)
	}
	return result{out.String(), errOut.String(), code}
}

// ok runs a command that must succeed and returns its stdout.
func (c *cli) ok(args ...string) string {
	c.t.Helper()
	r := c.run(nil, args...)
	if r.code != 0 {
		c.t.Fatalf("hsp %v exited %d\nstdout: %s\nstderr: %s\n%s", args, r.code, r.stdout, r.stderr, c.logTail())
	}
	return r.stdout
}

// logTail is the end of the home's daemon.log, for a failure's message.
func (c *cli) logTail() string {
	b, err := os.ReadFile(filepath.Join(c.home, "daemon.log"))
	if err != nil {
		return "(no daemon.log)"
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return "daemon.log, last lines:\n" + strings.Join(lines[max(0, len(lines)-40):], "\n")
}

// fails runs a command that must exit with code and mention want.
func (c *cli) fails(code int, want string, args ...string) result {
	c.t.Helper()
	r := c.run(nil, args...)
	if r.code != code || !strings.Contains(r.stderr, want) {
		c.t.Fatalf("hsp %v exited %d, want %d with %q\nstdout: %s\nstderr: %s", args, r.code, code, want, r.stdout, r.stderr)
	}
	return r
}

// jsonOf parses one JSON object.
func jsonOf(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("not JSON: %q: %v", s, err)
	}
	return v
}

func (c *cli) daemonPid() int {
	pid, _, err := hsphome.ReadLock(filepath.Join(c.home, "LOCK"))
	if err != nil {
		return 0
	}
	return pid
}

// kill9 kills the daemon with SIGKILL and waits until it is gone, so
// that the next command finds no half-dead socket.
func (c *cli) kill9() {
	c.t.Helper()
	pid := c.daemonPid()
	syscall.Kill(pid, syscall.SIGKILL)
	for deadline := time.Now().Add(10 * time.Second); syscall.Kill(pid, 0) == nil; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			c.t.Fatal("the killed daemon lingers")
		}
	}
}

func (c *cli) stopDaemon() {
	r := c.run(nil, "daemon", "stop")
	if r.code != 0 {
		if pid := c.daemonPid(); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

func TestCLITour(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	if len(key) != 64 {
		t.Fatalf("create printed %q", key)
	}
	if got := c.ok("append", key, "hello", "world"); got != "2\n" {
		t.Fatalf("append printed %q", got)
	}
	r := c.run([]byte("a\n\nb\n"), "append", key)
	if r.code != 0 || r.stdout != "5\n" {
		t.Fatalf("append from stdin: %+v", r)
	}
	if got := c.ok("cat", key); got != "hello\nworld\na\n\nb\n" {
		t.Fatalf("cat printed %q", got)
	}
	if got := c.ok("cat", key, "--start", "1", "--end", "3"); got != "world\na\n" {
		t.Fatalf("cat 1..3 printed %q", got)
	}
	if got := c.ok("cat", "hyper://"+key, "--raw"); got != "helloworldab" {
		t.Fatalf("cat --raw printed %q", got)
	}
	named := strings.TrimSpace(c.ok("create", "--name", "notes"))
	if again := strings.TrimSpace(c.ok("create", "--name", "notes")); again != named {
		t.Fatalf("the same name gave two keys: %s, %s", named, again)
	}
	if ls := c.ok("ls", "--long"); !strings.Contains(ls, key) || !strings.Contains(ls, named) || !strings.Contains(ls, "notes") {
		t.Fatalf("ls:\n%s", ls)
	}
	if info := c.ok("info", key); !strings.Contains(info, "5 blocks, 12 bytes") {
		t.Fatalf("info:\n%s", info)
	}
	if st := c.ok("status"); !strings.Contains(st, "2 stored") {
		t.Fatalf("status:\n%s", st)
	}
}

func TestCLIJSON(t *testing.T) {
	c := newCLI(t)
	created := jsonOf(t, c.ok("--json", "create", "--name", "j"))
	key := created["key"].(string)
	if created["name"] != "j" || created["writable"] != true || len(created["discoveryKey"].(string)) != 64 {
		t.Fatalf("create --json: %v", created)
	}
	app := jsonOf(t, c.ok("append", key, "x", "yy", "--json"))
	if app["length"] != 2.0 || app["byteLength"] != 3.0 || app["appended"] != 2.0 {
		t.Fatalf("append --json: %v", app)
	}
	lines := strings.Split(strings.TrimSpace(c.ok("cat", key, "--json")), "\n")
	if len(lines) != 2 {
		t.Fatalf("cat --json printed %d lines", len(lines))
	}
	for i, line := range lines {
		rec := jsonOf(t, line)
		if rec["type"] != "block" || rec["index"] != float64(i) {
			t.Fatalf("cat --json line %d: %v", i, rec)
		}
	}
	if rec := jsonOf(t, lines[1]); rec["data"] != "eXk=" {
		t.Fatalf("block 1 data %v, want base64 of yy", rec["data"])
	}
	for _, args := range [][]string{{"ls"}, {"info", key}} {
		list := jsonOf(t, c.ok(append(args, "--json")...))
		cores := list["cores"].([]any)
		if len(cores) != 1 || cores[0].(map[string]any)["length"] != 2.0 {
			t.Fatalf("%v --json: %v", args, list)
		}
	}
	st := jsonOf(t, c.ok("status", "--json"))
	if st["coresStored"] != 1.0 || st["home"] != c.home || st["network"].(map[string]any)["available"] != false {
		t.Fatalf("status --json: %v", st)
	}
	ds := jsonOf(t, c.ok("daemon", "status", "--json"))
	if ds["pid"] != st["pid"] {
		t.Fatalf("daemon status --json: %v", ds)
	}
	rm := jsonOf(t, c.ok("rm", key, "--yes", "--json"))
	if rm["deleted"] != true || rm["key"] != key {
		t.Fatalf("rm --json: %v", rm)
	}
	r := c.fails(4, `"type":"error"`, "--json", "info", key)
	if e := jsonOf(t, r.stderr); e["code"] != "not-found" || e["exitCode"] != 4.0 || r.stdout != "" {
		t.Fatalf("error under --json: %v, stdout %q", e, r.stdout)
	}
	stop := jsonOf(t, c.ok("daemon", "stop", "--json"))
	if stop["stopped"] != true {
		t.Fatalf("daemon stop --json: %v", stop)
	}
	start := jsonOf(t, c.ok("daemon", "start", "--json"))
	if start["started"] != true || start["running"] != true {
		t.Fatalf("daemon start --json: %v", start)
	}
}

func TestCLIBinaryRoundTrip(t *testing.T) {
	c := newCLI(t)
	data := make([]byte, 1<<20+123)
	rand.Read(data)
	key := strings.TrimSpace(c.ok("create"))
	r := c.run(data, "append", key, "--chunk", "65536")
	if r.code != 0 || r.stdout != "17\n" {
		t.Fatalf("append --chunk: %+v", r)
	}
	if got := c.ok("cat", key, "--raw"); got != string(data) {
		t.Fatalf("cat --raw gave %d bytes back of %d", len(got), len(data))
	}
}

func TestCLIErrors(t *testing.T) {
	c := newCLI(t)
	c.fails(3, "--no-spawn", "--no-spawn", "ls")
	if _, err := os.Stat(filepath.Join(c.home, "hsp.sock")); err == nil {
		t.Fatal("--no-spawn started a daemon")
	}
	c.fails(2, "malformed key", "cat", "not-a-key")
	c.fails(2, "malformed key", "info", "hyper://abcd")
	unknown := strings.Repeat("ab", 32)
	c.fails(4, "no core "+unknown, "cat", unknown)
	key := strings.TrimSpace(c.ok("create"))
	c.ok("append", key, "one")
	c.fails(5, "past the core's length 1", "cat", key, "--end", "3")
	c.fails(2, "no command", "frobnicate")
	c.fails(2, "flag provided but not defined", "cat", key, "--bogus")
	c.fails(2, "--yes", "rm", key)
	c.fails(2, "--chunk must be between", "append", key, "--chunk", "9000000")
}

// TestCLIRacingSpawns starts several commands at once on a home with no
// daemon: they all end up talking to the one daemon that won the lock.
func TestCLIRacingSpawns(t *testing.T) {
	c := newCLI(t)
	const racers = 6
	pids := make(chan string, racers)
	var wg sync.WaitGroup
	for range racers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := c.run(nil, "status", "--json")
			if r.code != 0 {
				t.Errorf("racing status: %+v", r)
				pids <- ""
				return
			}
			pids <- fmt.Sprint(jsonOf(t, r.stdout)["pid"])
		}()
	}
	wg.Wait()
	close(pids)
	seen := map[string]bool{}
	for p := range pids {
		seen[p] = true
	}
	if len(seen) != 1 {
		t.Fatalf("racing spawns reached %d daemons: %v", len(seen), seen)
	}
	log, _ := os.ReadFile(filepath.Join(c.home, "daemon.log"))
	if n := strings.Count(string(log), "daemon ready"); n != 1 {
		t.Fatalf("%d daemons became ready:\n%s", n, log)
	}
}

// TestCLIDaemonOutlivesItsSpawner: the spawned daemon leads its own session,
// so neither its parent's exit nor a hangup of the parent's terminal (its
// process group) reaches it.
func TestCLIDaemonOutlivesItsSpawner(t *testing.T) {
	c := newCLI(t)
	cmd := exec.Command(c.bin, "create")
	cmd.Env = append(os.Environ(), "HSP_HOME="+c.home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if out, err := cmd.Output(); err != nil {
		t.Fatalf("create: %v %s", err, out)
	}
	syscall.Kill(-cmd.Process.Pid, syscall.SIGHUP) // the "terminal" hangs up
	pid := c.daemonPid()
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatalf("daemon %d: %v", pid, err)
	}
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	if sid := fields[3]; sid != strconv.Itoa(pid) {
		t.Fatalf("daemon %d is in session %s, not its own", pid, sid)
	}
	time.Sleep(100 * time.Millisecond)
	if st := jsonOf(t, c.ok("--no-spawn", "status", "--json")); st["pid"] != float64(pid) {
		t.Fatalf("after its spawner exited, status says %v", st)
	}
	fds, _ := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
	for _, fd := range fds {
		target, _ := os.Readlink(fmt.Sprintf("/proc/%d/fd/%s", pid, fd.Name()))
		if strings.HasPrefix(target, "pipe:") {
			t.Fatalf("daemon fd %s is a pipe", fd.Name())
		}
	}
}

func TestCLIRestartKeepsData(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	c.ok("append", key, "kept")
	c.ok("daemon", "stop")
	if got := c.ok("cat", key); got != "kept\n" {
		t.Fatalf("after restart cat printed %q", got)
	}
}

func TestCLISecondDaemon(t *testing.T) {
	c := newCLI(t)
	c.ok("daemon", "start")
	r := c.run(nil, "daemon")
	if r.code != 0 || !strings.Contains(r.stderr, "already running") {
		t.Fatalf("a second foreground daemon: %+v", r)
	}
	if got := c.ok("daemon", "start"); !strings.Contains(got, "already running") {
		t.Fatalf("daemon start with one running: %q", got)
	}
}

// TestCLICompletion: what the bash and zsh scripts ask hsp for.
func TestCLICompletion(t *testing.T) {
	c := newCLI(t)
	out := c.ok("--generate-bash-completion")
	for _, cmd := range []string{"create", "append", "cat", "info", "ls", "rm", "status", "daemon"} {
		if !strings.Contains(out, cmd+"\n") {
			t.Errorf("completion candidates lack %q:\n%s", cmd, out)
		}
	}
	if out := c.ok("daemon", "", "--generate-bash-completion"); out != "start\nstop\nstatus\ninstall-service\n" {
		t.Errorf("daemon's completion candidates: %q", out)
	}
}

// TestCLIRemoteTokenInNetns serves RPC on a non-loopback address, inside a
// network namespace this test makes: a client with the home's token gets
// in, one without is refused before any call is served.
func TestCLIRemoteTokenInNetns(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run this test as root")
		}
		t.Skip("needs root for a network namespace")
	}
	c := newCLI(t)
	ns, host := netns(t)
	daemon := exec.Command("ip", "netns", "exec", ns, c.bin, "--home", c.home, "daemon", "--host", host, "--port", "7070")
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Signal(syscall.SIGTERM); daemon.Wait() })
	addr, tokenFile := host+":7070", filepath.Join(c.home, "token")
	deadline := time.Now().Add(20 * time.Second)
	for c.run(nil, "--connect", addr, "--token-file", tokenFile, "status").code != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the daemon in %s never answered", ns)
		}
		time.Sleep(50 * time.Millisecond)
	}
	st := jsonOf(t, c.ok("--connect", addr, "--token-file", tokenFile, "--json", "status"))
	if st["home"] != c.home {
		t.Fatalf("status over tcp: %v", st)
	}
	// Without --token-file the home's own token is presented.
	c.ok("--connect", addr, "status")
	c.fails(1, "a token is required", "--home", t.TempDir(), "--connect", addr, "status")
	bad := filepath.Join(t.TempDir(), "bad")
	os.WriteFile(bad, []byte(strings.Repeat("0", 64)), 0o600)
	c.fails(1, "refused this client's token", "--connect", addr, "--token-file", bad, "ls")
}

// netns makes a network namespace joined to this one by a veth pair and
// returns its name and its address.
func netns(t *testing.T) (string, string) {
	t.Helper()
	id := os.Getpid() % 100000
	ns, outer, inner := fmt.Sprintf("hsp%d", id), fmt.Sprintf("hspo%d", id), fmt.Sprintf("hspi%d", id)
	ip := func(args ...string) {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %v: %v\n%s", args, err, out)
		}
	}
	ip("netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	ip("link", "add", outer, "type", "veth", "peer", "name", inner)
	t.Cleanup(func() { exec.Command("ip", "link", "del", outer).Run() })
	ip("link", "set", inner, "netns", ns)
	ip("addr", "add", "10.199.7.1/24", "dev", outer)
	ip("link", "set", outer, "up")
	ip("netns", "exec", ns, "ip", "addr", "add", "10.199.7.2/24", "dev", inner)
	ip("netns", "exec", ns, "ip", "link", "set", inner, "up")
	ip("netns", "exec", ns, "ip", "link", "set", "lo", "up")
	return ns, "10.199.7.2"
}

// TestCLICatLive follows a core: blocks appended while cat --live runs
// come out as they land.
func TestCLICatLive(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	c.ok("append", key, "before")
	cmd := exec.Command(c.bin, "cat", key, "--live")
	cmd.Env = append(os.Environ(), "HSP_HOME="+c.home)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	lines := make(chan string, 10)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() string {
		select {
		case l := <-lines:
			return l
		case <-time.After(10 * time.Second):
			t.Fatal("cat --live printed nothing")
			return ""
		}
	}
	if l := next(); l != "before" {
		t.Fatalf("first line %q", l)
	}
	c.ok("append", key, "after", "again")
	if a, b := next(), next(); a != "after" || b != "again" {
		t.Fatalf("live lines %q, %q", a, b)
	}
}

// TestCLIFdFlood floods a daemon that may open only 300 files with
// connections that never say hello, while a client keeps appending: each
// append succeeds or exits 8 busy, none finds a dead daemon, and every
// acknowledged block is there afterwards.
func TestCLIFdFlood(t *testing.T) {
	c := newCLI(t)
	daemon := exec.Command("prlimit", "--nofile=300:300", c.bin, "--home", c.home, "daemon")
	if err := daemon.Start(); err != nil {
		t.Fatalf("start the daemon under prlimit: %v", err)
	}
	t.Cleanup(func() { daemon.Process.Signal(syscall.SIGTERM); daemon.Wait() })
	for deadline := time.Now().Add(20 * time.Second); c.run(nil, "--no-spawn", "status").code != 0; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the daemon under prlimit never answered")
		}
	}
	key := strings.TrimSpace(c.ok("--no-spawn", "create"))
	socket := hsphome.PathsFor(c.home, os.Getenv).Socket
	var flood []net.Conn
	defer func() {
		for _, conn := range flood {
			conn.Close()
		}
	}()
	for range 1000 {
		if conn, err := net.Dial("unix", socket); err == nil {
			flood = append(flood, conn)
		}
	}
	acked, busy := 0, 0
	for i := range 40 {
		r := c.run(nil, "--no-spawn", "append", key, fmt.Sprintf("block %d", i))
		switch r.code {
		case 0:
			acked++
		case 8:
			busy++
			if !strings.Contains(r.stderr, "busy") {
				t.Fatalf("exit 8 without saying busy: %s", r.stderr)
			}
		default:
			t.Fatalf("append during the flood exited %d: %s", r.code, r.stderr)
		}
	}
	for _, conn := range flood {
		conn.Close()
	}
	flood = nil
	deadline := time.Now().Add(20 * time.Second)
	for c.run(nil, "--no-spawn", "append", key, "after").code != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the daemon never took appends again after the flood")
		}
		time.Sleep(100 * time.Millisecond)
	}
	info := jsonOf(t, c.ok("--json", "info", key))
	length := info["cores"].([]any)[0].(map[string]any)["length"].(float64)
	if int(length) < acked+1 {
		t.Fatalf("length %v after %d acknowledged appends", length, acked+1)
	}
	t.Logf("during the flood of %d connections: %d appends acknowledged, %d busy", 1000, acked, busy)
}
