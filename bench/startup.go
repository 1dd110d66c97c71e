package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// hspStartup measures, p.Spawns times, the time from exec of `hsp status`
// (of the binary bin) on an empty home with no daemon until it exits
// successfully: the CLI starts a detached daemon, which opens a new
// store, and asks it for its status. Then it measures the memory of a
// daemon joined to a local DHT (hspJoinedMemory).
func hspStartup(ctx context.Context, e *env, bin string, p params) (samples, error) {
	s := samples{}
	for range p.Spawns {
		home, err := os.MkdirTemp(e.tmp, "hsp-startup-")
		if err != nil {
			return nil, fmt.Errorf("make home: %w", err)
		}
		ms, _, err := timeSpawnStatus(ctx, bin, home)
		if err == nil {
			s[mSpawnStatus] = append(s[mSpawnStatus], ms)
		}
		err = errors.Join(err, stopSpawned(ctx, bin, home))
		os.RemoveAll(home)
		if err != nil {
			return nil, err
		}
	}
	if err := hspJoinedMemory(ctx, e, bin, p, s); err != nil {
		return nil, err
	}
	return s, nil
}

// hspJoinedMemory spawns a daemon as `hsp status` does, on a new home
// whose config file gives it a local `hsp dht` as its only bootstrap node
// and a swarm port on 127.0.0.1, so that its swarm starts at boot as JS
// Hyperspace's does. Once its DHT node is bootstrapped and has answered
// a lookup, it records the daemon's idle RSS and its RSS with p.Cores
// cores held open (hspMemory).
func hspJoinedMemory(ctx context.Context, e *env, bin string, p params, s samples) (err error) {
	node, err := startDHTNode(ctx, bin)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, node.stop()) }()
	home, err := os.MkdirTemp(e.tmp, "hsp-memory-")
	if err != nil {
		return fmt.Errorf("make home: %w", err)
	}
	defer os.RemoveAll(home)
	port, err := freePort()
	if err != nil {
		return err
	}
	set := [][2]string{{"bootstrap", node.addr}, {"swarm-host", "127.0.0.1"}, {"swarm-port", strconv.Itoa(port)}}
	for _, kv := range set {
		if out, err := exec.CommandContext(ctx, bin, "--home", home, "config", "set", kv[0], kv[1]).CombinedOutput(); err != nil {
			return fmt.Errorf("hsp config set %s %s: %w: %s", kv[0], kv[1], err, strings.TrimSpace(string(out)))
		}
	}
	_, pid, err := timeSpawnStatus(ctx, bin, home)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, stopSpawned(ctx, bin, home)) }()
	c, err := dialAnswering(ctx, socketOf(home))
	if err != nil {
		return fmt.Errorf("dial spawned daemon: %w", err)
	}
	defer c.Close()
	if err := waitJoined(ctx, c, port, node.addr); err != nil {
		return fmt.Errorf("daemon %s: %w", home, err)
	}
	return hspMemory(ctx, c, pid, p, s)
}

// waitJoined returns once the daemon's swarm listens on port and its DHT
// node, given boot alone, is bootstrapped and has finished a lookup of a
// random topic (which it then leaves): the DHT works, and the daemon is
// back to joining no topic, as the JS side's dhtReady leaves its daemon.
func waitJoined(ctx context.Context, c *rpc.Client, port int, boot string) error {
	var st rpc.Status
	err := poll(ctx, 30*time.Second, func(ctx context.Context) (bool, error) {
		var err error
		st, err = c.Status(ctx)
		n := st.Network
		return err == nil && int(n.Port) == port && n.DHT.Bootstrapped && slices.Equal(n.DHT.Bootstrap, []string{boot}), err
	})
	if err != nil {
		return fmt.Errorf("swarm on port %d, DHT bootstrapped from %s only: %w (network: %+v)", port, boot, err, st.Network)
	}
	var topic core.DiscoveryKey
	rand.Read(topic[:])
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := c.Configure(lctx, topic, rpc.ConfigureOptions{Lookup: true, Flush: true}); err != nil {
		return fmt.Errorf("a flushed lookup through the DHT: %w", err)
	}
	if err := c.Configure(ctx, topic, rpc.ConfigureOptions{}); err != nil {
		return fmt.Errorf("leave the lookup's topic: %w", err)
	}
	return nil
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

// hspMemory records the daemon's idle RSS after p.Settle with client c
// connected, and its RSS p.Settle after c opened p.Cores new cores and
// holds them.
func hspMemory(ctx context.Context, c *rpc.Client, pid int, p params, s samples) error {
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
