package core

import "math/bits"

// Flat-tree index math. All tree nodes share one in-order index space: block i
// is leaf 2i, and a node at depth d and offset o has index (2o+1)·2^d − 1.

// treeIndex returns the flat-tree index of the node at depth and offset.
func treeIndex(depth, offset uint64) uint64 {
	return (offset<<1+1)<<depth - 1
}

// depth returns the depth of x: the number of trailing one bits.
func depth(x uint64) uint64 {
	return uint64(bits.TrailingZeros64(^x))
}

// offset returns the position of x among the nodes of its depth.
func offset(x uint64) uint64 {
	return x >> (depth(x) + 1)
}

// parent returns the index of x's parent.
func parent(x uint64) uint64 {
	d := depth(x)
	return treeIndex(d+1, offset(x)>>1)
}

// sibling returns the index of the other child of x's parent.
func sibling(x uint64) uint64 {
	d := depth(x)
	return treeIndex(d, offset(x)^1)
}

// children returns the two children of x; ok is false for a leaf.
func children(x uint64) (left, right uint64, ok bool) {
	if x&1 == 0 {
		return 0, 0, false
	}
	d, o := depth(x), offset(x)
	return treeIndex(d-1, o*2), treeIndex(d-1, o*2+1), true
}

// leftSpan returns the leftmost leaf under x.
func leftSpan(x uint64) uint64 {
	d := depth(x)
	return offset(x) << (d + 1)
}

// rightSpan returns the rightmost leaf under x.
func rightSpan(x uint64) uint64 {
	d := depth(x)
	return (offset(x)+1)<<(d+1) - 2
}

// count returns the number of nodes under x, x included.
func count(x uint64) uint64 {
	return 2<<depth(x) - 1
}

// isLeftChild reports whether x is the left child of its parent.
func isLeftChild(x uint64) bool {
	return offset(x)&1 == 0
}

// fullRoots returns the roots of a tree whose leaves end before index, i.e.
// fullRoots(2n) are the roots of an n-block core, left to right.
func fullRoots(index uint64) []uint64 {
	if index&1 == 1 {
		panic("core: fullRoots of an odd index")
	}
	var roots []uint64
	left := uint64(0)
	rest := index / 2
	for rest > 0 {
		span := uint64(1) << (63 - bits.LeadingZeros64(rest)) // largest power of two ≤ rest
		roots = append(roots, left+span-1)
		left += 2 * span
		rest -= span
	}
	return roots
}
