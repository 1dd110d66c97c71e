package daemon

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
)

// The floor under a durable append through the daemon, measured beside it
// in one run (go test ./daemon -bench 'Floor|ChildDaemonAppend'):
//
//   - BenchmarkFloorLocalFsync: 1 KiB written and fdatasynced in this
//     process, what an append cannot beat;
//   - BenchmarkFloorStoreAppend1KiB: a 1 KiB append to the store in this
//     process (pebble, the tree, the signature; one synced commit), the
//     in-process row of the side-by-side benchmark;
//   - BenchmarkFloorRoundTrip: the same write and fdatasync in another
//     process (this test binary again), asked and answered over a unix
//     socket with no RPC runtime: the cost of the process boundary alone;
//   - BenchmarkChildDaemonAppend1KiB: a 1 KiB append through the rpc client
//     to a daemon in another process, as hsp append and the side-by-side
//     benchmark make it.
//
// The gap between the last two is what the RPC runtime costs. Each also
// reports, per op, the context switches and CPU time of the processes
// involved (meter_test.go): on a virtual machine where a thread's sleep
// and wake-up cost tens of microseconds, those show the hand-offs behind
// the gap, and they move far less between runs than ns/op.

func BenchmarkFloorLocalFsync(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "floor"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 1024)
	rand.Read(buf)
	self := meterSelf(b, "proc")
	for b.Loop() {
		if err := writeSync(f, buf); err != nil {
			b.Fatal(err)
		}
	}
	self.report(b)
}

func BenchmarkFloorStoreAppend1KiB(b *testing.B) { benchStoreAppend(b, 1, 1024, 1) }

// BenchmarkFloorStoreAppend1KiBx8: 8 goroutines, each appending 1 KiB one
// per call to its own core, to the store in this process.
func BenchmarkFloorStoreAppend1KiBx8(b *testing.B) { benchStoreAppend(b, 8, 1024, 1) }

// BenchmarkFloorStoreAppend1KiBx100: 100 blocks of 1 KiB per call, to the
// store in this process.
func BenchmarkFloorStoreAppend1KiBx100(b *testing.B) { benchStoreAppend(b, 1, 1024, 100) }

// BenchmarkFloorStoreAppend64KiBx100: 100 blocks of 64 KiB per call, to
// the store in this process.
func BenchmarkFloorStoreAppend64KiBx100(b *testing.B) { benchStoreAppend(b, 1, 64<<10, 100) }

// benchStoreAppend appends batch blocks of size bytes per call from
// writers goroutines, each to its own core of one store in this process,
// b.N calls in all.
func benchStoreAppend(b *testing.B, writers, size, batch int) {
	ctx := context.Background()
	st, err := store.Open(ctx, b.TempDir(), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	cores := make([]*store.Handle, writers)
	for i := range cores {
		if cores[i], err = st.Create(ctx); err != nil {
			b.Fatal(err)
		}
		defer cores[i].Close()
	}
	blocks := randomBlocks(batch, size)
	self := meterSelf(b, "proc")
	spread(b, writers, func(i int) error {
		_, err := cores[i].Append(ctx, blocks...)
		return err
	})
	self.report(b)
}

// newCores opens n new cores on the daemon at socket, each through a
// connection of its own, closed when b ends.
func newCores(b *testing.B, socket string, n int) []*rpc.RemoteCore {
	cores := make([]*rpc.RemoteCore, n)
	for i := range cores {
		c := dialRetry(b, socket)
		b.Cleanup(func() { c.Close() })
		var err error
		if cores[i], err = c.Open(context.Background(), rpc.OpenRequest{New: true}); err != nil {
			b.Fatal(err)
		}
	}
	return cores
}

// spread makes b.N calls of op in all, from writers goroutines (op's
// argument), timed from the first to the last.
func spread(b *testing.B, writers int, op func(writer int) error) {
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := range writers {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				if err := op(w); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.StopTimer()
}

func BenchmarkFloorRoundTrip(b *testing.B) {
	dir := b.TempDir()
	sock := filepath.Join(dir, "floor.sock")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "HSP_TEST_FLOOR_SOCKET="+sock)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer cmd.Wait()
	c := dialFloor(b, sock)
	defer c.Close()
	buf := make([]byte, 1024)
	rand.Read(buf)
	ack := make([]byte, 8)
	self, server := meterSelf(b, "client"), meterChild(b, "server", cmd.Process.Pid)
	for b.Loop() {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(c, ack); err != nil {
			b.Fatal(err)
		}
	}
	self.report(b)
	server.report(b)
}

func BenchmarkChildDaemonAppend1KiB(b *testing.B) { benchChildAppend(b, 1, 1024, 1) }

// BenchmarkChildDaemonAppend1KiBx8: 8 clients, each its own connection and
// core, appending 1 KiB one per call to a daemon in another process.
func BenchmarkChildDaemonAppend1KiBx8(b *testing.B) { benchChildAppend(b, 8, 1024, 1) }

// BenchmarkChildDaemonAppend1KiBx100: 100 blocks of 1 KiB per call, to a
// daemon in another process.
func BenchmarkChildDaemonAppend1KiBx100(b *testing.B) { benchChildAppend(b, 1, 1024, 100) }

// BenchmarkChildDaemonAppend64KiBx100: 100 blocks of 64 KiB per call, to
// a daemon in another process.
func BenchmarkChildDaemonAppend64KiBx100(b *testing.B) { benchChildAppend(b, 1, 64<<10, 100) }

// benchChildAppend appends batch blocks of size bytes per call from
// clients connections, each to its own core of a daemon in another
// process, b.N calls in all.
func benchChildAppend(b *testing.B, clients, size, batch int) {
	home := b.TempDir()
	cmd := startChild(b, home)
	defer func() { cmd.Process.Signal(syscall.SIGTERM); cmd.Wait() }()
	ctx := context.Background()
	cores := newCores(b, filepath.Join(home, "hsp.sock"), clients)
	blocks := randomBlocks(batch, size)
	b.SetBytes(int64(size * batch))
	self, daemon := meterSelf(b, "client"), meterChild(b, "daemon", cmd.Process.Pid)
	spread(b, clients, func(i int) error {
		_, err := cores[i].Append(ctx, blocks...)
		return err
	})
	self.report(b)
	daemon.report(b)
	b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "blocks/s")
}

// runFloorServer answers each 1 KiB read from one client on sock with 8
// bytes, once the 1 KiB is written and fdatasynced, until the client goes.
func runFloorServer(sock string) int {
	l, err := net.Listen("unix", sock)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer l.Close()
	c, err := l.Accept()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer c.Close()
	f, err := os.Create(sock + ".data")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	buf := make([]byte, 1024)
	for {
		if _, err := io.ReadFull(c, buf); err != nil {
			return 0
		}
		if err := writeSync(f, buf); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if _, err := c.Write(buf[:8]); err != nil {
			return 0
		}
	}
}

func writeSync(f *os.File, buf []byte) error {
	if _, err := f.Write(buf); err != nil {
		return err
	}
	return syscall.Fdatasync(int(f.Fd()))
}

func dialFloor(b *testing.B, sock string) net.Conn {
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("unix", sock)
		if err == nil {
			return c
		}
		if time.Now().After(deadline) {
			b.Fatalf("floor server never came up: %v", err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
