package core

// Node is one node of a core's Merkle tree: its flat-tree index, its BLAKE2b-256
// hash and the number of data bytes under it.
type Node struct {
	Index uint64
	Hash  [32]byte
	Size  uint64
}
