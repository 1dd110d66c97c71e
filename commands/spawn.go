package commands

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// spawnDaemon starts `hsp daemon` for the home in its own session, with
// its output appended to the home's daemon.log and no terminal or pipe
// attached, so it outlives this command and its terminal. It returns the
// child's pid. flags are daemon flags for this start; the daemon reads the
// home's config itself. A child that finds another daemon running exits 0,
// which is fine: the caller dials whichever daemon won.
func spawnDaemon(ctx context.Context, c *cli.Context, p home.Paths, flags []string) (*spawned, error) {
	if err := os.MkdirAll(p.Home, 0o700); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start daemon: find hsp: %w", err)
	}
	logf, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("start daemon: open log: %w", err)
	}
	defer logf.Close()
	args := []string{"--home", p.Home}
	if c.IsSet("socket") {
		args = append(args, "--socket", p.Socket)
	}
	closeOnExec()
	// The daemon writes its log itself, rotated; its stdout and stderr
	// still go to the log, for what the Go runtime itself might print.
	args = append(append(args, "daemon", "--log-file", p.Log), flags...)
	cmd := exec.Command(exe, args...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start daemon: %w", err)
	}
	sp := &spawned{pid: cmd.Process.Pid, exited: make(chan error, 1), log: p.Log}
	go func() { sp.exited <- cmd.Wait() }() // reaps it if it exits while we wait
	return sp, nil
}

// spawned is a daemon this command started.
type spawned struct {
	pid    int
	exited chan error // receives the child's exit, if it exits while we run
	log    string
}

// failed reports a child that exited on an error, with its last words.
func (s *spawned) failed() error {
	select {
	case err := <-s.exited:
		if err != nil {
			msg := fmt.Sprintf("the daemon exited (%v); the end of %s says:\n%s", err, s.log, logTail(s.log, 5))
			if exitCode(err) == ExitDiskFull {
				return rpc.Tagged(msg, rpc.ErrDiskFull)
			}
			return errors.New(msg)
		}
		s.exited <- nil // exited 0: another daemon runs; keep dialing
	default:
	}
	return nil
}

// exitCode is the status of an exited child in err, or -1.
func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	return -1
}

// logTail returns the last lines of the daemon's log, for error messages.
func logTail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	parts := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(parts) > lines {
		parts = parts[len(parts)-lines:]
	}
	return string(bytes.Join(parts, []byte("\n")))
}

// closeOnExec marks every descriptor above stderr close-on-exec, so the
// daemon inherits none of the pipes or files this command got from its own
// parent: a daemon holding its spawner's pipe would keep `$(hsp create)`
// waiting for ever.
func closeOnExec() {
	entries, err := os.ReadDir("/dev/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}
