package commands

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strconv"

	"github.com/hspd/hsp/rpc"
)

// checkAddr reads --connect's HOST:PORT: a malformed one is a usage error,
// not a daemon that does not answer.
func checkAddr(addr string) error {
	_, port, err := net.SplitHostPort(addr) // an empty host is this machine, as for net.Dial
	if err != nil {
		return usagef("--connect %q: want HOST:PORT, such as 127.0.0.1:7070 (%v)", addr, err)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return usagef("--connect %q: the port must be a number from 1 to 65535", addr)
	}

	return nil
}

// noToken is the error of a TCP connection tried without a token to
// present: the daemon requires one, and this client has none.
func noToken(addr string, err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) && errors.Is(err, fs.ErrNotExist) {
		return rpc.Tagged(fmt.Sprintf("connect to %s: a token is required, and there is no token file at %s", addr, pe.Path), rpc.ErrUnauthorized)
	}
	return rpc.Tagged(fmt.Sprintf("connect to %s: a token is required, and it could not be read: %v", addr, err), rpc.ErrUnauthorized)
}
