package daemon

import (
	"context"
	"fmt"
	"math"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm"
)

// seedRun is a core the daemon seeds: loaded, announced and looked up,
// and (when not ours) downloaded whole and live, until unseeded.
type seedRun struct {
	cancel context.CancelFunc
	done   chan struct{}
}

// Seed records key as seeded, durably, and starts seeding it.
func (s *swarmNet) Seed(ctx context.Context, key core.Key) error {
	if err := s.ensure(ctx); err != nil {
		return fmt.Errorf("seed %s: %w: %w", key, rpc.ErrNetworkUnavailable, err)
	}
	if err := s.store.PutSeed(ctx, key); err != nil {
		return storeErr(err)
	}
	return s.startSeed(ctx, key)
}

// Unseed stops seeding key and forgets it: its topic is left and no
// longer remembered. The data stays.
func (s *swarmNet) Unseed(ctx context.Context, key core.Key) error {
	if err := s.ensure(ctx); err != nil {
		return fmt.Errorf("unseed %s: %w: %w", key, rpc.ErrNetworkUnavailable, err)
	}
	if err := s.store.DeleteSeed(ctx, key); err != nil {
		return storeErr(err)
	}
	s.seedMu.Lock()
	run := s.seeds[key]
	delete(s.seeds, key)
	s.seedMu.Unlock()
	if run != nil {
		run.cancel()
		<-run.done
	}
	// A leave forgets the remembered configuration, whoever made it.
	return s.configure(ctx, seedOwner, key.DiscoveryKey(), swarm.Config{})
}

// startSeeds starts every seed the store records; it returns how many
// started.
func (s *swarmNet) startSeeds(ctx context.Context) int {
	keys, err := s.store.Seeds(ctx)
	if err != nil {
		s.log.Warn("read the seeds", "err", err)
		return 0
	}
	n := 0
	for _, key := range keys {
		if err := s.startSeed(ctx, key); err != nil {
			s.log.Warn("seed", "key", key.String(), "err", err)
			continue
		}
		n++
	}
	return n
}

// startSeed loads key for good, configures its topic for announce and
// lookup, remembered, and downloads every block peers have, live.
func (s *swarmNet) startSeed(ctx context.Context, key core.Key) error {
	s.seedMu.Lock()
	defer s.seedMu.Unlock()
	if s.seeds[key] != nil {
		return nil
	}
	h, release, err := s.loaded.acquire(ctx, &key, func(ctx context.Context) (*store.Handle, error) {
		return s.store.OpenKey(ctx, key)
	})
	if err != nil {
		return fmt.Errorf("seed %s: %w", key, storeErr(err))
	}
	cfg := swarm.Config{JoinOptions: swarm.JoinOptions{Announce: true, Lookup: true}, Remember: true}
	if err := s.configure(ctx, seedOwner, key.DiscoveryKey(), cfg); err != nil {
		release()
		return fmt.Errorf("seed %s: %w", key, err)
	}
	rctx, cancel := context.WithCancel(context.Background())
	run := &seedRun{cancel: cancel, done: make(chan struct{})}
	s.seeds[key] = run
	rh := s.handle(h)
	go func() {
		defer close(run.done)
		defer release()
		if h.Writable() {
			<-rctx.Done() // ours: nothing to download, only to serve
			return
		}
		if err := rh.Download(rctx, 0, math.MaxUint64); err != nil && rctx.Err() == nil {
			s.log.Warn("seed's download ended", "key", key.String(), "err", err)
		}
	}()
	return nil
}

// seeding reports whether key is seeded.
func (s *swarmNet) seeding(key core.Key) bool {
	s.seedMu.Lock()
	defer s.seedMu.Unlock()
	return s.seeds[key] != nil
}

// stopSeeds ends every seed's download at shutdown (the records stay).
func (s *swarmNet) stopSeeds() {
	s.seedMu.Lock()
	runs := s.seeds
	s.seeds = map[core.Key]*seedRun{}
	s.seedMu.Unlock()
	for _, run := range runs {
		run.cancel()
		<-run.done
	}
}

// CoreNetwork is key's part in the swarm.
func (s *swarmNet) CoreNetwork(key core.Key) rpc.CoreNetwork {
	out := rpc.CoreNetwork{Seeding: s.seeding(key)}
	s.mu.Lock()
	h := s.handles[key]
	s.mu.Unlock()
	if h != nil {
		st := h.Stats()
		out.Peers, out.UploadedBytes, out.DownloadedBytes = uint32(h.Peers()), st.UploadedBytes, st.DownloadedBytes
	}
	return out
}
