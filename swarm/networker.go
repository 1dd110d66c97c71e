package swarm

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Owner names who configured a topic on a Networker: an RPC session, a
// download, the daemon's seeds. Each owner's configuration lasts until
// it changes it or is released.
type Owner uint64

// Memory keeps a Networker's remembered configurations across restarts;
// the daemon implements it over its store (the swarm never touches a
// database). Each call is durable when it returns.
type Memory interface {
	// Load returns every remembered configuration.
	Load(ctx context.Context) ([]Remembered, error)
	// Remember records topic's configuration, replacing any.
	Remember(ctx context.Context, topic [32]byte, opts JoinOptions) error
	// Forget deletes topic's configuration; forgetting none is no error.
	Forget(ctx context.Context, topic [32]byte) error
}

// Remembered is one configuration a Memory keeps.
type Remembered struct {
	Topic [32]byte
	JoinOptions
}

// Config is what an owner configures a topic for.
type Config struct {
	JoinOptions
	// Remember makes this configuration the topic's remembered one, kept
	// across restarts and in force with no owner. Without it a join is
	// the owner's alone. A leave (both flags false) forgets the
	// remembered one, whatever Remember says: it is deleted, so the
	// topic does not come back at the next start.
	Remember bool
}

// NetStatus is a topic as a Networker has it configured.
type NetStatus struct {
	// Effective is the OR of every owner's flags and the remembered ones.
	Effective JoinOptions
	// Remembered is the remembered configuration, if any.
	Remembered *JoinOptions
	// Owners counts the owners that configured the topic.
	Owners int
}

// Networker decides which topics the swarm joins, for what: the OR of
// what each owner configured and of what is remembered (§7 of
// hyperswarm2.md). Configurations are serialised; the swarm follows
// each change before Configure returns, a leave's unannounce aside
// (bounded by TopicTiming.Unannounce).
type Networker struct {
	sw  *Swarm
	mem Memory

	mu     sync.Mutex
	topics map[[32]byte]*netTopic
}

// netTopic is one topic's configurations.
type netTopic struct {
	owners     map[Owner]JoinOptions
	remembered *JoinOptions
	joined     JoinOptions // what the swarm was last asked to join it for
}

func (t *netTopic) effective() JoinOptions {
	var out JoinOptions
	if t.remembered != nil {
		out = *t.remembered
	}
	for _, o := range t.owners {
		out.Announce = out.Announce || o.Announce
		out.Lookup = out.Lookup || o.Lookup
	}
	return out
}

// NewNetworker returns a Networker joining topics on sw and remembering
// configurations in mem (nil remembers nothing).
func NewNetworker(sw *Swarm, mem Memory) *Networker {
	return &Networker{sw: sw, mem: mem, topics: map[[32]byte]*netTopic{}}
}

// Rejoin joins every remembered topic, lookup-only ones too; the daemon
// calls it once the swarm listens. It returns how many it joined.
func (n *Networker) Rejoin(ctx context.Context) (int, error) {
	if n.mem == nil {
		return 0, nil
	}
	all, err := n.mem.Load(ctx)
	if err != nil {
		return 0, fmt.Errorf("rejoin: load the remembered topics: %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	joined := 0
	var errs []error
	for _, r := range all {
		if !r.Announce && !r.Lookup {
			continue
		}
		t := n.topic(r.Topic)
		opts := r.JoinOptions
		t.remembered = &opts
		if _, err := n.apply(r.Topic, t); err != nil {
			errs = append(errs, fmt.Errorf("rejoin: %w", err))
			continue
		}
		joined++
	}
	return joined, errors.Join(errs...)
}

func (n *Networker) topic(k [32]byte) *netTopic {
	t := n.topics[k]
	if t == nil {
		t = &netTopic{owners: map[Owner]JoinOptions{}}
		n.topics[k] = t
	}
	return t
}

// Configure sets owner's configuration of topic (both flags false drops
// it), remembers or forgets it as cfg says, and has the swarm follow the
// topic's effective flags.
func (n *Networker) Configure(ctx context.Context, owner Owner, topic [32]byte, cfg Config) error {
	n.mu.Lock()
	t := n.topic(topic)
	if err := n.remember(ctx, t, topic, cfg); err != nil {
		n.tidy(topic, t)
		n.mu.Unlock()
		return err
	}
	if cfg.Announce || cfg.Lookup {
		t.owners[owner] = cfg.JoinOptions
	} else {
		delete(t.owners, owner)
	}
	stop, err := n.apply(topic, t)
	n.mu.Unlock()
	n.unannounced(topic, stop(ctx))
	return err
}

// unannounced logs a leave's unannounce that failed: it is best effort
// (the records expire by themselves).
func (n *Networker) unannounced(topic [32]byte, err error) {
	if err != nil {
		n.sw.log.Debug("unannounce", "topic", fmt.Sprintf("%x", topic[:4]), "err", err)
	}
}

// remember writes or deletes topic's remembered configuration.
func (n *Networker) remember(ctx context.Context, t *netTopic, topic [32]byte, cfg Config) error {
	join := cfg.Announce || cfg.Lookup
	switch {
	case n.mem == nil:
		if cfg.Remember && join {
			return errors.New("remember: this networker has no memory")
		}
		return nil
	case cfg.Remember && join:
		if err := n.mem.Remember(ctx, topic, cfg.JoinOptions); err != nil {
			return fmt.Errorf("remember %x: %w", topic[:4], err)
		}
		opts := cfg.JoinOptions
		t.remembered = &opts
	case t.remembered != nil && !join:
		if err := n.mem.Forget(ctx, topic); err != nil {
			return fmt.Errorf("forget %x: %w", topic[:4], err)
		}
		t.remembered = nil
	}
	return nil
}

// Release drops every configuration of owner (its session ended, its
// download finished); remembered configurations stay.
func (n *Networker) Release(ctx context.Context, owner Owner) error {
	n.mu.Lock()
	stops := map[[32]byte]func(context.Context) error{}
	var errs []error
	for k, t := range n.topics {
		if _, ok := t.owners[owner]; !ok {
			continue
		}
		delete(t.owners, owner)
		stop, err := n.apply(k, t)
		stops[k] = stop
		errs = append(errs, err)
	}
	n.mu.Unlock()
	var wg sync.WaitGroup
	for k, stop := range stops {
		wg.Go(func() { n.unannounced(k, stop(ctx)) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// apply has the swarm follow t's effective flags; a leave is detached
// under n.mu, and the returned stop (never nil) ends it outside.
func (n *Networker) apply(k [32]byte, t *netTopic) (stop func(context.Context) error, err error) {
	opts := t.effective()
	if !opts.Announce && !opts.Lookup {
		n.tidy(k, t)
		return n.sw.detach(k), nil
	}
	if opts == t.joined {
		return noStop, nil // no new round for the same flags
	}
	if err := n.sw.Join(k, opts); err != nil {
		return noStop, fmt.Errorf("join %x: %w", k[:4], err)
	}
	t.joined = opts
	return noStop, nil
}

func noStop(context.Context) error { return nil }

// tidy forgets a topic nobody configures.
func (n *Networker) tidy(k [32]byte, t *netTopic) {
	if len(t.owners) == 0 && t.remembered == nil {
		delete(n.topics, k)
	}
}

// Status tells how topic is configured.
func (n *Networker) Status(topic [32]byte) NetStatus {
	n.mu.Lock()
	defer n.mu.Unlock()
	t := n.topics[topic]
	if t == nil {
		return NetStatus{}
	}
	st := NetStatus{Effective: t.effective(), Owners: len(t.owners)}
	if t.remembered != nil {
		r := *t.remembered
		st.Remembered = &r
	}
	return st
}

// Configured lists every configured topic.
func (n *Networker) Configured() map[[32]byte]NetStatus {
	n.mu.Lock()
	keys := make([][32]byte, 0, len(n.topics))
	for k := range n.topics {
		keys = append(keys, k)
	}
	n.mu.Unlock()
	out := make(map[[32]byte]NetStatus, len(keys))
	for _, k := range keys {
		out[k] = n.Status(k)
	}
	return out
}
