package daemon

import (
	"context"
	"fmt"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
	"github.com/hspd/hsp/swarm"
)

// refreshEvery is how often a download that discovers its peers asks for
// another lookup while no peer replicates its core (the swarm spaces them).
const refreshEvery = time.Second

// leaveTimeout bounds the unannounce of a topic a client leaves.
const leaveTimeout = 5 * time.Second

// join is what one discovery key is joined for: what clients configured,
// and a lookup while downloads discover peers for it.
type join struct {
	configured swarm.JoinOptions
	downloads  int
}

func (j join) effective() swarm.JoinOptions {
	return swarm.JoinOptions{Announce: j.configured.Announce, Lookup: j.configured.Lookup || j.downloads > 0}
}

// Configure joins or leaves a discovery key for the whole daemon (the
// per-session flags, and remembering them, come with the networker).
func (s *swarmNet) Configure(ctx context.Context, dk core.DiscoveryKey, opts rpc.ConfigureOptions) error {
	if err := s.ensure(ctx); err != nil {
		return fmt.Errorf("configure %s: %w: %w", dk, rpc.ErrNetworkUnavailable, err)
	}
	return s.updateJoin(dk, func(j *join) { j.configured = swarm.JoinOptions{Announce: opts.Announce, Lookup: opts.Lookup} })
}

// discover looks dk up while a download runs; the returned func ends it.
func (s *swarmNet) discover(dk core.DiscoveryKey) (func(), error) {
	if err := s.updateJoin(dk, func(j *join) { j.downloads++ }); err != nil {
		return nil, err
	}
	return func() {
		if err := s.updateJoin(dk, func(j *join) { j.downloads-- }); err != nil {
			s.log.Debug("leave a discovered topic", "discoveryKey", dk.String(), "err", err)
		}
	}, nil
}

// updateJoin changes what dk is joined for and has the swarm follow.
func (s *swarmNet) updateJoin(dk core.DiscoveryKey, change func(*join)) error {
	s.joinMu.Lock()
	defer s.joinMu.Unlock()
	j := s.joins[dk]
	change(&j)
	opts := j.effective()
	if !opts.Announce && !opts.Lookup {
		delete(s.joins, dk)
		ctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
		defer cancel()
		if err := s.sw.Leave(ctx, dk); err != nil {
			s.log.Debug("unannounce", "discoveryKey", dk.String(), "err", err)
		}
		return nil
	}
	if err := s.sw.Join(dk, opts); err != nil {
		return fmt.Errorf("join %s: %w: %w", dk, rpc.ErrNetworkUnavailable, err)
	}
	s.joins[dk] = j
	return nil
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
			Lookup: t.Lookup, Rounds: uint32(t.Rounds), Found: uint32(t.Found)})
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
