package rpc

import (
	"context"
	"fmt"
	"sync"

	"github.com/hspd/hsp/rpc/schema"
)

// Read-ahead for RemoteCore.Get. A block below the signed length never
// changes, so when gets walk forward one block at a time, the client asks
// the daemon's cursor for the following blocks in the same round trip and
// answers the next gets from memory. Only blocks the daemon already holds
// come ahead: the cursor waits for the first block alone, as a waiting get
// would.
const (
	readAheadBlocks = 64
	readAheadBytes  = 1 << 20
)

type readAhead struct {
	mu     sync.Mutex
	next   uint64 // one past the previous get's index; 0 before any
	start  uint64 // index of blocks[0]
	blocks [][]byte
}

// lookup returns a held block, and whether index follows the previous get.
func (a *readAhead) lookup(index uint64) (block []byte, held, sequential bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sequential = a.next != 0 && index == a.next
	a.next = index + 1
	if index >= a.start && index-a.start < uint64(len(a.blocks)) {
		return a.blocks[index-a.start], true, sequential
	}
	return nil, false, sequential
}

func (a *readAhead) hold(start uint64, blocks [][]byte) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.start, a.blocks = start, blocks
}

// fetchAhead gets block index and the held blocks after it, up to end, in
// one round trip (the cursor's first call is pipelined on its creation).
func (r *RemoteCore) fetchAhead(ctx context.Context, index, end uint64) ([]byte, error) {
	f, release := r.c.Read(ctx, func(p schema.Core_read_Params) error {
		p.SetStart(index)
		p.SetEnd(end)
		return nil
	})
	defer release()
	nf, rel := f.Cursor().Next(ctx, func(p schema.Cursor_next_Params) error {
		p.SetMaxBlocks(readAheadBlocks)
		p.SetMaxBytes(readAheadBytes)
		return nil
	})
	defer rel()
	res, err := nf.Struct()
	if err != nil {
		return nil, r.result(ctx, fmt.Sprintf("get block %d", index), err)
	}
	list, err := res.Blocks()
	if err != nil || list.Len() == 0 || res.Start() != index {
		return nil, fmt.Errorf("get block %d: the daemon's cursor sent no block: %w", index, ErrBadRequest)
	}
	blocks := make([][]byte, list.Len())
	for i := range blocks {
		b, err := list.At(i)
		if err != nil {
			return nil, fmt.Errorf("get block %d: %w", index, err)
		}
		blocks[i] = append([]byte{}, b...)
	}
	r.ahead.hold(index, blocks)
	return append([]byte{}, blocks[0]...), nil
}
