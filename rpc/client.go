package rpc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"

	"capnproto.org/go/capnp/v3/exc"
	crpc "capnproto.org/go/capnp/v3/rpc"
	"capnproto.org/go/capnp/v3/rpc/transport"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

// Client is a connection to a daemon. It is safe for concurrent use.
type Client struct {
	conn   *crpc.Conn
	watch  *abortWatch
	daemon schema.Daemon
	store  schema.Corestore
	// DaemonVersion is the daemon's release, learned at the handshake.
	DaemonVersion string
}

// Dial connects to the daemon listening on the unix socket at path and
// performs the version handshake. Nothing listening is ErrDaemonUnreachable;
// a socket owned by another user is ErrSocketOwner; another protocol is
// ErrIncompatible.
func Dial(ctx context.Context, path string) (*Client, error) {
	if err := checkSocketOwner(path); err != nil {
		return nil, err
	}
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("dial %s: %w", path, ErrDaemonUnreachable)
		}
		return nil, fmt.Errorf("dial %s: %w", path, err)
	}
	return NewClient(ctx, conn)
}

// checkSocketOwner refuses a socket that belongs to another user: whoever
// owns it would see everything this client sends.
func checkSocketOwner(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("dial %s: %w", path, ErrDaemonUnreachable)
	}
	if err != nil {
		return fmt.Errorf("dial %s: %w", path, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if ok && int(st.Uid) != os.Getuid() {
		return fmt.Errorf("dial %s: owned by uid %d, not %d: %w", path, st.Uid, os.Getuid(), ErrSocketOwner)
	}
	return nil
}

// NewClient speaks the RPC protocol over an established connection, such as
// one end of net.Pipe in tests, and performs the version handshake.
func NewClient(ctx context.Context, conn net.Conn) (*Client, error) {
	watch := &abortWatch{Transport: transport.New(newCodec(conn))}
	rc := crpc.NewConn(NewGuard(watch, clientGuardOptions()), nil)
	c := &Client{conn: rc, daemon: schema.Daemon(rc.Bootstrap(ctx)), watch: watch}
	if err := c.hello(ctx); err != nil {
		c.Close()
		return nil, err
	}
	f, release := c.daemon.Corestore(ctx, nil)
	c.store = f.Corestore().AddRef()
	release()
	return c, nil
}

func (c *Client) hello(ctx context.Context) error {
	f, release := c.daemon.Hello(ctx, func(p schema.Daemon_hello_Params) error {
		p.SetProtocol(Protocol)
		return p.SetVersion(Version)
	})
	defer release()
	res, err := f.Struct()
	if err != nil {
		if exc.TypeOf(err) == exc.Unimplemented {
			return fmt.Errorf("handshake: the daemon is older than this client; run `hsp daemon stop`: %w", ErrIncompatible)
		}
		return fmt.Errorf("handshake: %w", c.watch.handshakeErr(err))
	}
	if p := res.Protocol(); p != Protocol {
		return fmt.Errorf("handshake: daemon protocol %d, client %d; run `hsp daemon stop`: %w", p, Protocol, ErrIncompatible)
	}
	c.DaemonVersion, _ = res.Version()
	return nil
}

// VersionSkew reports whether the daemon runs another release than this
// client; the CLI warns about it once.
func (c *Client) VersionSkew() bool { return c.DaemonVersion != Version }

// Close closes the connection; cores opened through it close too.
func (c *Client) Close() error {
	c.store.Release()
	c.daemon.Release()
	if err := c.conn.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("close rpc connection: %w", err)
	}
	return nil
}

// Done is closed when the connection to the daemon ends.
func (c *Client) Done() <-chan struct{} { return c.conn.Done() }

// wireErr maps an error from a call to the sentinels of core and rpc.
func wireErr(err error) error {
	if err == nil {
		return nil
	}
	if exc.TypeOf(err) == exc.Disconnected {
		return errConnLost
	}
	return fromWire(err)
}

// connLost is a connection that ended under a call. It is
// ErrDaemonUnreachable, but the daemon may still run: it also drops a
// client past a limit, and its log says why.
type connLost struct{}

func (connLost) Error() string {
	return "the connection to the daemon was lost: the daemon stopped, or dropped this client"
}

func (connLost) Unwrap() error { return ErrDaemonUnreachable }

var errConnLost error = connLost{}

// Status asks the daemon to describe itself.
func (c *Client) Status(ctx context.Context) (Status, error) {
	f, release := c.daemon.Status(ctx, nil)
	return await("status", clientErr, f.Struct, release, func(res schema.Daemon_status_Results) (Status, error) {
		return field(res.Status, readStatus)
	})
}

// Stop asks the daemon to shut down cleanly.
func (c *Client) Stop(ctx context.Context) error {
	f, release := c.daemon.Stop(ctx, nil)
	_, err := await("stop daemon", clientErr, f.Struct, release, nothing)
	return err
}

// List describes every core the daemon stores.
func (c *Client) List(ctx context.Context) ([]CoreInfo, error) {
	f, release := c.store.List(ctx, nil)
	return await("list cores", clientErr, f.Struct, release, func(res schema.Corestore_list_Results) ([]CoreInfo, error) {
		return list(res.Cores, readCoreInfo)
	})
}

// Delete removes a core's data from the daemon for good.
func (c *Client) Delete(ctx context.Context, key core.Key) error {
	f, release := c.store.Delete(ctx, func(p schema.Corestore_delete_Params) error {
		return p.SetKey(key[:])
	})
	_, err := await("delete core "+key.String(), clientErr, f.Struct, release, nothing)
	return err
}

// Open opens a core in the daemon; see OpenRequest. The core's CoreInfo at
// opening comes with the answer (RemoteCore.OpenInfo).
func (c *Client) Open(ctx context.Context, req OpenRequest) (*RemoteCore, error) {
	f, release := c.store.Open(ctx, func(p schema.Corestore_open_Params) error {
		p.SetNew(req.New)
		p.SetExisting(req.Existing)
		if req.Key != nil {
			if err := p.SetKey(req.Key[:]); err != nil {
				return err
			}
		}
		return p.SetName(req.Name)
	})
	return await("open core", clientErr, f.Struct, release, func(res schema.Corestore_open_Results) (*RemoteCore, error) {
		info, err := field(res.Info, readCoreInfo)
		if err != nil {
			return nil, err
		}
		return newRemoteCore(res.Core().AddRef(), info), nil
	})
}
