package swarm

import (
	"context"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"net/netip"
	"sync"
	"time"
)

// JoinOptions say why a topic is joined: Announce makes us findable under
// it, Lookup dials the peers found under it. Both false is a Leave.
type JoinOptions struct {
	Announce, Lookup bool
}

// TopicTiming are the periods of the per-topic loops; zero fields take
// the defaults next to them.
type TopicTiming struct {
	// RoundMin and RoundMax (4 and 6 min) bound the random pause between
	// two rounds of a topic: records live 8 to 16 minutes after an
	// announce, so a round every 4–6 minutes keeps them alive (JS's 5–10
	// leaves gaps).
	RoundMin, RoundMax time.Duration
	// RefreshMin and RefreshMax (1 s doubling to 1 min) space the rounds
	// Refresh asks for while a topic finds no peer.
	RefreshMin, RefreshMax time.Duration
	// Unannounce (2 s) bounds the unannounces of a Leave, and of all the
	// announced topics together at shutdown.
	Unannounce time.Duration
}

func (t TopicTiming) withDefaults() TopicTiming {
	t.RoundMin = positiveOr(t.RoundMin, 4*time.Minute)
	t.RoundMax = max(positiveOr(t.RoundMax, 6*time.Minute), t.RoundMin)
	t.RefreshMin = positiveOr(t.RefreshMin, time.Second)
	t.RefreshMax = max(positiveOr(t.RefreshMax, time.Minute), t.RefreshMin)
	t.Unannounce = positiveOr(t.Unannounce, 2*time.Second)
	return t
}

// TopicStatus describes one joined topic.
type TopicStatus struct {
	Topic [32]byte
	JoinOptions
	// Rounds counts the finished announce or lookup rounds; Found the
	// distinct peers they found (over all rounds, each address once per
	// round).
	Rounds, Found int
	// Err is the last round's error, if it failed.
	Err error
}

// ErrNoDiscovery: a Join on a swarm without a DHT node (Options.DHT), or
// before Listen.
var ErrNoDiscovery = errors.New("no discovery: the swarm has no DHT node")

// topic is one joined topic's loop.
type topic struct {
	mu      sync.Mutex
	status  TopicStatus
	wake    chan struct{} // a round now: options changed, or Refresh
	cancel  context.CancelFunc
	done    chan struct{}
	refresh time.Duration // the next Refresh's spacing
	last    time.Time     // when the last round ended
	started int           // rounds started; status.Rounds counts those ended
	ended   chan struct{} // closed (and replaced) when a round ends
	// seen holds the addresses the rounds found (the loop's own; at most
	// maxFoundPerLookup): only a round that finds a new one resets the
	// refresh spacing, so a peer found but unreachable does not keep
	// lookups coming every RefreshMin.
	seen map[netip.AddrPort]bool
}

// Join starts the topic's loop, or changes what it is joined for (a new
// round starts at once). Its first round runs at once: an announce when
// announcing (whose walk also finds peers), else a lookup.
func (s *Swarm) Join(t [32]byte, opts JoinOptions) error {
	if !opts.Announce && !opts.Lookup {
		return s.Leave(context.Background(), t)
	}
	d := s.Discovery()
	if d == nil {
		return ErrNoDiscovery
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrClosed
	}
	if tp := s.topics[t]; tp != nil {
		tp.mu.Lock()
		tp.status.JoinOptions = opts
		tp.mu.Unlock()
		tp.poke()
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	tp := &topic{status: TopicStatus{Topic: t, JoinOptions: opts}, wake: make(chan struct{}, 1),
		cancel: cancel, done: make(chan struct{}), refresh: s.opts.Topics.RefreshMin, ended: make(chan struct{}), seen: map[netip.AddrPort]bool{}}
	if s.topics == nil {
		s.topics = map[[32]byte]*topic{}
	}
	s.topics[t] = tp
	go s.topicLoop(ctx, d, tp)
	return nil
}

// Leave stops the topic's loop and, if it was announced, asks the DHT to
// drop our record, within ctx and TopicTiming.Unannounce.
func (s *Swarm) Leave(ctx context.Context, t [32]byte) error {
	return s.detach(t)(ctx)
}

// detach takes the topic out of the joined ones at once (a Join after it
// starts afresh) and returns what ends its loop and unannounces it.
func (s *Swarm) detach(t [32]byte) (stop func(context.Context) error) {
	s.mu.Lock()
	tp := s.topics[t]
	delete(s.topics, t)
	s.mu.Unlock()
	if tp == nil {
		return func(context.Context) error {
			s.leftTopic(t) // peers fed by AddPeer
			return nil
		}
	}
	return func(ctx context.Context) error { return s.stopTopic(ctx, tp) }
}

func (s *Swarm) stopTopic(ctx context.Context, tp *topic) error {
	tp.cancel()
	<-tp.done
	s.leftTopic(tp.status.Topic)
	tp.mu.Lock()
	announced := tp.status.Announce
	tp.mu.Unlock()
	d := s.Discovery()
	if !announced || d == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opts.Topics.Unannounce)
	defer cancel()
	return d.Unannounce(ctx, tp.status.Topic, 0)
}

// leaveAll leaves every topic at shutdown, unannouncing in parallel within
// TopicTiming.Unannounce in all.
func (s *Swarm) leaveAll() {
	s.mu.Lock()
	tps := make([]*topic, 0, len(s.topics))
	for _, tp := range s.topics {
		tps = append(tps, tp)
	}
	s.topics = nil
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), s.opts.Topics.Unannounce)
	defer cancel()
	var wg sync.WaitGroup
	for _, tp := range tps {
		wg.Go(func() { s.stopTopic(ctx, tp) })
	}
	wg.Wait()
}

// Refresh asks for a round of the topic soon: a core wanted there has no
// peer. Rounds asked for this way are spaced from RefreshMin, doubling to
// RefreshMax while they find nobody.
func (s *Swarm) Refresh(t [32]byte) {
	s.mu.Lock()
	tp := s.topics[t]
	s.mu.Unlock()
	if tp != nil {
		tp.poke()
	}
}

// Topics lists the joined topics.
func (s *Swarm) Topics() []TopicStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]TopicStatus, 0, len(s.topics))
	for _, tp := range s.topics {
		tp.mu.Lock()
		out = append(out, tp.status)
		tp.mu.Unlock()
	}
	return out
}

func (tp *topic) poke() {
	select {
	case tp.wake <- struct{}{}:
	default:
	}
}

// topicLoop runs rounds until the topic is left: one at once, then one
// every RoundMin–RoundMax, or earlier when poked (no sooner than the
// refresh spacing after the last).
func (s *Swarm) topicLoop(ctx context.Context, d Discovery, tp *topic) {
	defer close(tp.done)
	for ctx.Err() == nil {
		fresh := s.topicRound(ctx, d, tp)
		if !s.waitRound(ctx, tp, fresh) {
			return
		}
	}
}

// waitRound waits for the next round's time; false means the topic was
// left.
func (s *Swarm) waitRound(ctx context.Context, tp *topic, fresh int) bool {
	t := s.opts.Topics
	tp.mu.Lock()
	tp.last = time.Now()
	if fresh > 0 { // a new peer: the next Refresh may come soon again
		tp.refresh = t.RefreshMin
	}
	tp.mu.Unlock()
	round := time.NewTimer(t.RoundMin + rand.N(t.RoundMax-t.RoundMin+1))
	defer round.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-round.C:
		return true
	case <-tp.wake:
	}
	tp.mu.Lock()
	wait := time.Until(tp.last.Add(tp.refresh))
	tp.refresh = min(2*tp.refresh, t.RefreshMax)
	tp.mu.Unlock()
	if wait <= 0 {
		return true
	}
	spaced := time.NewTimer(wait)
	defer spaced.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-spaced.C:
		return true
	}
}

// topicRound runs one announce or lookup, handing each peer found to the
// swarm's queue when the topic is joined for lookup; it returns how many
// it found that no round had found before.
func (s *Swarm) topicRound(ctx context.Context, d Discovery, tp *topic) int {
	tp.mu.Lock()
	opts := tp.status.JoinOptions
	tp.started++
	tp.mu.Unlock()
	var l *Lookup
	if opts.Announce {
		l = d.Announce(ctx, tp.status.Topic, 0)
	} else {
		l = d.Lookup(ctx, tp.status.Topic)
	}
	found, fresh := 0, 0
	for f := range l.Found() {
		found++
		if !tp.seen[f.Addr] {
			fresh++
			if len(tp.seen) >= maxFoundPerLookup {
				clear(tp.seen) // bounded: a flood of addresses starts it over
			}
			tp.seen[f.Addr] = true
		}
		if opts.Lookup {
			s.foundPeer(f)
		}
	}
	err := l.Err()
	tp.mu.Lock()
	tp.status.Rounds++
	tp.status.Found += found
	tp.status.Err = err
	close(tp.ended)
	tp.ended = make(chan struct{})
	tp.mu.Unlock()
	if err != nil && ctx.Err() == nil {
		s.log.Debug("topic round failed", "topic", hex.EncodeToString(tp.status.Topic[:4]), "err", err)
	}
	return fresh
}
