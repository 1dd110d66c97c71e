// Package daemon runs hsp's server: it locks a home directory, opens the
// store, and serves the RPC contract of package rpc on a unix socket until
// it is stopped. `hsp daemon` runs one in the foreground; a Go program can
// run several, each on its own home, with New and Start.
//
// On disk, one home holds (home.PathsFor names them):
//
//	$HSP_HOME/            0700
//	├── LOCK              flock held by the running daemon for its lifetime
//	├── storage/          the pebble database of every core (core/store)
//	├── hsp.sock          0600, exists only while a daemon is ready to serve
//	└── daemon.log        output of a detached daemon
//
// The lock decides who runs: the daemon takes it before it touches the
// store or the socket, and a second daemon that cannot take it reports
// ErrAlreadyRunning without touching either. Only the lock holder removes
// a stale socket. The socket is bound under a temporary name, restricted to
// its owner and renamed into place once the store is open, so a client that
// finds the socket finds a daemon ready to answer. When the home's socket
// path would exceed the OS limit the socket lives in the per-user runtime
// directory instead (home.RuntimeDir), under a name derived from the home.
//
// Shutdown (SIGINT, SIGTERM, the Stop call or Close) removes the socket and
// stops accepting, ends every session, lets appends in flight finish, then
// closes the store and releases the lock.
package daemon
