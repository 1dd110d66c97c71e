package daemon

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	hsphome "github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

func startDaemon(t *testing.T, home string, opts Options) *Daemon {
	t.Helper()
	opts.Home = home
	if opts.Bootstrap == nil {
		opts.Bootstrap = []string{} // tests never reach the public DHT
	}
	d, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func dial(t *testing.T, d *Daemon) *rpc.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, d.Paths().Socket)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestStartStatusStop(t *testing.T) {
	home := filepath.Join(t.TempDir(), "home")
	var opened, closed sync.WaitGroup
	opened.Add(1)
	closed.Add(1)
	d := startDaemon(t, home, Options{OnClientOpen: func(uint64) { opened.Done() }, OnClientClose: func(uint64) { closed.Done() }})
	if m := mode(t, home); m != 0o700 {
		t.Errorf("home mode %o, want 700", m)
	}
	if m := mode(t, d.Paths().Socket); m != 0o600 {
		t.Errorf("socket mode %o, want 600", m)
	}
	c := dial(t, d)
	opened.Wait()
	st, err := c.Status(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Home != home || st.Socket != d.Paths().Socket || st.Pid != uint32(os.Getpid()) || st.Clients != 1 || st.Version != rpc.Version {
		t.Fatalf("status %+v", st)
	}
	if st.Network.Available {
		t.Fatal("status claims networking")
	}
	if err := c.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case <-d.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("daemon did not stop within 10 s")
	}
	closed.Wait()
	// The client still holds its connection: a call on it says what went.
	if _, err := c.Status(context.Background()); !errors.Is(err, rpc.ErrDaemonUnreachable) || !strings.Contains(err.Error(), "connection to the daemon was lost") {
		t.Fatalf("status on the connection of a stopped daemon: %v", err)
	}
	if _, err := os.Stat(d.Paths().Socket); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("socket left behind after stop: %v", err)
	}
	if _, err := rpc.Dial(context.Background(), d.Paths().Socket); !errors.Is(err, rpc.ErrDaemonUnreachable) {
		t.Fatalf("dial after stop: %v", err)
	}
}

func TestSecondDaemonLeavesSocketAlone(t *testing.T) {
	home := t.TempDir()
	d := startDaemon(t, home, Options{})
	before, err := os.Stat(d.Paths().Socket)
	if err != nil {
		t.Fatal(err)
	}
	second, _ := New(Options{Home: home})
	if err := second.Start(context.Background()); !errors.Is(err, ErrAlreadyRunning) {
		t.Fatalf("second daemon: %v, want ErrAlreadyRunning", err)
	}
	after, err := os.Stat(d.Paths().Socket)
	if err != nil || !os.SameFile(before, after) {
		t.Fatalf("the second daemon touched the socket: %v", err)
	}
	if _, err := dial(t, d).Status(context.Background()); err != nil {
		t.Fatalf("first daemon after the second gave up: %v", err)
	}
}

func TestLongHome(t *testing.T) {
	base := t.TempDir()
	home := filepath.Join(base, strings.Repeat("h", 150-len(base)-1))
	if len(home) != 150 {
		t.Fatalf("home is %d characters", len(home))
	}
	t.Setenv("XDG_RUNTIME_DIR", filepath.Join(t.TempDir(), "run"))
	d := startDaemon(t, home, Options{})
	sock := d.Paths().Socket
	if len(sock) > hsphome.MaxSocketPath || strings.HasPrefix(sock, home) {
		t.Fatalf("socket %q (%d bytes) is not a short runtime path", sock, len(sock))
	}
	if m := mode(t, filepath.Dir(sock)); m != 0o700 {
		t.Errorf("runtime dir mode %o, want 700", m)
	}
	if got := hsphome.PathsFor(home, os.Getenv).Socket; got != sock {
		t.Fatalf("a client derives %q, the daemon listens on %q", got, sock)
	}
	if _, err := dial(t, d).Status(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestRefusesSocketOfAnotherUser(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to chown the socket")
	}
	d := startDaemon(t, t.TempDir(), Options{})
	if err := os.Lchown(d.Paths().Socket, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	_, err := rpc.Dial(context.Background(), d.Paths().Socket)
	if !errors.Is(err, rpc.ErrSocketOwner) {
		t.Fatalf("dial of a socket owned by uid 4242: %v, want ErrSocketOwner", err)
	}
}

func TestTwoDaemonsInOneProcess(t *testing.T) {
	a := startDaemon(t, t.TempDir(), Options{})
	b := startDaemon(t, t.TempDir(), Options{})
	ctx := context.Background()
	ca, cb := dial(t, a), dial(t, b)
	core1, err := ca.Open(ctx, rpc.OpenRequest{Name: "walkthrough"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core1.Append(ctx, []byte("hello"), []byte("world")); err != nil {
		t.Fatal(err)
	}
	core2, err := cb.Open(ctx, rpc.OpenRequest{Name: "walkthrough"})
	if err != nil {
		t.Fatal(err)
	}
	if core2.Key() == core1.Key() || core2.Length() != 0 {
		t.Fatalf("the second daemon shares the first's store: same key %v, length %d", core2.Key() == core1.Key(), core2.Length())
	}
	la, _ := ca.List(ctx)
	lb, _ := cb.List(ctx)
	if len(la) != 1 || len(lb) != 1 || la[0].Length != 2 || lb[0].Length != 0 {
		t.Fatalf("lists %+v / %+v", la, lb)
	}
}

func TestNamedCoreSurvivesRestart(t *testing.T) {
	home := t.TempDir()
	ctx := context.Background()
	d := startDaemon(t, home, Options{})
	c := dial(t, d)
	rc, err := c.Open(ctx, rpc.OpenRequest{Name: "log"})
	if err != nil {
		t.Fatal(err)
	}
	rc.Append(ctx, []byte("a"), []byte("b"), []byte("c"))
	key := rc.Key()
	c.Close()
	d.Close()
	d2 := startDaemon(t, home, Options{})
	again, err := dial(t, d2).Open(ctx, rpc.OpenRequest{Name: "log"})
	if err != nil {
		t.Fatal(err)
	}
	if again.Key() != key || again.Length() != 3 || !again.Writable() {
		t.Fatalf("after restart: key same %v, length %d, writable %v", again.Key() == key, again.Length(), again.Writable())
	}
	if b, err := again.Get(ctx, 2, core.GetOptions{}); err != nil || string(b) != "c" {
		t.Fatalf("block 2 after restart: %q, %v", b, err)
	}
}

func TestDeleteCore(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{})
	ctx := context.Background()
	c := dial(t, d)
	rc, err := c.Open(ctx, rpc.OpenRequest{New: true})
	if err != nil {
		t.Fatal(err)
	}
	rc.Append(ctx, []byte("doomed"))
	key := rc.Key()
	if err := c.Delete(ctx, key); err == nil {
		t.Fatal("deleted a core that a client holds open")
	}
	rc.Close()
	if err := c.Delete(ctx, key); err != nil {
		t.Fatalf("delete: %v", err)
	}
	if list, _ := c.List(ctx); len(list) != 0 {
		t.Fatalf("list after delete: %+v", list)
	}
	if err := c.Delete(ctx, key); !errors.Is(err, rpc.ErrNotFound) {
		t.Fatalf("second delete: %v, want ErrNotFound", err)
	}
}
