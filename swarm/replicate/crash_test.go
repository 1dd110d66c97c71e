//go:build unix

package replicate

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

const crashEnv = "HSP_REPLICATE_CRASH_CHILD"

// TestCrashMidImport kills a downloading process with SIGKILL mid-import:
// its durable core must reopen valid, and the download resume without
// fetching a stored block again.
func TestCrashMidImport(t *testing.T) {
	const n = 3000
	w := newWriter(t, n)
	rw := newReplicator(t, fastOptions())
	rw.Add(w, CoreOptions{})
	addr := serveTCP(t, rw, 300*time.Microsecond)
	path := filepath.Join(t.TempDir(), "core.log")

	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%s,%d", crashEnv, addr, w.Key(), path, n))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > int64(n)*1500/3 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the child stored nothing in 20 s")
		}
		time.Sleep(time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	cmd.Wait()

	st, err := openLog(path)
	if err != nil {
		t.Fatal(err)
	}
	c, err := core.Open(context.Background(), st, core.KeyPair{PublicKey: w.Key()})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	defer c.Close()
	if rep, err := c.Audit(context.Background()); err != nil {
		t.Fatalf("audit after kill -9: %+v, %v", rep, err)
	}
	have, _ := c.Downloaded(context.Background(), 0, n)
	t.Logf("killed with %d of %d blocks stored, length %d", have, n, c.Length())
	if have == 0 || have == n {
		t.Fatalf("killed with %d blocks stored: not mid-import", have)
	}
	rr := newReplicator(t, fastOptions())
	h := rr.Add(c, CoreOptions{})
	connect(t, rr, rw, pipe)
	if err := h.Download(within(t, 20*time.Second), 0, n); err != nil {
		t.Fatal(err)
	}
	checkBlocks(t, c, 0, n)
	if st := h.Stats(); st.DownloadedBlocks != n-have {
		t.Fatalf("resumed download fetched %d blocks, want %d", st.DownloadedBlocks, n-have)
	}
}

// TestCrashChild is the process TestCrashMidImport kills.
func TestCrashChild(t *testing.T) {
	spec := os.Getenv(crashEnv)
	if spec == "" {
		t.Skip("run by TestCrashMidImport")
	}
	f := strings.Split(spec, ",")
	key, err := core.ParseKey(f[1])
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.ParseUint(f[3], 10, 64)
	st, err := openLog(f[2])
	if err != nil {
		t.Fatal(err)
	}
	c := openCore(t, core.KeyPair{PublicKey: key}, st)
	o := fastOptions()
	o.BatchBlocks = 64
	r := newReplicator(t, o)
	h := r.Add(c, CoreOptions{})
	conn, err := net.Dial("tcp", f[0])
	if err != nil {
		t.Fatal(err)
	}
	kp, _ := wire.GenerateKeyPair(rand.Reader)
	s := wire.NewStream(conn, wire.Config{Initiator: true, KeyPair: kp})
	if err := s.Handshake(within(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	go r.Run(context.Background(), s)
	h.Download(within(t, 60*time.Second), 0, n)
}

// serveTCP accepts connections on 127.0.0.1 for r, each write delayed by
// delay so that a download takes a while.
func serveTCP(t *testing.T, r *Replicator, delay time.Duration) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				kp, _ := wire.GenerateKeyPair(rand.Reader)
				s := wire.NewStream(slowConn{conn, delay}, wire.Config{KeyPair: kp})
				if s.Handshake(context.Background()) == nil {
					r.Run(context.Background(), s)
				}
			}()
		}
	}()
	return ln.Addr().String()
}

type slowConn struct {
	net.Conn
	delay time.Duration
}

func (c slowConn) Write(p []byte) (int, error) {
	time.Sleep(c.delay)
	return c.Conn.Write(p)
}
