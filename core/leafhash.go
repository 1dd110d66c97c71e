package core

import (
	"runtime"
	"sync"
)

// parallelHashBytes is the size of an append from which its leaves are
// hashed on several cores: below it, starting goroutines costs more than
// hashing (1 MiB takes about 2 ms on one core).
const parallelHashBytes = 1 << 20

// LeafHashes returns the leaf hash of every block (LeafHash), spreading a
// large batch over the machine's cores.
func LeafHashes(blocks [][]byte) [][32]byte {
	hashes := make([][32]byte, len(blocks))
	total := 0
	for _, b := range blocks {
		total += len(b)
	}
	if total < parallelHashBytes || len(blocks) < 2 {
		for i, b := range blocks {
			hashes[i] = LeafHash(b)
		}
		return hashes
	}
	workers := min(runtime.GOMAXPROCS(0), len(blocks), total/(parallelHashBytes/4)+1)
	// Deal out contiguous runs of about equal bytes, one per worker.
	var wg sync.WaitGroup
	start, acc, share := 0, 0, (total+workers-1)/workers
	for i, b := range blocks {
		acc += len(b)
		if acc >= share || i == len(blocks)-1 {
			run := blocks[start : i+1]
			out := hashes[start : i+1]
			wg.Go(func() {
				for k, b := range run {
					out[k] = LeafHash(b)
				}
			})
			start, acc = i+1, 0
		}
	}
	wg.Wait()
	return hashes
}
