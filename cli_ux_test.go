package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// End-to-end tests of the CLI as a new user meets it (issue 12), on the
// real binary. Each names the defect of the issue it pins.

// runWith runs hsp with stdout going to the file at path.
func (c *cli) runWith(stdoutPath string, args ...string) result {
	c.t.Helper()
	f, err := os.OpenFile(stdoutPath, os.O_WRONLY, 0)
	if err != nil {
		c.t.Fatal(err)
	}
	defer f.Close()
	cmd := exec.Command(c.bin, args...)
	cmd.Env = append(os.Environ(), "HSP_HOME="+c.home, "NO_COLOR=1")
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = f, &errOut
	err = cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		c.t.Fatalf("run hsp %v: %v", args, err)
	}
	return result{"", errOut.String(), code}
}

// Defect 1: --start past the length is out of range, as --end is.
func TestCLICatStartPastEnd(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	blocks := make([]string, 20)
	for i := range blocks {
		blocks[i] = fmt.Sprint(i)
	}
	c.ok(append([]string{"append", key}, blocks...)...)
	c.fails(5, "--start 25 is past the core's length 20", "cat", key, "--start", "25")
	c.fails(5, "past the core's length", "cat", key, "--end", "21")
	if got := c.ok("cat", key, "--start", "20"); got != "" {
		t.Fatalf("cat --start at the length printed %q", got)
	}
	if got := c.ok("cat", key, "--start", "19"); got != "19\n" {
		t.Fatalf("cat --start 19 printed %q", got)
	}
}

// Defect 2: a home that is a file, or on a read-only mount, exits 3 with
// what to do.
func TestCLIHomeUnusable(t *testing.T) {
	c := newCLI(t)
	file := filepath.Join(t.TempDir(), "home")
	os.WriteFile(file, []byte("not a dir"), 0o600)
	r := c.fails(3, "is a file, not a directory", "--home", file, "ls")
	if !strings.Contains(r.stderr, "--home") || strings.Contains(r.stderr, "open log") {
		t.Fatalf("a file for a home: %s", r.stderr)
	}
	c.fails(3, "is a file, not a directory", "--home", filepath.Join(file, "sub"), "create")
	ro := filepath.Join(t.TempDir(), "ro")
	os.Mkdir(ro, 0o700)
	if os.Getuid() == 0 {
		if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "ro", "tmpfs", ro).CombinedOutput(); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("CI runs as root and must mount a read-only tmpfs: %v %s", err, out)
			}
			t.Skipf("mount a read-only tmpfs: %v %s", err, out)
		}
		t.Cleanup(func() { exec.Command("umount", ro).Run() })
	} else {
		os.Chmod(ro, 0o500)
		t.Cleanup(func() { os.Chmod(ro, 0o700) })
	}
	r = c.fails(3, "cannot write to the home "+ro, "--home", ro, "ls")
	if !strings.Contains(r.stderr, "make it writable") {
		t.Fatalf("a read-only home: %s", r.stderr)
	}
	c.fails(3, "cannot create the home", "--home", filepath.Join(ro, "sub"), "ls")
	r = c.fails(3, `"code":"daemon-unreachable"`, "--json", "--home", file, "ls")
	if e := jsonOf(t, r.stderr); e["exitCode"] != 3.0 {
		t.Fatalf("--json: %v", e)
	}
}

// Defect 7: --json anywhere makes even a bad flag's error JSON, without
// the "usage: " lead.
func TestCLIJSONBadFlag(t *testing.T) {
	c := newCLI(t)
	for _, args := range [][]string{{"--json", "--bogus", "ls"}, {"--json", "ls", "--bogus"}, {"ls", "--bogus", "--json"}} {
		r := c.fails(2, `"type":"error"`, args...)
		e := jsonOf(t, r.stderr)
		if e["code"] != "usage" || e["error"] != "flag provided but not defined: --bogus" || r.stdout != "" {
			t.Fatalf("%v: %v, stdout %q", args, e, r.stdout)
		}
	}
}

// Defect 8: errors say what went wrong without the RPC's method names, the
// key once, and with advice.
func TestCLIErrorsWithoutRPCInternals(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	c.ok("append", key, "x")
	live := exec.Command(c.bin, "cat", key, "--live")
	live.Env = append(os.Environ(), "HSP_HOME="+c.home)
	out, _ := live.StdoutPipe()
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { live.Process.Kill(); live.Wait() }()
	io.ReadFull(out, make([]byte, 2)) // "x\n": it holds the core open
	for _, args := range [][]string{{"rm", key, "--yes"}, {"--json", "rm", key, "--yes"}} {
		r := c.fails(1, "a client has it open", args...)
		if strings.Contains(r.stderr, "capnp") || strings.Count(r.stderr, key) != 1 {
			t.Fatalf("%v: %s", args, r.stderr)
		}
	}
	if r := c.fails(1, "a client has it open", "rm", key, "--yes"); !strings.Contains(r.stderr, "try again") {
		t.Fatalf("no advice: %s", r.stderr)
	}
}

// Defect 9: the advice of "no daemon answers" fits how the command ran.
func TestCLIUnreachableHints(t *testing.T) {
	c := newCLI(t)
	r := c.fails(3, "drop --no-spawn", "--no-spawn", "ls")
	if strings.Contains(r.stderr, "daemon.log") {
		t.Fatalf("points at a log that does not exist: %s", r.stderr)
	}
	addr := closedPort(t)
	r = c.fails(3, "check that a daemon serves TCP at "+addr, "--connect", addr, "--token-file", writeToken(t), "ls")
	for _, bad := range []string{"--no-spawn", "daemon.log", "hsp daemon start"} {
		if strings.Contains(r.stderr, bad) {
			t.Fatalf("--connect to nothing says %q: %s", bad, r.stderr)
		}
	}
	other := notHsp(t)
	r = c.fails(1, "check the address", "--connect", other, "--token-file", writeToken(t), "ls")
	if strings.Contains(r.stderr, "hsp daemon stop") {
		t.Fatalf("a non-hsp server suggests stopping the local daemon: %s", r.stderr)
	}
}

// Defect 10: a malformed --connect address is a usage error.
func TestCLIConnectMalformed(t *testing.T) {
	c := newCLI(t)
	c.fails(2, "want HOST:PORT", "--connect", "garbage", "ls")
	c.fails(2, "the port must be a number from 1 to 65535", "--connect", ":99999", "ls")
	c.fails(2, "the port must be", "--connect", "127.0.0.1:http", "ls")
}

// Defect 11: bash completion offers flags after "--" and the keys of a
// running daemon, and never starts one.
func TestCLIBashCompletion(t *testing.T) {
	c := newCLI(t)
	complete := func(words ...string) string {
		t.Helper()
		script := fmt.Sprintf(`source <(hsp completion bash)
COMP_WORDS=(%s); COMP_CWORD=%d; _hsp_complete; echo "${COMPREPLY[*]}"`, shellWords(words), len(words)-1)
		cmd := exec.Command("bash", "-c", script)
		cmd.Env = append(os.Environ(), "HSP_HOME="+c.home, "PATH="+filepath.Dir(c.bin)+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		return string(out)
	}
	if got := complete("hsp", ""); !strings.Contains(got, "cat") {
		t.Fatalf("hsp <TAB>: %q", got)
	}
	start := time.Now()
	if got := complete("hsp", "cat", ""); strings.TrimSpace(got) != "" {
		t.Fatalf("keys with no daemon: %q", got)
	}
	if time.Since(start) > 3*time.Second {
		t.Fatalf("completion with no daemon took %v", time.Since(start))
	}
	if _, err := os.Stat(c.home); err == nil {
		t.Fatal("completion started a daemon")
	}
	if got := complete("hsp", "--"); !strings.Contains(got, "--json") || !strings.Contains(got, "--home") {
		t.Fatalf("hsp --<TAB>: %q", got)
	}
	if got := complete("hsp", "cat", "--"); !strings.Contains(got, "--start") || !strings.Contains(got, "--raw") {
		t.Fatalf("hsp cat --<TAB>: %q", got)
	}
	key := strings.TrimSpace(c.ok("create"))
	if got := complete("hsp", "cat", ""); !strings.Contains(got, key) {
		t.Fatalf("hsp cat <TAB>: %q, want %s", got, key)
	}
	if got := complete("hsp", "rm", key[:4]); strings.TrimSpace(got) != key {
		t.Fatalf("hsp rm %s<TAB>: %q", key[:4], got)
	}
}

// Defect 12: BLOCK arguments and --chunk together are a usage error.
func TestCLIAppendChunkWithArgs(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	r := c.run([]byte("hi\n"), "append", "--chunk", "3", key, "extra")
	if r.code != 2 || !strings.Contains(r.stderr, "--chunk") {
		t.Fatalf("append --chunk with a BLOCK: %+v", r)
	}
	if got := c.ok("info", key, "--json"); !strings.Contains(got, `"length":0`) {
		t.Fatalf("something was appended: %s", got)
	}
}

// A line past the largest block is said once, with what to do instead.
func TestCLIAppendLongLine(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	r := c.run([]byte(strings.Repeat("x", 9<<20)+"\n"), "append", key)
	if r.code != 1 || strings.Count(r.stderr, "8 MiB") != 1 || !strings.Contains(r.stderr, "--chunk") {
		t.Fatalf("a 9 MiB line: exit %d, %s", r.code, r.stderr)
	}
}

// Defect 13: control characters of names are escaped in text output.
func TestCLIControlCharsEscaped(t *testing.T) {
	c := newCLI(t)
	c.ok("create", "--name", "evil\x1b[2J\nline2")
	ls := c.ok("ls")
	if strings.ContainsAny(ls, "\x1b") || strings.Count(ls, "\n") != 2 || !strings.Contains(ls, `evil\x1b[2J\nline2`) {
		t.Fatalf("ls:\n%q", ls)
	}
	if info := c.ok("info"); strings.ContainsAny(info, "\x1b") || !strings.Contains(info, `evil\x1b[2J\nline2`) {
		t.Fatalf("info:\n%q", info)
	}
	if js := c.ok("--json", "ls"); !strings.Contains(js, `evil\u001b[2J\nline2`) {
		t.Fatalf("--json ls: %s", js)
	}
}

// Defect 14: a TCP client without a token is told one is required, and
// where it is.
func TestCLITokenRequired(t *testing.T) {
	c := newCLI(t)
	port := unusedPort(t)
	daemon := exec.Command(c.bin, "--home", c.home, "daemon", "--port", port)
	if err := daemon.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { daemon.Process.Signal(syscall.SIGTERM); daemon.Wait() })
	addr := "127.0.0.1:" + port
	deadline := time.Now().Add(20 * time.Second)
	for c.run(nil, "--connect", addr, "status").code != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the daemon never answered on TCP")
		}
		time.Sleep(50 * time.Millisecond)
	}
	r := c.fails(1, "a token is required", "--home", t.TempDir(), "--connect", addr, "ls")
	for _, want := range []string{"--token-file", "$HSP_HOME/token"} {
		if !strings.Contains(r.stderr, want) {
			t.Fatalf("the refusal does not say %q: %s", want, r.stderr)
		}
	}
	if strings.Contains(r.stderr, "refused this client's token") {
		t.Fatalf("no token was sent, yet: %s", r.stderr)
	}
	r = c.fails(1, "refused", "--connect", addr, "--token-file", writeToken(t), "ls")
	if !strings.Contains(r.stderr, "--token-file") {
		t.Fatalf("a wrong token: %s", r.stderr)
	}
}

// Output that cannot be written fails the command; a closed pipe ends it
// quietly by SIGPIPE, as Go programs do.
func TestCLIOutputUnwritable(t *testing.T) {
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	c.ok("append", key, "a", "b")
	for _, args := range [][]string{{"cat", key}, {"--json", "cat", key}, {"cat", key, "--raw"}, {"info", key},
		{"--json", "info", key}, {"ls"}, {"status"}, {"append", key, "c"}, {"--version"}, {"--help"}, {"man"}} {
		if r := c.runWith("/dev/full", args...); r.code == 0 || !strings.Contains(r.stderr, "no space left") {
			t.Errorf("hsp %v > /dev/full: %+v", args, r)
		}
	}
	big := strings.Repeat("x", 1<<20) + "\n"
	c.run([]byte(strings.Repeat(big, 8)), "append", key)
	cmd := exec.Command(c.bin, "cat", key)
	cmd.Env = append(os.Environ(), "HSP_HOME="+c.home)
	pr, pw, _ := os.Pipe()
	var errOut strings.Builder
	cmd.Stdout, cmd.Stderr = pw, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	pr.Read(make([]byte, 10))
	pr.Close() // `| head -c 10`
	err := cmd.Wait()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGPIPE) {
		t.Fatalf("cat into a closed pipe: %v, %s", err, errOut.String())
	}
	if errOut.Len() > 0 {
		t.Fatalf("cat into a closed pipe said: %s", errOut.String())
	}
}

// Keys: a unique prefix of 8 hex characters and HYPER:// work everywhere a
// KEY does; ls fits 80 columns.
func TestCLIShortKeysAndLs(t *testing.T) {
	c := newCLI(t)
	if got := c.ok("ls"); !strings.Contains(got, "no cores") {
		t.Fatalf("an empty ls: %q", got)
	}
	key := strings.TrimSpace(c.ok("create", "--name", strings.Repeat("long name ", 12)))
	c.ok("append", key[:8], "one", "two")
	if got := c.ok("cat", "HYPER://"+strings.ToUpper(key), "--start", "1"); got != "two\n" {
		t.Fatalf("cat HYPER://: %q", got)
	}
	if got := c.ok("info", key[:12]); !strings.HasPrefix(got, "key           "+key) {
		t.Fatalf("info by prefix:\n%s", got)
	}
	c.fails(2, "at least 8", "cat", key[:7])
	c.fails(4, "no core whose key starts with", "cat", "00000000")
	for _, l := range strings.Split(strings.TrimSpace(c.ok("ls")), "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Fatalf("ls line of %d columns: %q", n, l)
		}
	}
	if ls := c.ok("ls", "-l"); !strings.Contains(ls, key) {
		t.Fatalf("ls -l:\n%s", ls)
	}
	if js := c.ok("--json", "create", "--name", "<a&b>"); !strings.Contains(js, `"name":"<a&b>"`) {
		t.Fatalf("JSON escapes HTML: %s", js)
	}
	c.ok("rm", key[:8], "--yes")
}

// On a terminal append says it reads stdin and how to end it, and rm
// declined exits 1 without an error message. script(1) gives them one.
func TestCLITerminalPrompts(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must have script(1) (util-linux) for a terminal")
		}
		t.Skip("needs script(1) for a terminal")
	}
	c := newCLI(t)
	key := strings.TrimSpace(c.ok("create"))
	onTerminal := func(input []string, args ...string) (string, int) {
		t.Helper()
		cmd := exec.Command("script", "-qec", c.bin+" "+strings.Join(args, " "), "/dev/null")
		cmd.Env = append(os.Environ(), "HSP_HOME="+c.home, "NO_COLOR=1")
		in, _ := cmd.StdinPipe()
		go func() {
			for _, s := range input {
				time.Sleep(300 * time.Millisecond)
				io.WriteString(in, s)
			}
		}()
		out, err := cmd.Output()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		return string(out), cmd.ProcessState.ExitCode()
	}
	out, code := onTerminal([]string{"one\n", "\x04"}, "append", key)
	if code != 0 || !strings.Contains(out, "reading blocks from stdin, one per line; Ctrl-D to end") {
		t.Fatalf("append on a terminal (exit %d): %q", code, out)
	}
	out, code = onTerminal([]string{"n\n"}, "rm", key)
	if code != 1 || !strings.Contains(out, "for good? [y/N]") || strings.Contains(out, "hsp:") {
		t.Fatalf("rm declined (exit %d): %q", code, out)
	}
	if got := c.ok("cat", key); got != "one\n" {
		t.Fatalf("after declining, cat printed %q", got)
	}
}

// shellWords quotes words for a bash array.
func shellWords(words []string) string {
	q := make([]string, len(words))
	for i, w := range words {
		q[i] = "'" + strings.ReplaceAll(w, "'", `'\''`) + "'"
	}
	return strings.Join(q, " ")
}

func unusedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprint(l.Addr().(*net.TCPAddr).Port)
}

// closedPort is an address on this machine where nothing listens.
func closedPort(t *testing.T) string { return "127.0.0.1:" + unusedPort(t) }

// notHsp serves TCP on this machine, answering like a web server would.
func notHsp(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			io.WriteString(conn, "HTTP/1.0 400 Bad Request\r\n\r\n")
			conn.Close()
		}
	}()
	return l.Addr().String()
}

// writeToken writes a token file no daemon knows.
func writeToken(t *testing.T) string {
	f := filepath.Join(t.TempDir(), "token")
	os.WriteFile(f, []byte(strings.Repeat("0", 64)+"\n"), 0o600)
	return f
}
