package daemon

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/store"
	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm"
)

// refreshEvery is how often a download that discovers its peers asks for
// another lookup while no peer replicates its core (the swarm spaces them).
const refreshEvery = time.Second

// leaveTimeout bounds the unannounces of a configuration that ends.
const leaveTimeout = 5 * time.Second

// The networker's owners besides the RPC sessions (whose ids count up
// from 1): the seeds, and each download that discovers its peers.
const (
	seedOwner      swarm.Owner = 1 << 62
	downloadOwners swarm.Owner = 1 << 63
)

// topicMemory keeps the networker's remembered configurations in the
// store.
type topicMemory struct{ st *store.Store }

func (m topicMemory) Load(ctx context.Context) ([]swarm.Remembered, error) {
	tcs, err := m.st.TopicConfigs(ctx)
	if err != nil {
		return nil, storeErr(err)
	}
	out := make([]swarm.Remembered, len(tcs))
	for i, tc := range tcs {
		out[i] = swarm.Remembered{Topic: tc.DiscoveryKey, JoinOptions: swarm.JoinOptions{Announce: tc.Announce, Lookup: tc.Lookup}}
	}
	return out, nil
}

func (m topicMemory) Remember(ctx context.Context, t [32]byte, o swarm.JoinOptions) error {
	return storeErr(m.st.PutTopicConfig(ctx, store.TopicConfig{DiscoveryKey: t, Announce: o.Announce, Lookup: o.Lookup}))
}

func (m topicMemory) Forget(ctx context.Context, t [32]byte) error {
	return storeErr(m.st.DeleteTopicConfig(ctx, t))
}

// Configure sets how a session wants dk joined; with Flush it returns
// once everyone findable under dk was tried.
func (s *swarmNet) Configure(ctx context.Context, session rpc.SessionID, dk core.DiscoveryKey, opts rpc.ConfigureOptions) error {
	if err := s.ensure(ctx); err != nil {
		return fmt.Errorf("configure %s: %w: %w", dk, rpc.ErrNetworkUnavailable, err)
	}
	cfg := swarm.Config{JoinOptions: swarm.JoinOptions{Announce: opts.Announce, Lookup: opts.Lookup}, Remember: opts.Remember}
	if err := s.configure(ctx, swarm.Owner(session), dk, cfg); err != nil {
		return err
	}
	if opts.Flush && (opts.Announce || opts.Lookup) {
		if err := s.sw.Flush(ctx, dk); err != nil {
			return fmt.Errorf("configure %s: %w", dk, err)
		}
	}
	return nil
}

// configure has the networker follow owner's configuration of dk.
func (s *swarmNet) configure(ctx context.Context, owner swarm.Owner, dk core.DiscoveryKey, cfg swarm.Config) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), leaveTimeout)
	defer cancel()
	if err := s.nw.Configure(ctx, owner, dk, cfg); err != nil {
		return fmt.Errorf("configure %s: %w", dk, netErr(err))
	}
	return nil
}

// netErr marks the swarm's refusals as the network's being unavailable;
// the store's errors are tagged already.
func netErr(err error) error {
	if errors.Is(err, swarm.ErrNoDiscovery) || errors.Is(err, swarm.ErrClosed) {
		return fmt.Errorf("%w: %w", rpc.ErrNetworkUnavailable, err)
	}
	return err
}

// EndSession drops what a session configured.
func (s *swarmNet) EndSession(ctx context.Context, session rpc.SessionID) {
	select {
	case <-s.opts.stopping:
		return // the swarm's shutdown unannounces every topic, in parallel
	default:
	}
	if !s.running() {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, leaveTimeout)
	defer cancel()
	if err := s.nw.Release(ctx, swarm.Owner(session)); err != nil {
		s.log.Debug("end a session's topics", "session", session, "err", err)
	}
}

// discover looks dk up while a download runs; the returned func ends it.
func (s *swarmNet) discover(dk core.DiscoveryKey) (func(), error) {
	owner := downloadOwners | swarm.Owner(s.downloads.Add(1))
	if err := s.configure(context.Background(), owner, dk, swarm.Config{JoinOptions: swarm.JoinOptions{Lookup: true}}); err != nil {
		return nil, err
	}
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		if err := s.nw.Release(ctx, owner); err != nil {
			s.log.Debug("leave a discovered topic", "discoveryKey", dk.String(), "err", err)
		}
	}, nil
}

// rejoin joins the remembered topics and starts the seeds, at start.
func (s *swarmNet) rejoin(ctx context.Context) {
	n, err := s.nw.Rejoin(ctx)
	if err != nil {
		s.log.Warn("rejoin the remembered topics", "err", err)
	}
	seeds := s.startSeeds(ctx)
	if n > 0 || seeds > 0 {
		s.log.Info("rejoined the remembered topics", "topics", n, "seeds", seeds)
	}
}

// remembers reports whether the store remembers a topic or a seed, so the
// network starts at once.
func (s *swarmNet) remembers(ctx context.Context) bool {
	tcs, err := s.store.TopicConfigs(ctx)
	if err == nil && len(tcs) > 0 {
		return true
	}
	seeds, err := s.store.Seeds(ctx)
	return err == nil && len(seeds) > 0
}

func (s *swarmNet) TopicStatus(ctx context.Context, dk core.DiscoveryKey) (rpc.TopicStatus, error) {
	for _, t := range s.joined() {
		if t.DiscoveryKey == dk {
			return t, nil
		}
	}
	return rpc.TopicStatus{DiscoveryKey: dk}, nil
}

func (s *swarmNet) Topics(ctx context.Context) ([]rpc.TopicStatus, error) {
	return s.joined(), nil
}

// joined lists the swarm's topics with what they found.
func (s *swarmNet) joined() []rpc.TopicStatus {
	if !s.running() {
		return []rpc.TopicStatus{}
	}
	topics := s.sw.Topics()
	out := make([]rpc.TopicStatus, 0, len(topics))
	for _, t := range topics {
		out = append(out, rpc.TopicStatus{DiscoveryKey: core.DiscoveryKey(t.Topic), Announce: t.Announce,
			Lookup: t.Lookup, Rounds: uint32(t.Rounds), Found: uint32(t.Found),
			Remember: s.nw.Status(t.Topic).Remembered != nil})
	}
	return out
}

// connectionsByTransport counts the live connections by transport.
func (s *swarmNet) connectionsByTransport() map[string]uint64 {
	out := map[string]uint64{}
	for _, c := range s.sw.Conns() {
		out[c.Transport]++
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
