package soak

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

var duration = flag.Duration("soak.duration", 45*time.Second, "how long the soak runs")

const (
	honestClients = 50
	rssBoundMiB   = 768
)

// TestSoak runs 50 honest clients appending and reading through a real
// daemon while every hostile client attacks it: no acknowledged append is
// lost or doubled, the daemon stays up, its memory stays bounded.
func TestSoak(t *testing.T) {
	if testing.Short() {
		t.Skip("the soak runs for a minute")
	}
	d := startDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), *duration)
	defer cancel()
	var hostile sync.WaitGroup
	for _, a := range attacks() {
		hostile.Add(1)
		go func() { defer hostile.Done(); a.run(ctx, d.socket) }()
	}
	watch := d.watch(ctx)
	results := make([]honestResult, honestClients)
	var honest sync.WaitGroup
	for i := range results {
		honest.Add(1)
		go func() { defer honest.Done(); results[i] = runHonest(ctx, t, d.socket, i) }()
	}
	honest.Wait()
	hostile.Wait()
	w := <-watch
	if w.err != nil {
		t.Fatal(w.err)
	}
	lat, acked := check(t, d.socket, results)
	t.Logf("%s: %d honest appends acknowledged, all there once; append latency p50 %v p99 %v max %v; daemon RSS at most %d MiB (bound %d)",
		*duration, acked, pct(lat, 50), pct(lat, 99), pct(lat, 100), w.maxRSS>>20, rssBoundMiB)
	if w.maxRSS > rssBoundMiB<<20 {
		t.Fatalf("daemon RSS reached %d MiB", w.maxRSS>>20)
	}
}

type honestResult struct {
	key     core.Key
	seed    uint64
	acked   uint64
	cut     bool // the last append was cut by the end: it may or may not be there
	latency []time.Duration
	err     error
}

// block is the content of block i of an honest client's core: 1 KiB of
// pseudo-random bytes from its seed, so every block is checked by content.
func block(seed, i uint64) []byte {
	rng := rand.New(rand.NewChaCha8([32]byte{byte(seed), byte(seed >> 8), byte(i), byte(i >> 8), byte(i >> 16)}))
	b := make([]byte, 1024)
	for j := range b {
		b[j] = byte(rng.Uint32())
	}
	return b
}

func runHonest(ctx context.Context, t *testing.T, socket string, n int) honestResult {
	r := honestResult{seed: uint64(n)}
	c, err := dialRetry(ctx, socket)
	if err != nil {
		r.err = err
		return r
	}
	defer c.Close()
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		r.err = fmt.Errorf("open: %w", err)
		return r
	}
	r.key = rc.Key()
	for ctx.Err() == nil {
		start := time.Now()
		length, err := rc.Append(ctx, block(r.seed, r.acked))
		if err != nil {
			if r.cut = ctx.Err() != nil; !r.cut {
				r.err = fmt.Errorf("append %d: %w", r.acked, err)
			}
			return r
		}
		r.latency = append(r.latency, time.Since(start))
		r.acked++
		if length != r.acked {
			r.err = fmt.Errorf("append answered length %d, want %d", length, r.acked)
			return r
		}
		if r.acked%16 == 0 {
			i := rand.Uint64N(r.acked)
			if b, err := rc.Get(ctx, i, core.GetOptions{NoWait: true}); err == nil && !bytes.Equal(b, block(r.seed, i)) {
				r.err = fmt.Errorf("block %d read back wrong", i)
				return r
			}
		}
	}
	return r
}

// check reads every honest core back: exactly the acknowledged blocks, by
// content.
func check(t *testing.T, socket string, results []honestResult) ([]time.Duration, uint64) {
	ctx := context.Background()
	c, err := dialRetry(ctx, socket)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var lat []time.Duration
	total := uint64(0)
	for i, r := range results {
		if r.err != nil {
			t.Fatalf("honest client %d: %v", i, r.err)
		}
		rc, err := c.Open(ctx, rpc.OpenRequest{Key: &r.key, Existing: true})
		if err != nil {
			t.Fatal(err)
		}
		n := rc.OpenInfo().Length
		if n != r.acked && !(r.cut && n == r.acked+1) {
			t.Fatalf("client %d: %d blocks stored, %d acknowledged", i, n, r.acked)
		}
		err = rc.Read(ctx, 0, n, false, func(idx uint64, b []byte) error {
			if !bytes.Equal(b, block(r.seed, idx)) {
				return fmt.Errorf("client %d: block %d differs", i, idx)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		lat, total = append(lat, r.latency...), total+r.acked
	}
	return lat, total
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, len(d)*p/100)]
}

func dialRetry(ctx context.Context, socket string) (*rpc.Client, error) {
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		c, err := rpc.Dial(ctx, socket)
		if err == nil || time.Now().After(deadline) {
			return c, err
		}
	}
}

// daemon is the hsp daemon under test, a process of its own.
type daemon struct {
	cmd    *exec.Cmd
	socket string
	log    string
}

func startDaemon(t *testing.T) *daemon {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "hsp")
	if out, err := exec.Command("go", "build", "-o", bin, "..").CombinedOutput(); err != nil {
		t.Fatalf("build hsp: %v\n%s", err, out)
	}
	dir := t.TempDir()
	d := &daemon{socket: home.PathsFor(dir, os.Getenv).Socket, log: filepath.Join(dir, "daemon.log")}
	d.cmd = exec.Command(bin, "--home", dir, "daemon", "--bootstrap", "none", "--max-clients", "256", "--log-file", d.log)
	out, err := os.Create(filepath.Join(dir, "daemon.out"))
	if err != nil {
		t.Fatal(err)
	}
	d.cmd.Stdout, d.cmd.Stderr = out, out
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.cmd.Process.Signal(syscall.SIGTERM)
		d.cmd.Wait()
	})
	return d
}

type watchResult struct {
	maxRSS int64
	err    error
}

// watch checks twice a second until ctx ends that the daemon runs, and
// keeps its largest RSS.
func (d *daemon) watch(ctx context.Context) <-chan watchResult {
	out := make(chan watchResult, 1)
	go func() {
		var w watchResult
		defer func() { out <- w }()
		for {
			rss, err := rssOf(d.cmd.Process.Pid)
			if err != nil {
				out, _ := os.ReadFile(filepath.Join(filepath.Dir(d.log), "daemon.out"))
				w.err = fmt.Errorf("the daemon is gone: %w; it printed:\n%s", err, tail(out, 30))
				return
			}
			w.maxRSS = max(w.maxRSS, rss)
			select {
			case <-ctx.Done():
				return
			case <-time.After(500 * time.Millisecond):
			}
		}
	}()
	return out
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func rssOf(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			return kb << 10, err
		}
		if strings.HasPrefix(line, "State:") && strings.Contains(line, "zombie") {
			return 0, fmt.Errorf("pid %d is a zombie", pid)
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}
