// Package store keeps every hypercore of a daemon in one pebble database:
// a corestore. It implements core.Storage for each core under its own key
// prefix, holds the master key that writable cores' key pairs derive from
// (as JS corestore 5 derives them), records every core it has opened so it
// can list and replicate them, indexes cores by discovery key for peers,
// and deletes a core's data completely.
//
// Durability: an append's data, tree nodes, signature and new length are
// one pebble batch, and Commit returns only once that batch is durable in
// the write-ahead log, because a signed block lost in a crash and signed
// again differently forks the core for every peer that saw the first one.
// Concurrent commits share WAL fsyncs through pebble's group commit. A
// batch committed without Sync becomes durable at the next Sync.
//
// A core is open at most once: every Open of it returns a Handle on the
// same *core.Hypercore, counted, and the core closes with its last Handle.
//
// store is the only package of hsp that imports pebble. docs/storage.md
// draws the key layout and explains the durability policy and the options.
package store
