package dht

import (
	"bytes"
	"slices"
	"testing"

	"pgregory.net/rapid"
)

// TestTableProperties drives the routing table with random inserts,
// touches and removals and checks its invariants against a model.
func TestTableProperties(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		var self ID
		copy(self[:], rapid.SliceOfN(rapid.Byte(), 32, 32).Draw(t, "self"))
		tb := newTable(self)
		model := map[ID]bool{}
		// Ids near self, so that deep buckets fill up too.
		genID := rapid.Custom(func(t *rapid.T) ID {
			id := self
			bit := rapid.IntRange(0, 40).Draw(t, "bit")
			id[bit/8] ^= 0x80 >> (bit % 8)
			copy(id[6:], rapid.SliceOfN(rapid.Byte(), 26, 26).Draw(t, "tail"))
			return id
		})
		for range rapid.IntRange(1, 300).Draw(t, "steps") {
			id := genID.Draw(t, "id")
			switch rapid.IntRange(0, 3).Draw(t, "op") {
			case 0, 1:
				full := len(tb.buckets[tb.bucketOf(id)]) >= K
				ok := tb.insert(&contact{NodeInfo: NodeInfo{ID: id}})
				if want := id != self && !model[id] && !full; ok != want {
					t.Fatalf("insert %s = %v, want %v", id, ok, want)
				}
				if ok {
					model[id] = true
				}
			case 2:
				if c := tb.get(id); c != nil {
					tb.touch(c)
					if tb.seen.Back().Value.(*contact) != c {
						t.Fatal("touched contact is not the latest")
					}
				}
			case 3:
				if (tb.remove(id) != nil) != model[id] {
					t.Fatalf("remove %s disagrees with the model", id)
				}
				delete(model, id)
			}
			checkTable(t, tb, model)
		}
		target := genID.Draw(t, "target")
		checkClosest(t, tb, model, target)
	})
}

func checkTable(t *rapid.T, tb *table, model map[ID]bool) {
	if tb.len() != len(model) || tb.seen.Len() != len(model) {
		t.Fatalf("table holds %d (seen %d), model %d", tb.len(), tb.seen.Len(), len(model))
	}
	total := 0
	for i, b := range tb.buckets {
		if len(b) > K {
			t.Fatalf("bucket %d holds %d", i, len(b))
		}
		for _, c := range b {
			if tb.bucketOf(c.ID) != i || !model[c.ID] || tb.byID[c.ID] != c || c.ID == tb.self {
				t.Fatalf("contact %s misplaced in bucket %d", c.ID, i)
			}
		}
		total += len(b)
	}
	if total != len(model) {
		t.Fatalf("buckets hold %d, model %d", total, len(model))
	}
}

func checkClosest(t *rapid.T, tb *table, model map[ID]bool, target ID) {
	got := tb.closest(target, K)
	var all []ID
	for id := range model {
		all = append(all, id)
	}
	slices.SortFunc(all, func(a, b ID) int {
		da, db := xorDist(target, a), xorDist(target, b)
		return bytes.Compare(da[:], db[:])
	})
	all = all[:min(K, len(all))]
	if len(got) != len(all) {
		t.Fatalf("closest returned %d, want %d", len(got), len(all))
	}
	for i := range got {
		if got[i].ID != all[i] {
			t.Fatalf("closest[%d] = %s, want %s", i, got[i].ID, all[i])
		}
	}
}
