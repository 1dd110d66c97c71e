package dht

import (
	"container/list"
	"net/netip"
	"slices"
)

// K is the bucket size and the width of every query.
const K = 20

// contact is a routing-table entry.
type contact struct {
	NodeInfo
	token []byte // the last roundtrip token it gave us
	to    []byte // our address as it last reported it (6 bytes)
	tick  uint64 // the table tick it was last seen in
	seen  *list.Element
}

// table is a Kademlia routing table with k = 20. Bucket i holds the nodes
// whose id shares exactly i leading bits with ours, which is the shape of
// JS k-bucket's tree where only the bucket holding our own id splits.
// seen orders every contact from least to most recently seen.
type table struct {
	self    ID
	buckets [256][]*contact
	byID    map[ID]*contact
	seen    *list.List
	busy    [256]bool // an eviction ping round is running in this bucket
}

func newTable(self ID) *table {
	return &table{self: self, byID: map[ID]*contact{}, seen: list.New()}
}

func (t *table) len() int { return len(t.byID) }

func (t *table) get(id ID) *contact { return t.byID[id] }

func (t *table) bucketOf(id ID) int { return min(commonPrefix(t.self, id), 255) }

// insert adds c; it fails when c is us or its bucket is full.
func (t *table) insert(c *contact) bool {
	if c.ID == t.self || t.byID[c.ID] != nil {
		return false
	}
	i := t.bucketOf(c.ID)
	if len(t.buckets[i]) >= K {
		return false
	}
	t.buckets[i] = append(t.buckets[i], c)
	t.byID[c.ID] = c
	c.seen = t.seen.PushBack(c)
	return true
}

// touch marks c as the most recently seen, in its bucket and overall.
func (t *table) touch(c *contact) {
	b := t.buckets[t.bucketOf(c.ID)]
	if j := slices.Index(b, c); j >= 0 {
		copy(b[j:], b[j+1:])
		b[len(b)-1] = c
	}
	t.seen.MoveToBack(c.seen)
}

func (t *table) remove(id ID) *contact {
	c := t.byID[id]
	if c == nil {
		return nil
	}
	i := t.bucketOf(id)
	t.buckets[i] = slices.DeleteFunc(t.buckets[i], func(o *contact) bool { return o == c })
	delete(t.byID, id)
	t.seen.Remove(c.seen)
	return c
}

// oldestInBucket returns up to n least recently seen contacts of id's bucket.
func (t *table) oldestInBucket(id ID, n int) []*contact {
	b := t.buckets[t.bucketOf(id)]
	return slices.Clone(b[:min(n, len(b))])
}

// closest returns up to n contacts sorted by distance to target.
func (t *table) closest(target ID, n int) []*contact {
	all := make([]*contact, 0, len(t.byID))
	for _, c := range t.byID {
		all = append(all, c)
	}
	slices.SortFunc(all, func(a, b *contact) int {
		if a.ID == b.ID {
			return 0
		}
		if closer(target, a.ID, b.ID) {
			return -1
		}
		return 1
	})
	return all[:min(n, len(all))]
}

// encodeClosest returns the 38-byte encodings of the n closest contacts.
func (t *table) encodeClosest(target ID, n int) []byte {
	cs := t.closest(target, n)
	if len(cs) == 0 {
		return nil
	}
	b := make([]byte, 0, len(cs)*nodeLen)
	for _, c := range cs {
		b = appendNode(b, c.NodeInfo)
	}
	return b
}

// oldest returns up to n contacts, least recently seen first.
func (t *table) oldest(n int) []*contact {
	var out []*contact
	for e := t.seen.Front(); e != nil && len(out) < n; e = e.Next() {
		out = append(out, e.Value.(*contact))
	}
	return out
}

// latestTos returns the reported `to` of up to n most recently seen
// contacts that have one.
func (t *table) latestTos(n int) [][]byte {
	var out [][]byte
	for e := t.seen.Back(); e != nil && len(out) < n; e = e.Prev() {
		if c := e.Value.(*contact); len(c.to) == 6 {
			out = append(out, c.to)
		}
	}
	return out
}

// nodes returns every contact's id and address, oldest first.
func (t *table) nodes() []NodeInfo {
	out := make([]NodeInfo, 0, t.len())
	for e := t.seen.Front(); e != nil; e = e.Next() {
		out = append(out, e.Value.(*contact).NodeInfo)
	}
	return out
}

// tally implements dht-rpc's _tally over the 10 most recently seen
// contacts: at least 3 agreeing samples and fewer than 3 others.
func tally(tos [][]byte, onlyIP bool) (netip.AddrPort, bool) {
	counts := map[string]int{}
	var best []byte
	good := 0
	for _, to := range tos {
		key := string(to)
		if onlyIP {
			key = string(to[:4])
		}
		counts[key]++
		if counts[key] > good {
			good, best = counts[key], to
		}
	}
	if good < 3 || len(tos)-good >= 3 {
		return netip.AddrPort{}, false
	}
	return decodePeer(best)
}
