// Package rpc is the contract between hsp's daemon and its clients: the
// result structs every command renders (Status, CoreInfo, …), the Backend a
// daemon implements, the Cap'n Proto server that exposes a Backend on a
// socket, and the client library (Dial, Client, RemoteCore) that programs
// and the CLI use. RemoteCore implements core.Core, so code written against
// a local core runs unchanged against the daemon.
//
// Errors cross the wire as Cap'n Proto exceptions that carry a short code;
// errors.go maps the codes back to the sentinels of packages core and rpc,
// so errors.Is works the same on both sides of the socket.
package rpc
