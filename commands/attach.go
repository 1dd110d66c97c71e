package commands

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// spawnWait is how long a command waits for a daemon it started.
const spawnWait = 5 * time.Second

// pathsOf decides the home and its files from --home, --socket and the
// environment.
func pathsOf(c *cli.Context) (home.Paths, error) {
	dir, err := home.ResolveHome(c.String("home"), os.Getenv)
	if err != nil {
		return home.Paths{}, err
	}
	p := home.PathsFor(dir, os.Getenv)
	if s := c.String("socket"); s != "" {
		p.Socket = s
	}
	return p, nil
}

// connect dials the home's daemon. When nothing answers it starts one,
// detached, and waits for it, unless --no-spawn.
func connect(c *cli.Context) (*rpc.Client, error) {
	if addr := c.String("connect"); addr != "" {
		return dialTCP(c, addr)
	}
	p, err := pathsOf(c)
	if err != nil {
		return nil, err
	}
	client, err := dialHome(c, p)
	if errors.Is(err, rpc.ErrDaemonUnreachable) && !c.Bool("no-spawn") {
		var sp *spawned
		if sp, err = spawnDaemon(c.Context, c, p, nil); err == nil {
			client, err = dialWait(c.Context, p.Socket, spawnWait, sp)
		}
		err = startFailure(p, err)
	}
	if err != nil {
		return nil, homeFailure(p, err)
	}
	if client.VersionSkew() {
		fmt.Fprintf(c.App.ErrWriter, "hsp: warning: the daemon runs %s, this is %s; `hsp daemon stop` restarts it on the next command\n",
			client.DaemonVersion, rpc.Version)
	}
	return client, nil
}

// dialTCP dials a daemon's TCP listener with the token of --token-file,
// else the home's own token file.
func dialTCP(c *cli.Context, addr string) (*rpc.Client, error) {
	if err := checkAddr(addr); err != nil {
		return nil, err
	}
	f := c.String("token-file")
	if f == "" {
		p, err := pathsOf(c)
		if err != nil {
			return nil, err
		}
		f = p.Token
	}
	token, err := home.ReadToken(f)
	if err != nil {
		return nil, noToken(addr, err)
	}
	return rpc.DialTCP(c.Context, addr, token)
}

// dialWait dials until the daemon answers or wait passes, backing off. It
// gives up early when the daemon it spawned (sp, if not nil) failed.
func dialWait(ctx context.Context, socket string, wait time.Duration, sp *spawned) (*rpc.Client, error) {
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	delay := 5 * time.Millisecond
	for {
		client, err := rpc.Dial(ctx, socket)
		if err == nil || !errors.Is(err, rpc.ErrDaemonUnreachable) {
			return client, err
		}
		if sp != nil {
			if err := sp.failed(); err != nil {
				return nil, fmt.Errorf("start daemon: %w", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no daemon answered on %s within %v: %w", socket, wait, rpc.ErrDaemonUnreachable)
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}

// withClient connects, runs fn and closes the connection.
func withClient(c *cli.Context, fn func(*rpc.Client) error) error {
	client, err := connect(c)
	if err != nil {
		return err
	}
	defer client.Close()
	return fn(client)
}

// keyOf is the key a key argument names (a prefix: of a stored core).
func keyOf(c *cli.Context, client *rpc.Client, arg string) (rpc.Key, error) {
	hex, err := resolveKey(c.Context, client, arg)
	if err != nil {
		return rpc.Key{}, err
	}
	return rpc.ParseKey(hex)
}

// openCore opens the core named by a key argument; it must exist.
func openCore(c *cli.Context, client *rpc.Client, arg string) (*rpc.RemoteCore, error) {
	key, err := keyOf(c, client, arg)
	if err != nil {
		return nil, err
	}
	rc, err := client.Open(c.Context, rpc.OpenRequest{Key: &key, Existing: true})
	if errors.Is(err, rpc.ErrNotFound) {
		return nil, rpc.Tagged(fmt.Sprintf("no core %s is stored here (`hsp ls` lists them)", key), rpc.ErrNotFound)
	}
	return rc, err
}
