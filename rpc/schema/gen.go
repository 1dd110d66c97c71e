// Package schema holds hsp's Cap'n Proto schema and the Go code generated
// from it. Never edit hsp.capnp.go by hand: change hsp.capnp and run
// `go generate ./rpc/schema` (needs the capnp compiler, Debian's capnproto).
package schema

//go:generate sh -c "capnp compile -I $(go list -m -f '{{.Dir}}' capnproto.org/go/capnp/v3)/std -o- hsp.capnp | go tool capnpc-go"
