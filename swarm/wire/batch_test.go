package wire

import (
	"bytes"
	"errors"
	"testing"
)

// TestSendBatch: a batch arrives in order, over several writes when it is
// large; messages refused (a Close, a Want on channel 0) or for a closed
// channel are skipped with their errors set, and the rest still go out.
func TestSendBatch(t *testing.T) {
	a, b := pipePair(t, Config{}, Config{})
	k1, k2 := testKey(7), testKey(8)
	c1, c2 := openChannel(t, a, k1), openChannel(t, a, k2)
	b1, b2 := openChannel(t, b, k1), openChannel(t, b, k2)
	wantKind(t, a, EventChannelReady)
	wantKind(t, a, EventChannelReady)
	wantKind(t, b, EventChannelReady)
	wantKind(t, b, EventChannelReady)
	must(t, c2.Close())
	wantEvents(t, b, Event{Kind: EventChannelClosed, Channel: b2})
	big := bytes.Repeat([]byte{7}, 3*batchBytes/2)
	msgs := []Outgoing{
		{Channel: c1, Message: Have{Start: 1}},
		{Channel: c2, Message: Have{Start: 2}}, // closed
		{Channel: c1, Message: Close{}},        // refused
		{Message: Want{}},                      // refused on channel 0
		{Message: Extension{ID: 3, Payload: []byte("s")}},
		{Channel: c1, Message: Extension{ID: 1, Payload: big}},
		{Channel: c1, Message: Have{Start: 3}},
	}
	errs := make([]error, len(msgs))
	done := make(chan error, 1)
	go func() { done <- a.SendBatch(msgs, errs) }()
	wantEvents(t, b,
		Event{Kind: EventMessage, Channel: b1, Message: Have{Start: 1}},
		Event{Kind: EventMessage, Message: Extension{ID: 3, Payload: []byte("s")}},
		Event{Kind: EventMessage, Channel: b1, Message: Extension{ID: 1, Payload: big}},
		Event{Kind: EventMessage, Channel: b1, Message: Have{Start: 3}})
	must(t, <-done)
	for i, err := range errs {
		if bad := i >= 1 && i <= 3; (err != nil) != bad {
			t.Errorf("message %d: error %v", i, err)
		}
	}
	if !errors.Is(errs[1], ErrChannelClosed) {
		t.Errorf("closed channel: %v", errs[1])
	}
}
