package commands

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

func daemonStart(c *cli.Context) error {
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	if _, err := effectiveSettings(c, p); err != nil {
		return err // a bad flag or config fails here, not in the detached daemon
	}
	asked := askedSettings(c)
	res := rpc.DaemonResult{Home: p.Home, Socket: p.Socket, Running: true}
	client, err := dialHome(c, p)
	var sp *spawned
	if errors.Is(err, rpc.ErrDaemonUnreachable) {
		if sp, err = spawnDaemon(c.Context, c, p, settingArgs(asked)); err == nil {
			client, err = dialWait(c.Context, p.Socket, spawnWait, sp)
		}
		err = startFailure(p, err)
	}
	if err != nil {
		return err
	}
	defer client.Close()
	st, err := client.Status(c.Context)
	if err != nil {
		return err
	}
	res.Pid, res.Socket = st.Pid, st.Socket
	res.Started = sp != nil && int(st.Pid) == sp.pid // a racing start may have won
	if diff := settingsDiff(asked, st.Settings); !res.Started && diff != "" {
		return fmt.Errorf("a daemon (pid %d) already runs on %s with %s; stop it first with `hsp daemon stop`", st.Pid, p.Home, diff)
	}
	return outputOf(c).result(res, func(w io.Writer) {
		verb := "already running"
		if res.Started {
			verb = "started"
		}
		fmt.Fprintf(w, "daemon %s (pid %d) on %s\n", verb, res.Pid, res.Socket)
	})
}

// askedSettings are the settings given as flags on this command line.
func askedSettings(c *cli.Context) map[string]string {
	out := map[string]string{}
	for _, s := range settings {
		if v, ok := flagSet(c, s.key); ok {
			out[s.key] = v
		}
	}
	return out
}

// settingArgs passes settings on to a detached daemon as flags.
func settingArgs(set map[string]string) []string {
	var args []string
	for _, k := range slices.Sorted(maps.Keys(set)) {
		args = append(args, "--"+k, set[k])
	}
	return args
}

// settingsDiff describes the asked settings a running daemon does not
// have, or "".
func settingsDiff(asked, running map[string]string) string {
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(asked)) {
		if have := running[k]; have != asked[k] {
			if have == "" {
				have = "its default"
			}
			diffs = append(diffs, fmt.Sprintf("%s %s (asked: %s)", k, have, asked[k]))
		}
	}
	return strings.Join(diffs, ", ")
}

func daemonStop(c *cli.Context) error {
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	res := rpc.DaemonResult{Home: p.Home, Socket: p.Socket}
	remote := c.String("connect")
	var client *rpc.Client
	if remote != "" {
		client, err = dialTCP(c, remote)
		res.Home, res.Socket = "", ""
	} else {
		client, err = dialHome(c, p)
	}
	if err == nil {
		st, _ := client.Status(c.Context)
		res.Pid, res.Home = st.Pid, st.Home
		err = client.Stop(c.Context)
		client.Close()
		if err == nil || errors.Is(err, rpc.ErrDaemonUnreachable) { // it may hang up before answering
			err = waitGone(c, st.Socket, remote, st.Pid, 15*time.Second)
			res.Stopped = err == nil
		}
	}
	if err != nil && !errors.Is(err, rpc.ErrDaemonUnreachable) {
		return err
	}
	return outputOf(c).result(res, func(w io.Writer) {
		switch {
		case res.Stopped:
			fmt.Fprintf(w, "daemon stopped (pid %d)\n", res.Pid)
		case remote != "":
			fmt.Fprintf(w, "no daemon answers on %s\n", remote)
		default:
			fmt.Fprintf(w, "no daemon running on %s\n", p.Home)
		}
	})
}

// waitGone waits until the stopped daemon is gone: its socket removed and
// its process ended (so its home's lock is free for the next start), or
// its TCP address no longer answering.
func waitGone(c *cli.Context, socket, remote string, pid uint32, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		if remote != "" {
			if client, err := dialTCP(c, remote); err != nil {
				return nil
			} else {
				client.Close()
			}
		} else if _, err := os.Stat(socket); errors.Is(err, os.ErrNotExist) && processGone(pid) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not stop within %v", wait)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func daemonStatus(c *cli.Context) error {
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	var client *rpc.Client
	if remote := c.String("connect"); remote != "" {
		client, err = dialTCP(c, remote)
	} else {
		client, err = dialHome(c, p)
	}
	if err != nil {
		return err
	}
	defer client.Close()
	return printStatus(c, client)
}

// dialHome dials the home's daemon without starting one: on its socket,
// else on the socket its lock file names (a daemon started with --socket).
func dialHome(c *cli.Context, p home.Paths) (*rpc.Client, error) {
	client, err := rpc.Dial(c.Context, p.Socket)
	if !errors.Is(err, rpc.ErrDaemonUnreachable) || c.IsSet("socket") {
		return client, err
	}
	if _, socket, lerr := home.ReadLock(p.Lock); lerr == nil && socket != "" && socket != p.Socket {
		if other, oerr := rpc.Dial(c.Context, socket); oerr == nil {
			return other, nil
		}
	}
	return nil, err
}

// processGone reports whether process pid has ended (or is a zombie,
// which holds no lock); 0 is an unknown pid, taken as gone.
func processGone(pid uint32) bool {
	if pid == 0 {
		return true
	}
	if err := syscall.Kill(int(pid), 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false // alive, and no /proc to tell a zombie (not Linux)
	}
	// pid (comm) state ...: the state follows the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}
