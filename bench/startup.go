package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/hspd/hsp/rpc"
)

// hspStartup measures, p.Spawns times, the time from exec of `hsp status`
// (of the binary bin) on an empty home with no daemon until it exits
// successfully: the CLI starts a detached daemon, which opens a new
// store, and asks it for its status. On the last spawn it then reads the
// daemon's RSS after p.Settle idle with one client connected, and again
// p.Settle after that client opened p.Cores new cores and holds them.
func hspStartup(ctx context.Context, e *env, bin string, p params) (samples, error) {
	s := samples{}
	for i := range p.Spawns {
		home, err := os.MkdirTemp(e.tmp, "hsp-startup-")
		if err != nil {
			return nil, fmt.Errorf("make home: %w", err)
		}
		ms, pid, err := timeSpawnStatus(ctx, bin, home)
		if err == nil {
			s[mSpawnStatus] = append(s[mSpawnStatus], ms)
			if i == p.Spawns-1 {
				err = hspMemory(ctx, socketOf(home), pid, p, s)
			}
		}
		err = errors.Join(err, stopSpawned(ctx, bin, home))
		os.RemoveAll(home)
		if err != nil {
			return nil, err
		}
	}
	return s, nil
}

// timeSpawnStatus runs `hsp --home H --json status` and returns how long
// it took in milliseconds and the pid of the daemon it started.
func timeSpawnStatus(ctx context.Context, bin, home string) (float64, int, error) {
	var stdout, stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, "--home", home, "--json", "status")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	elapsed := time.Since(start)
	if err != nil {
		return 0, 0, fmt.Errorf("run hsp status: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var st rpc.Status
	if err := json.Unmarshal(stdout.Bytes(), &st); err != nil {
		return 0, 0, fmt.Errorf("read hsp status output %q: %w", stdout.String(), err)
	}
	return float64(elapsed.Microseconds()) / 1000, int(st.Pid), nil
}

// stopSpawned stops the detached daemon of home with `hsp daemon stop`,
// which waits until it is gone. It runs even when ctx has ended: the
// daemon is in its own session and outlives the benchmark otherwise.
func stopSpawned(ctx context.Context, bin, home string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "--home", home, "daemon", "stop").CombinedOutput()
	if err != nil {
		return fmt.Errorf("run hsp daemon stop: %w: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

// hspMemory records the daemon's idle RSS and its RSS with p.Cores cores
// held open by one client.
func hspMemory(ctx context.Context, socket string, pid int, p params, s samples) error {
	c, err := dialAnswering(ctx, socket)
	if err != nil {
		return fmt.Errorf("dial spawned daemon: %w", err)
	}
	defer c.Close()
	if err := sleep(ctx, p.Settle); err != nil {
		return err
	}
	idle, err := rssMiB(pid)
	if err != nil {
		return err
	}
	held, err := openCores(ctx, c, p.Cores)
	defer closeCores(held)
	if err != nil {
		return err
	}
	if err := sleep(ctx, p.Settle); err != nil {
		return err
	}
	withCores, err := rssMiB(pid)
	if err != nil {
		return err
	}
	if err := checkLoaded(ctx, c, p.Cores); err != nil {
		return err
	}
	s[mIdleRSS] = append(s[mIdleRSS], idle)
	s[mCoresRSS] = append(s[mCoresRSS], withCores)
	return nil
}

// openCores creates n new cores through c, one after another.
func openCores(ctx context.Context, c *rpc.Client, n int) ([]*rpc.RemoteCore, error) {
	held := make([]*rpc.RemoteCore, 0, n)
	for range n {
		rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
		if err != nil {
			return held, fmt.Errorf("open core %d of %d: %w", len(held)+1, n, err)
		}
		held = append(held, rc)
	}
	return held, nil
}

func closeCores(cs []*rpc.RemoteCore) {
	for _, rc := range cs {
		rc.Close()
	}
}

// checkLoaded fails unless the daemon's status shows want cores loaded.
func checkLoaded(ctx context.Context, c *rpc.Client, want int) error {
	st, err := c.Status(ctx)
	if err != nil {
		return fmt.Errorf("check loaded cores: %w", err)
	}
	if st.CoresLoaded != uint64(want) {
		return fmt.Errorf("check loaded cores: status shows %d loaded, want %d", st.CoresLoaded, want)
	}
	return nil
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-time.After(d):
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait %s: %w", d, ctx.Err())
	}
}
