package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// daemonProc is an `hsp --home H daemon` run in the foreground as a child
// of the benchmark, on a new empty home.
type daemonProc struct {
	cmd    *exec.Cmd
	home   string
	socket string
	stderr bytes.Buffer
	exited chan struct{}
}

// startDaemon starts the daemon of the hsp binary bin with its defaults (or
// the daemon flags args) on a new home and returns once a client can dial
// it.
func startDaemon(ctx context.Context, e *env, bin, tag string, args ...string) (*daemonProc, error) {
	home, err := os.MkdirTemp(e.tmp, "hsp-"+tag+"-")
	if err != nil {
		return nil, fmt.Errorf("start hsp daemon: %w", err)
	}
	d := &daemonProc{home: home, socket: socketOf(home), exited: make(chan struct{})}
	d.cmd = exec.Command(bin, append([]string{"--home", home, "daemon", "--bootstrap", "none"}, args...)...)
	d.cmd.Stderr = &d.stderr
	// A process the daemon left holding its stderr (a wrapper's child)
	// must not keep Wait, and so stop, from returning.
	d.cmd.WaitDelay = 5 * time.Second
	if err := d.cmd.Start(); err != nil {
		os.RemoveAll(home)
		return nil, fmt.Errorf("start hsp daemon: %w", err)
	}
	go func() { d.cmd.Wait(); close(d.exited) }()
	if err := d.waitReady(ctx); err != nil {
		d.stop()
		return nil, err
	}
	return d, nil
}

// waitReady dials until the daemon answers a status call.
func (d *daemonProc) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		c, err := d.dial(ctx)
		if err == nil {
			return c.Close()
		}
		select {
		case <-d.exited:
			return fmt.Errorf("wait for hsp daemon: it exited: %s", strings.TrimSpace(d.stderr.String()))
		case <-ctx.Done():
			return fmt.Errorf("wait for hsp daemon: %w (last: %w)", ctx.Err(), err)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// socketOf is the socket of the daemon of home, as hsp derives it.
func socketOf(dir string) string { return home.PathsFor(dir, os.Getenv).Socket }

// dial connects a new client and checks that the daemon answers.
func (d *daemonProc) dial(ctx context.Context) (*rpc.Client, error) {
	return dialAnswering(ctx, d.socket)
}

func dialAnswering(ctx context.Context, socket string) (*rpc.Client, error) {
	c, err := rpc.Dial(ctx, socket)
	if err != nil {
		return nil, err
	}
	if _, err := c.Status(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (d *daemonProc) pid() int { return d.cmd.Process.Pid }

// stop ends the daemon with SIGTERM (SIGKILL after 10 s) and removes its
// home.
func (d *daemonProc) stop() error {
	defer os.RemoveAll(d.home)
	d.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-d.exited:
	case <-time.After(10 * time.Second):
		d.cmd.Process.Kill()
		<-d.exited
		return fmt.Errorf("stop hsp daemon %d: killed after 10 s", d.pid())
	}
	if st := d.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("stop hsp daemon %d: %s: %s", d.pid(), st, strings.TrimSpace(d.stderr.String()))
	}
	return nil
}

// dialClients dials n clients of the daemon.
func dialClients(ctx context.Context, socket string, n int) ([]*rpc.Client, error) {
	var cs []*rpc.Client
	for range n {
		c, err := rpc.Dial(ctx, socket)
		if err != nil {
			closeClients(cs)
			return nil, fmt.Errorf("dial hsp daemon: %w", err)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

func closeClients(cs []*rpc.Client) {
	for _, c := range cs {
		c.Close()
	}
}

// rssMiB reads a process's resident set size from /proc.
func rssMiB(pid int) (float64, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0, fmt.Errorf("read rss of %d: %w", pid, err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err != nil {
				return 0, fmt.Errorf("read rss of %d: %w", pid, err)
			}
			return kb / 1024, nil
		}
	}
	return 0, fmt.Errorf("read rss of %d: %w", pid, errors.New("no VmRSS line"))
}
