package rpc

import (
	"context"
	"errors"
	"time"

	"github.com/hspd/hsp/rpc/schema"
)

// Bounds of a subscription's network events: at most eventQueue wait to
// be sent (past it the subscriber is dropped as too slow), at most
// eventBatch go in one message.
const (
	eventQueue = 8192
	eventBatch = 512
)

// forwardEvents sends a core's network events to sink, in order and in
// batches, until ctx ends or the subscriber falls too far behind (then
// drop ends the whole subscription).
func forwardEvents(ctx context.Context, drop context.CancelFunc, es EventSource, sink schema.EventSink, slow time.Duration) {
	defer sink.Release()
	q := make(chan Event, eventQueue)
	stop := es.Follow(func(ev Event) {
		select {
		case q <- ev:
		default:
			drop() // the subscriber cannot keep up; it is not allowed to hold memory
		}
	})
	defer stop()
	for {
		var batch []Event
		select {
		case ev := <-q:
			batch = append(batch, ev)
		case <-ctx.Done():
			return
		}
	more:
		for len(batch) < eventBatch {
			select {
			case ev := <-q:
				batch = append(batch, ev)
			default:
				break more
			}
		}
		watchdog := time.AfterFunc(slow, drop)
		err := sendEvents(ctx, sink, batch)
		watchdog.Stop()
		if err != nil {
			return
		}
	}
}

func sendEvents(ctx context.Context, sink schema.EventSink, events []Event) error {
	return sink.Events(ctx, func(p schema.EventSink_events_Params) error {
		list, err := p.NewEvents(int32(len(events)))
		if err != nil {
			return err
		}
		for i, ev := range events {
			if err := writeEvent(list.At(i), ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// writeEvent writes a network event (appends have their own path).
func writeEvent(out schema.Event, ev Event) error {
	switch ev.Type {
	case "download":
		out.SetDownload()
		out.Download().SetIndex(ev.Index)
		out.Download().SetBytes(ev.Bytes)
	case "upload":
		out.SetUpload()
		out.Upload().SetUploadIndex(ev.Index)
		out.Upload().SetUploadBytes(ev.Bytes)
	case "peer-add", "peer-remove":
		if ev.Peer == nil {
			return errors.New("write event: a peer event without its peer")
		}
		var p schema.Peer
		var err error
		if ev.Type == "peer-add" {
			p, err = out.NewPeerAdd()
		} else {
			p, err = out.NewPeerRemove()
		}
		if err != nil {
			return err
		}
		return writePeer(p, *ev.Peer)
	default:
		return errors.New("write event: unknown type " + ev.Type)
	}
	return nil
}
