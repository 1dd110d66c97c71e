package daemon

import (
	"net"
	"syscall"
	"time"

	"github.com/hspd/hsp/rpc"
)

// filesReserved are the file descriptors kept for the store (pebble's
// tables, WAL, manifest), the log and the listeners, out of RLIMIT_NOFILE,
// when the client cap is derived from it: 512, or half of a lower limit.
const filesReserved = 512

// serverOptions configures the RPC server: its logging, and the client cap
// of each listener.
func (d *Daemon) serverOptions() rpc.ServerOptions {
	warn := newThrottle(time.Second)
	log := d.log.With("pkg", "rpc")
	return rpc.ServerOptions{
		Logger:       capnpLogger{d.log.With("pkg", "capnp")},
		OnClientOpen: d.clientOpened, OnClientClose: d.clientClosed,
		OnRefused: func(addr net.Addr, err error) {
			warn.warn(log, "refused", "refused tcp client", "addr", addr.String(), "err", err)
		},
		OnBusy: func(addr net.Addr) {
			warn.warn(log, "busy", "refused a client: at the client limit", "addr", addr.String(), "max", d.maxClients())
		},
		OnAcceptError: func(err error, backoff time.Duration) {
			warn.warn(log, "accept", "accept failed; serving goes on", "err", err, "backoff", backoff)
		},
		MaxClients: d.maxClients(),
	}
}

// maxClients is Options.MaxClients, or the default lowered so that every
// listener at its cap still leaves the store its files.
func (d *Daemon) maxClients() int {
	if d.opts.MaxClients > 0 {
		return d.opts.MaxClients
	}
	return defaultMaxClients(2)
}

func defaultMaxClients(listeners int) int {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return rpc.DefaultMaxClients
	}
	reserved := min(filesReserved, int64(lim.Cur)/2)
	fit := (int64(lim.Cur) - reserved) / int64(listeners)
	return int(max(min(fit, rpc.DefaultMaxClients), 8))
}
