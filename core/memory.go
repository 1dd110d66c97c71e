package core

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// MemoryStorage keeps one core in memory. It serves tests and throwaway
// cores; it is safe for concurrent use and copies everything it is given.
type MemoryStorage struct {
	mu     sync.RWMutex
	header Header
	blocks map[uint64][]byte
	nodes  map[uint64]Node
	sigs   map[uint64][]byte
	data   map[uint64]Page
	tree   map[uint64]Page
	closed bool
	// CommitHook, if set, runs before each commit and can fail it, as a
	// full disk would.
	CommitHook func(*Batch) error
}

var _ Storage = (*MemoryStorage)(nil)
var _ BlockAppender = (*MemoryStorage)(nil)

// NewMemoryStorage returns empty in-memory storage.
func NewMemoryStorage() *MemoryStorage {
	return &MemoryStorage{
		blocks: map[uint64][]byte{}, nodes: map[uint64]Node{}, sigs: map[uint64][]byte{},
		data: map[uint64]Page{}, tree: map[uint64]Page{},
	}
}

// Load returns the header and the bitfield pages.
func (m *MemoryStorage) Load(ctx context.Context) (Snapshot, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s := Snapshot{Header: m.header}
	for _, p := range m.data {
		s.Data = append(s.Data, p)
	}
	for _, p := range m.tree {
		s.Tree = append(s.Tree, p)
	}
	return s, nil
}

// AppendBlock appends block index to dst.
func (m *MemoryStorage) AppendBlock(ctx context.Context, dst []byte, index uint64) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blocks[index]
	if !ok {
		return dst, fmt.Errorf("block %d: %w", index, ErrNotStored)
	}
	return append(dst, b...), nil
}

// Block returns a copy of block index.
func (m *MemoryStorage) Block(ctx context.Context, index uint64) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	b, ok := m.blocks[index]
	if !ok {
		return nil, fmt.Errorf("block %d: %w", index, ErrNotStored)
	}
	return slices.Clone(b), nil
}

// Node returns tree node index.
func (m *MemoryStorage) Node(ctx context.Context, index uint64) (Node, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	n, ok := m.nodes[index]
	if !ok {
		return n, fmt.Errorf("tree node %d: %w", index, ErrNotStored)
	}
	return n, nil
}

// Signature returns the signature over the first length blocks.
func (m *MemoryStorage) Signature(ctx context.Context, length uint64) ([]byte, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sigs[length]
	if !ok {
		return nil, fmt.Errorf("signature of length %d: %w", length, ErrNotStored)
	}
	return slices.Clone(s), nil
}

// Commit applies a batch atomically.
func (m *MemoryStorage) Commit(ctx context.Context, b *Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return fmt.Errorf("commit: %w", ErrClosed)
	}
	if m.CommitHook != nil {
		if err := m.CommitHook(b); err != nil {
			return fmt.Errorf("commit: %w", err)
		}
	}
	for _, blk := range b.Blocks {
		m.blocks[blk.Index] = slices.Clone(blk.Data)
	}
	for _, n := range b.Nodes {
		m.nodes[n.Index] = n
	}
	for _, s := range b.Signatures {
		m.sigs[s.Length] = slices.Clone(s.Signature)
	}
	for _, p := range b.DataPages {
		m.data[p.Index] = p
	}
	for _, p := range b.TreePages {
		m.tree[p.Index] = p
	}
	m.header = b.Header
	return nil
}

// Close marks the storage closed; its contents stay readable so that a test
// can open the same core again.
func (m *MemoryStorage) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}

// Reopen makes closed storage usable again, as reopening a file would.
func (m *MemoryStorage) Reopen() *MemoryStorage {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = false
	return m
}

// Tamper lets a test change stored data in place, to check that Audit and
// Open notice.
func (m *MemoryStorage) Tamper(fn func(blocks map[uint64][]byte, nodes map[uint64]Node, sigs map[uint64][]byte)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	fn(m.blocks, m.nodes, m.sigs)
}
