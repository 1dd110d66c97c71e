package daemon

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	hsphome "github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// TestMain lets the test binary run as a daemon child for the kill test.
func TestMain(m *testing.M) {
	if home := os.Getenv("HSP_TEST_DAEMON_HOME"); home != "" {
		os.Exit(runChildDaemon(home))
	}
	if sock := os.Getenv("HSP_TEST_FLOOR_SOCKET"); sock != "" {
		os.Exit(runFloorServer(sock))
	}
	os.Exit(m.Run())
}

func runChildDaemon(home string) int {
	d, err := New(Options{Home: home, Bootstrap: []string{}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := d.Start(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	<-d.Done()
	return 0
}

func startChild(t testing.TB, home string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HSP_TEST_DAEMON_HOME="+home)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

func dialRetry(t testing.TB, socket string) *rpc.Client {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := rpc.Dial(context.Background(), socket)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			t.Fatalf("daemon never came up: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// block is the content of block i: short, or 64 KiB in the second half of
// every 64, which go 32 to an append, in parts.
func block(i uint64) []byte {
	b := fmt.Appendf(nil, "acknowledged block %d", i)
	if i%64 >= 32 {
		b = append(b, bytes.Repeat([]byte{byte(i)}, 64<<10)...)
	}
	return b
}

// nextAppend is what the client appends next when acked blocks are
// acknowledged: one short block, or the large ones up to the next 64.
func nextAppend(acked uint64) [][]byte {
	if acked%64 < 32 {
		return [][]byte{block(acked)}
	}
	var blocks [][]byte
	for i := acked; i < (acked/64+1)*64; i++ {
		blocks = append(blocks, block(i))
	}
	return blocks
}

// TestKillDuringAppends kills the daemon with SIGKILL while a client streams
// appends, again and again: every append the daemon acknowledged is there
// after a restart, and the core passes its audit. Some appends are large
// enough to go in parts.
func TestKillDuringAppends(t *testing.T) {
	home := t.TempDir()
	socket := hsphome.PathsFor(home, os.Getenv).Socket
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	var acked uint64
	const rounds = 8
	for round := range rounds {
		child := startChild(t, home)
		c := dialRetry(t, socket)
		rc, err := c.Open(context.Background(), rpc.OpenRequest{Name: "kill"})
		if err != nil {
			t.Fatal(err)
		}
		checkAcked(t, rc, acked)
		acked = rc.Length() // unacknowledged appends may have landed too
		kill := time.AfterFunc(time.Duration(20+rng.IntN(200))*time.Millisecond, func() {
			child.Process.Signal(syscall.SIGKILL)
		})
		for {
			n, err := rc.Append(context.Background(), nextAppend(acked)...)
			if err != nil {
				break
			}
			acked = n
		}
		kill.Stop()
		child.Wait()
		c.Close()
		t.Logf("round %d: %d blocks acknowledged so far", round, acked)
	}
	child := startChild(t, home)
	defer func() { child.Process.Signal(syscall.SIGTERM); child.Wait() }()
	c := dialRetry(t, socket)
	defer c.Close()
	rc, err := c.Open(context.Background(), rpc.OpenRequest{Name: "kill"})
	if err != nil {
		t.Fatal(err)
	}
	checkAcked(t, rc, acked)
}

func checkAcked(t *testing.T, rc *rpc.RemoteCore, acked uint64) {
	t.Helper()
	ctx := context.Background()
	if rc.Length() < acked {
		t.Fatalf("after a kill the core has %d blocks, %d were acknowledged", rc.Length(), acked)
	}
	for i := range acked {
		b, err := rc.Get(ctx, i, core.GetOptions{NoWait: true})
		if err != nil || string(b) != string(block(i)) {
			t.Fatalf("block %d after a kill: %q, %v", i, b, err)
		}
	}
	if _, err := rc.Audit(ctx); err != nil {
		t.Fatalf("audit after a kill: %v", err)
	}
}

// TestShutdownKeepsAcknowledgedAppends stops the daemon while clients
// append: it stops within the timeout and keeps every acknowledged block.
func TestShutdownKeepsAcknowledgedAppends(t *testing.T) {
	home := t.TempDir()
	d := startDaemon(t, home, Options{})
	ctx := context.Background()
	const writers = 8
	acked := make(chan []string, writers)
	for w := range writers {
		c, err := rpc.Dial(ctx, d.Paths().Socket)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := c.Open(ctx, rpc.OpenRequest{Name: "shutdown"})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			defer c.Close()
			var mine []string
			for i := 0; ; i++ {
				b := fmt.Sprintf("writer %d block %d", w, i)
				if _, err := rc.Append(ctx, []byte(b)); err != nil {
					break
				}
				mine = append(mine, b)
			}
			acked <- mine
		}()
	}
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	if err := d.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	if took := time.Since(start); took > 10*time.Second {
		t.Fatalf("shutdown took %v", took)
	}
	want := map[string]bool{}
	for range writers {
		for _, b := range <-acked {
			want[b] = true
		}
	}
	d2 := startDaemon(t, home, Options{})
	rc, err := dial(t, d2).Open(ctx, rpc.OpenRequest{Name: "shutdown"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range rc.Length() {
		b, _ := rc.Get(ctx, i, core.GetOptions{NoWait: true})
		delete(want, string(b))
	}
	if len(want) != 0 {
		t.Fatalf("%d acknowledged blocks missing after shutdown", len(want))
	}
	t.Logf("shutdown in %v with %d blocks stored", time.Since(start), rc.Length())
}
