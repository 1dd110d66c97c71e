package swarm

import (
	"context"
	"crypto/rand"
	"testing"
	"time"

	"github.com/hspd/hsp/swarm/dht"
)

func topicSwarm(t *testing.T, boot string, timing TopicTiming) *Swarm {
	t.Helper()
	s := newSwarm(t, Options{DHT: &dht.Options{Bootstrap: []string{boot}}, Topics: timing})
	start(t, s)
	waitBootstrapped(t, s)
	return s
}

// TestJoinConnects: A announces a topic, B looks it up and connects to A;
// after A leaves, the topic is gone from the DHT.
func TestJoinConnects(t *testing.T) {
	boot := dhtSeed(t)
	a := topicSwarm(t, boot, TopicTiming{})
	var tp [32]byte
	rand.Read(tp[:])
	if err := a.Join(tp, JoinOptions{Announce: true}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "A's announce round", func() bool { return roundsOf(a, tp) >= 1 })

	b := topicSwarm(t, boot, TopicTiming{})
	must(t, b.Join(tp, JoinOptions{Lookup: true}))
	eventually(t, "B connected to A", func() bool { return len(b.Conns()) == 1 && len(a.Conns()) == 1 })
	if st := b.Topics(); len(st) != 1 || st[0].Found != 1 || !st[0].Lookup || st[0].Announce {
		t.Fatalf("B's topics: %+v", st)
	}

	must(t, a.Leave(context.Background(), tp))
	if len(a.Topics()) != 0 {
		t.Fatalf("A still lists %+v", a.Topics())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l := b.Discovery().Lookup(ctx, tp)
	for f := range l.Found() {
		t.Fatalf("found %+v after A left", f)
	}
}

// TestRefreshSpacing: Refresh runs a round soon, no sooner than the
// refresh spacing, doubling while rounds find nobody.
func TestRefreshSpacing(t *testing.T) {
	boot := dhtSeed(t)
	s := topicSwarm(t, boot, TopicTiming{RefreshMin: 200 * time.Millisecond, RefreshMax: 400 * time.Millisecond})
	var tp [32]byte
	rand.Read(tp[:])
	must(t, s.Join(tp, JoinOptions{Lookup: true}))
	// Spacings 200, 400, 400 ms at least.
	if d := refreshedRounds(t, s, tp); d < 900*time.Millisecond || d > 5*time.Second {
		t.Fatalf("three refreshed rounds took %v, want about 1 s", d)
	}
}

func TestJoinWithoutDHT(t *testing.T) {
	s := newSwarm(t, Options{})
	must(t, s.Listen())
	if err := s.Join([32]byte{1}, JoinOptions{Lookup: true}); err != ErrNoDiscovery {
		t.Fatalf("Join without a DHT: %v", err)
	}
}

// refreshedRounds waits for tp's first round, then asks for rounds with
// Refresh until three more ended, and returns how long they took.
func refreshedRounds(t *testing.T, s *Swarm, tp [32]byte) time.Duration {
	t.Helper()
	eventually(t, "the first round", func() bool { return roundsOf(s, tp) == 1 })
	start := time.Now()
	for roundsOf(s, tp) < 4 {
		s.Refresh(tp)
		time.Sleep(5 * time.Millisecond)
	}
	return time.Since(start)
}

func roundsOf(s *Swarm, tp [32]byte) int {
	for _, st := range s.Topics() {
		if st.Topic == tp {
			return st.Rounds
		}
	}
	return 0
}

// TestRefreshSpacingWithAKnownPeer: rounds that find only the peer found
// before (connected or not) back off as rounds that find nobody do.
func TestRefreshSpacingWithAKnownPeer(t *testing.T) {
	boot := dhtSeed(t)
	a := topicSwarm(t, boot, TopicTiming{})
	var tp [32]byte
	rand.Read(tp[:])
	must(t, a.Join(tp, JoinOptions{Announce: true}))
	eventually(t, "A's announce round", func() bool { return roundsOf(a, tp) >= 1 })
	s := topicSwarm(t, boot, TopicTiming{RefreshMin: 200 * time.Millisecond, RefreshMax: 800 * time.Millisecond})
	must(t, s.Join(tp, JoinOptions{Lookup: true}))
	// Spacings 200, 400, 800 ms: A is found every time, but never anew.
	if d := refreshedRounds(t, s, tp); d < 1300*time.Millisecond || d > 8*time.Second {
		t.Fatalf("three refreshed rounds took %v, want about 1.4 s", d)
	}
	if st := s.Topics(); st[0].Found < 4 {
		t.Fatalf("the rounds found %d peers in all, want A each time", st[0].Found)
	}
}
