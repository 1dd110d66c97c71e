// Package core implements the hypercore 9 data structure: an append-only log
// whose blocks are hashed into a flat Merkle tree and whose roots the writer
// signs with Ed25519, so that any peer can verify any block it receives.
//
// The package is byte-exact with the JavaScript hypercore 9 and
// hypercore-crypto 2 packages: keys, node hashes, signatures, request digests,
// proofs and the run-length encoded bitfields of the wire protocol follow them.
//
// core imports nothing else of hsp. It declares the Storage it needs (core/store
// implements it on pebble; MemoryStorage serves tests) and the Core interface
// that both the in-process Hypercore and the remote client in package rpc satisfy.
package core
