package dht

import "math/rand/v2"

// recordKey names one set of peers records: a topic's public records, or
// its LAN records under one /16 prefix.
type recordKey struct {
	topic  ID
	local  bool
	prefix [2]byte
}

// recordSet is a set of records with O(1) random picks.
type recordSet struct {
	list  []string
	index map[string]int
}

func (s *recordSet) add(r string) bool {
	if _, ok := s.index[r]; ok {
		return false
	}
	s.index[r] = len(s.list)
	s.list = append(s.list, r)
	return true
}

func (s *recordSet) remove(r string) bool {
	i, ok := s.index[r]
	if !ok {
		return false
	}
	last := s.list[len(s.list)-1]
	s.list[i], s.index[last] = last, i
	s.list = s.list[:len(s.list)-1]
	delete(s.index, r)
	return true
}

// generation is one half of the two-generation record cache.
type generation struct {
	sets map[recordKey]*recordSet
	size int
}

func newGeneration() *generation { return &generation{sets: map[recordKey]*recordSet{}} }

func (g *generation) add(k recordKey, r string, perKey int) bool {
	s := g.sets[k]
	if s == nil {
		s = &recordSet{index: map[string]int{}}
		g.sets[k] = s
	}
	if len(s.list) >= perKey {
		s.remove(s.list[rand.IntN(len(s.list))])
		g.size--
	}
	if !s.add(r) {
		return false
	}
	g.size++
	return true
}

func (g *generation) remove(k recordKey, r string) {
	s := g.sets[k]
	if s == nil || !s.remove(r) {
		return
	}
	g.size--
	if len(s.list) == 0 {
		delete(g.sets, k)
	}
}

func (g *generation) list(k recordKey) []string {
	if s := g.sets[k]; s != nil {
		return s.list
	}
	return nil
}

// records is @hyperswarm/dht's record-cache: a fresh and a stale
// generation. Every 2/3 of maxAge (and whenever the fresh one outgrows its
// bounds) fresh becomes stale and the old stale is dropped, so a record
// lives 2/3 to 4/3 of maxAge after its last announce.
type records struct {
	fresh, stale *generation
	limits       Limits
	flipped      bool // flipped since the last periodic flip
}

func newRecords(l Limits) *records {
	return &records{fresh: newGeneration(), stale: newGeneration(), limits: l}
}

func (rc *records) add(k recordKey, r string) {
	rc.stale.remove(k, r)
	if !rc.fresh.add(k, r, rc.limits.RecordsPerTopic) {
		return
	}
	if rc.fresh.size > rc.limits.Records || len(rc.fresh.sets) > rc.limits.Topics {
		rc.flip()
	}
}

func (rc *records) remove(k recordKey, r string) {
	rc.fresh.remove(k, r)
	rc.stale.remove(k, r)
}

// get returns up to n random records of k (all of them when n is 0).
func (rc *records) get(k recordKey, n int) []string {
	a, b := rc.fresh.list(k), rc.stale.list(k)
	total := len(a) + len(b)
	if n <= 0 || n > total {
		n = total
	}
	picked := rand.Perm(total)[:n]
	out := make([]string, n)
	for i, j := range picked {
		if j < len(a) {
			out[i] = a[j]
		} else {
			out[i] = b[j-len(a)]
		}
	}
	return out
}

func (rc *records) flip() {
	rc.stale, rc.fresh = rc.fresh, newGeneration()
	rc.flipped = true
}

// tick is the periodic flip, skipped once after a forced one.
func (rc *records) tick() {
	if !rc.flipped {
		rc.flip()
	}
	rc.flipped = false
}

func (rc *records) size() int { return rc.fresh.size + rc.stale.size }
