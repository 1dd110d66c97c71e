package daemon

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

func TestTCPWithToken(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{TCPAddr: "127.0.0.1:0"})
	ctx := context.Background()
	addr := d.TCPAddr().String()
	fi, err := os.Stat(d.Paths().Token)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v", err, fi.Mode())
	}
	token, err := home.ReadToken(d.Paths().Token)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rpc.DialTCP(ctx, addr, token)
	if err != nil {
		t.Fatalf("dial with the token: %v", err)
	}
	defer c.Close()
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
	wrong := token[:63] + "0"
	if token[63] == '0' {
		wrong = token[:63] + "1"
	}
	for _, bad := range []string{"", "00", wrong, token + "0"} {
		if _, err := rpc.DialTCP(ctx, addr, bad); !errors.Is(err, rpc.ErrUnauthorized) {
			t.Fatalf("dial with token %q: %v, want ErrUnauthorized", bad, err)
		}
	}
	st, _ := c.Status(ctx)
	if st.Clients != 1 {
		t.Fatalf("refused connections were served: %d clients", st.Clients)
	}
}

// TestTCPLoopbackNeedsToken: loopback is no exception, since any local
// user can reach a loopback port; a token line ending in CRLF is taken.
func TestTCPLoopbackNeedsToken(t *testing.T) {
	d := startDaemon(t, t.TempDir(), Options{TCPAddr: "127.0.0.1:0"})
	ctx := context.Background()
	if _, err := rpc.DialTCP(ctx, d.TCPAddr().String(), ""); !errors.Is(err, rpc.ErrUnauthorized) {
		t.Fatalf("loopback without a token: %v, want ErrUnauthorized", err)
	}
	token, err := home.ReadToken(d.Paths().Token)
	if err != nil {
		t.Fatal(err)
	}
	c, err := rpc.DialTCP(ctx, d.TCPAddr().String(), token+"\r")
	if err != nil {
		t.Fatalf("a token line ending in CRLF: %v", err)
	}
	defer c.Close()
	if _, err := c.Status(ctx); err != nil {
		t.Fatal(err)
	}
}
