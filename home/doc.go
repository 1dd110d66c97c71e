// Package home decides where one hsp home keeps its files: the data
// directory, the unix socket (with a fallback in the runtime directory when
// the home's path is too long for a socket), the lock, the log and the TCP
// token. The CLI and the daemon both derive their paths here, so they
// always agree. It imports nothing of hsp's.
package home
