package rpc

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc/schema"
)

func limitedPair(t *testing.T, l Limits) *Client {
	return pipeClient(t, NewServer(newMemBackend(), ServerOptions{Limits: l}))
}

func TestLimitOpenCores(t *testing.T) {
	c := limitedPair(t, Limits{Cores: 3})
	ctx := context.Background()
	var open []*RemoteCore
	for range 3 {
		rc, err := c.Open(ctx, OpenRequest{New: true})
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, rc)
	}
	if _, err := c.Open(ctx, OpenRequest{New: true}); !errors.Is(err, ErrLimit) {
		t.Fatalf("a fourth core: %v, want ErrLimit", err)
	}
	open[0].Close()
	if _, err := c.Open(ctx, OpenRequest{New: true}); err != nil {
		t.Fatalf("a core after closing one: %v", err)
	}
}

func TestLimitCallsInProgress(t *testing.T) {
	c := limitedPair(t, Limits{Calls: 2})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	for i := range 2 {
		go func() { // a call that waits for ever, retried if the probe took its slot
			for {
				if _, err := rc.Get(ctx, uint64(10+i), core.GetOptions{}); !errors.Is(err, ErrLimit) {
					return
				}
			}
		}()
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := rc.Get(ctx, 99, core.GetOptions{Timeout: time.Millisecond})
		if errors.Is(err, ErrLimit) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a third waiting call: %v, want ErrLimit", err)
		}
	}
	if _, err := rc.Has(ctx, 0); err != nil {
		t.Fatalf("a quick call at the limit: %v", err)
	}
	cancel()
}

// blockingSink never acknowledges events, like a stalled subscriber.
type blockingSink struct {
	got      chan struct{}
	released chan struct{}
}

func (s *blockingSink) Events(ctx context.Context, call schema.EventSink_events) error {
	select {
	case s.got <- struct{}{}:
	default:
	}
	<-ctx.Done()
	return ctx.Err()
}

func (s *blockingSink) Shutdown() { close(s.released) }

// TestSlowSubscriberDropped: a subscriber that stops acknowledging events is
// dropped after the limit's time, whatever is appended meanwhile.
func TestSlowSubscriberDropped(t *testing.T) {
	c := limitedPair(t, Limits{EventBytes: 64, SlowConsumer: 100 * time.Millisecond})
	ctx := context.Background()
	rc, _ := c.Open(ctx, OpenRequest{New: true})
	sink := &blockingSink{got: make(chan struct{}, 1), released: make(chan struct{})}
	f, release := rc.c.Subscribe(ctx, func(p schema.Core_subscribe_Params) error {
		return p.SetSink(schema.EventSink_ServerToClient(sink))
	})
	defer release()
	if _, err := f.Struct(); err != nil {
		t.Fatal(err)
	}
	// Append in bursts spaced past the event batch window, so that events
	// pile up in the stalled subscriber's window until it is full.
	deadline := time.After(20 * time.Second)
	for dropped := false; !dropped; {
		if _, err := rc.Append(ctx, []byte("x")); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sink.released:
			dropped = true
		case <-deadline:
			t.Fatal("the stalled subscriber was never dropped")
		case <-time.After(2 * eventBatchWindow):
		}
	}
	n := rc.Length()
	if m, err := rc.Append(ctx, []byte("after")); err != nil || m != n+1 {
		t.Fatalf("the core after dropping a subscriber: %v, length %d after %d", err, m, n)
	}
}

// TestRefusedOpenStoresNothing: an open refused for the session's core
// limit never reaches the backend, so nothing is created or recorded.
func TestRefusedOpenStoresNothing(t *testing.T) {
	b := newMemBackend()
	c := pipeClient(t, NewServer(b, ServerOptions{Limits: Limits{Cores: 2}}))
	ctx := context.Background()
	for range 2 {
		if _, err := c.Open(ctx, OpenRequest{New: true}); err != nil {
			t.Fatal(err)
		}
	}
	for range 5 {
		if _, err := c.Open(ctx, OpenRequest{New: true}); !errors.Is(err, ErrLimit) {
			t.Fatalf("an open past the limit: %v", err)
		}
	}
	if st, _ := b.Status(ctx); st.CoresStored != 2 {
		t.Fatalf("%d cores stored after 5 refused opens, want 2", st.CoresStored)
	}
}
