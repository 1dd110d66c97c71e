package store

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// writers append to several cores, one goroutine per core, with
// deterministic content (blockAt), recording every batch end attempted and
// the length of every acknowledged append.
type writers struct {
	names []string
	stop  atomic.Bool
	wg    sync.WaitGroup

	mu       sync.Mutex
	acked    map[string]uint64
	ends     map[string]map[uint64]bool // lengths a batch would end at, with 0
	verified map[string]uint64          // lengths whose content was checked
	errs     []error                    // append errors before stop
}

func newWriters(names []string) *writers {
	w := &writers{names: names, acked: map[string]uint64{}, ends: map[string]map[uint64]bool{}, verified: map[string]uint64{}}
	for _, n := range names {
		w.ends[n] = map[uint64]bool{0: true}
	}
	return w
}

// start begins appending to every core of s.
func (w *writers) start(t testing.TB, s *Store, seed uint64) {
	w.stop.Store(false)
	for i, name := range w.names {
		h := openNamed(t, s, name)
		w.wg.Add(1)
		go w.run(h, rand.New(rand.NewPCG(seed, uint64(i))))
	}
}

func (w *writers) run(h *Handle, r *rand.Rand) {
	defer w.wg.Done()
	defer h.Close()
	name := h.Name()
	for !w.stop.Load() {
		start, n := h.Length(), 1+r.IntN(4)
		w.attempt(name, start+uint64(n))
		length, err := h.Append(context.Background(), blocksFrom(name, start, n)...)
		if err != nil {
			if !w.stop.Load() {
				w.fail(fmt.Errorf("append to %s at %d: %w", name, start, err))
			}
			return
		}
		w.ack(name, length)
	}
}

func (w *writers) attempt(name string, end uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ends[name][end] = true
}

func (w *writers) ack(name string, length uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked[name] = max(w.acked[name], length)
}

func (w *writers) fail(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, err)
}

// snapshot returns the acknowledged lengths so far.
func (w *writers) snapshot() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]uint64, len(w.acked))
	for k, v := range w.acked {
		out[k] = v
	}
	return out
}

// halt asks the goroutines to stop; the caller then closes the store.
func (w *writers) halt() { w.stop.Store(true) }

func (w *writers) wait() error {
	w.wg.Wait()
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.errs) > 0 {
		return w.errs[0]
	}
	return nil
}

// verify checks every core of s after a crash: it opens, passes Audit,
// holds at least the acknowledged length, ends on a batch boundary (no
// torn batch) and every block has its deterministic content.
func (w *writers) verify(s *Store, acked map[string]uint64) error {
	ctx := context.Background()
	for _, name := range w.names {
		h, err := s.OpenNamed(ctx, name)
		if err != nil {
			return err
		}
		length := h.Length()
		err = checkCore(ctx, h, name, w.verified[name])
		h.Close()
		if err != nil {
			return fmt.Errorf("core %s of length %d: %w", name, length, err)
		}
		if length < acked[name] {
			return fmt.Errorf("core %s: length %d after the crash, %d acknowledged before", name, length, acked[name])
		}
		if !w.isEnd(name, length) {
			return fmt.Errorf("core %s: length %d is inside a batch (torn batch)", name, length)
		}
		w.reset(name, length)
	}
	return nil
}

// reset makes the length a core recovered with its acknowledged length:
// appends acknowledged after the crash point are gone with the old store.
func (w *writers) reset(name string, length uint64) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.acked[name] = length
	w.verified[name] = length
}

func (w *writers) isEnd(name string, length uint64) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ends[name][length]
}
