// Package soak holds the daemon's soak test: honest clients append and
// read through a real hsp daemon while hostile ones send garbage, floods,
// self-calls and never read. It has no code of its own; run it with
// `go test ./soak` (about a minute) or longer with -soak.duration.
package soak
