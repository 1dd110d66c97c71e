package rpc

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/hspd/hsp/core"
)

// Errors of the RPC layer. Test with errors.Is.
var (
	// ErrDaemonUnreachable: nothing answers on the socket.
	ErrDaemonUnreachable = errors.New("daemon is not running")
	// ErrIncompatible: the daemon speaks another protocol version.
	ErrIncompatible = errors.New("daemon speaks an incompatible protocol")
	// ErrNotFound: no core with that key is stored.
	ErrNotFound = errors.New("core not found")
	// ErrNetworkUnavailable: the daemon cannot do this on the network (no discovery yet, or its swarm could not start).
	ErrNetworkUnavailable = errors.New("networking unavailable")
	// ErrSocketOwner: the socket belongs to another user.
	ErrSocketOwner = errors.New("socket is owned by another user")
	// ErrBadRequest: the request was malformed.
	ErrBadRequest = errors.New("bad request")
	// ErrTooLarge: a request exceeds the connection's size limits.
	ErrTooLarge = errors.New("request too large")
	// ErrLimit: the request would take this client past a limit of the
	// daemon (open cores, calls in progress).
	ErrLimit = errors.New("client limit reached")
	// ErrBusy: the daemon serves as many clients as it may; try again.
	ErrBusy = errors.New("daemon busy")
	// ErrDiskFull: the daemon's disk has too little free space to write.
	ErrDiskFull = errors.New("disk full")
	// ErrUnavailable: no peer could be reached, or none has what was asked.
	ErrUnavailable = errors.New("unavailable")
)

// wireCodes name the errors that cross the socket. The server puts the code
// in the exception's message; the client maps it back to the same sentinel.
var wireCodes = []struct {
	code string
	err  error
}{
	{"not-available", core.ErrNotAvailable},
	{"not-writable", core.ErrNotWritable},
	{"block-too-large", core.ErrBlockTooLarge},
	{"out-of-range", core.ErrOutOfRange},
	{"closed", core.ErrClosed},
	{"corrupt", core.ErrCorrupt},
	{"bad-key-pair", core.ErrBadKeyPair},
	{"not-found", ErrNotFound},
	{"network-unavailable", ErrNetworkUnavailable},
	{"incompatible", ErrIncompatible},
	{"bad-request", ErrBadRequest},
	{"too-large", ErrTooLarge},
	{"limit", ErrLimit},
	{"busy", ErrBusy},
	{"disk-full", ErrDiskFull},
	{"unavailable", ErrUnavailable},
	{"deadline", context.DeadlineExceeded},
	{"canceled", context.Canceled},
}

const codeMarker = "hsp-error:"

// toWire prepares a server-side error for the wire: its message, led by
// the code of the first sentinel it wraps.
func toWire(err error) error {
	if err == nil {
		return nil
	}
	for _, c := range wireCodes {
		if errors.Is(err, c.err) {
			return fmt.Errorf("%s%s %s", codeMarker, c.code, err.Error())
		}
	}
	return err
}

// fromWire turns an exception received from the daemon back into an error
// that wraps the sentinel its code names.
func fromWire(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	i := strings.Index(msg, codeMarker)
	if i < 0 {
		if text := stripMethod(msg); text != msg {
			return &remoteError{msg: text, sentinel: err}
		}
		return err
	}
	rest := msg[i+len(codeMarker):]
	code, text, _ := strings.Cut(rest, " ")
	for _, c := range wireCodes {
		if c.code == code {
			return &remoteError{msg: text, sentinel: c.err}
		}
	}
	return errors.New(text)
}

// capnpMethod matches what capnp-go puts before the message of a failed
// call: the method's name, "hsp.capnp:Corestore.delete: " (or
// "@0x<interface id>.@<method id>: "), which means nothing to a user.
var capnpMethod = regexp.MustCompile(`^(?:[^\s:]+\.capnp:[\w$]+(?:\.[\w$]+)*\.(?:\w+|@\d+)|@0x[0-9a-f]+\.(?:\w+|@\d+)): `)

// stripMethod drops capnp-go's method names from the start of msg.
func stripMethod(msg string) string {
	for {
		loc := capnpMethod.FindStringIndex(msg)
		if loc == nil {
			return msg
		}
		msg = msg[loc[1]:]
	}
}

// remoteError is an error the daemon reported, wrapping its sentinel.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// Sentinels of package core that clients test for, re-exported so that a
// client (the CLI among them) needs no import of core.
var (
	ErrOutOfRange    = core.ErrOutOfRange
	ErrNotAvailable  = core.ErrNotAvailable
	ErrBlockTooLarge = core.ErrBlockTooLarge
	ErrNotWritable   = core.ErrNotWritable
	ErrClosed        = core.ErrClosed
)

// MaxBlockSize is the largest block a core accepts (8 MiB).
const MaxBlockSize = core.MaxBlockSize

// ErrBadKey: a key argument is not 64 hex characters or hyper://<hex>.
var ErrBadKey = errors.New("malformed key")

// Key and DiscoveryKey are a core's keys as the contract carries them, for
// clients that need to name the types without importing core.
type (
	Key          = core.Key
	DiscoveryKey = core.DiscoveryKey
)

// ParseKey reads a core key written as 64 hex characters or hyper://<hex>.
func ParseKey(s string) (core.Key, error) {
	k, err := core.ParseKey(s)
	if err != nil {
		return k, fmt.Errorf("%w %q: want 64 hex characters or hyper://<64 hex characters>", ErrBadKey, s)
	}
	return k, nil
}

// Tagged returns an error that reads msg and wraps sentinel without
// repeating its text, for messages written for people.
func Tagged(msg string, sentinel error) error {
	return &remoteError{msg: msg, sentinel: sentinel}
}
