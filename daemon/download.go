package daemon

import (
	"context"
	"errors"
	"fmt"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// rangeWait is a download that completes once its blocks are here, however
// they come.
type rangeWait struct {
	done   chan struct{}
	err    error
	cancel context.CancelFunc
}

// waitForRange watches c until every block of r is stored (never, for a
// live range), the wait is cancelled, ctx ends or c closes.
func waitForRange(ctx context.Context, c *core.Hypercore, r rpc.DownloadRange) *rangeWait {
	ctx, cancel := context.WithCancel(ctx)
	w := &rangeWait{done: make(chan struct{}), cancel: cancel}
	go func() {
		defer close(w.done)
		w.err = w.run(ctx, c, r)
	}()
	return w
}

func (w *rangeWait) run(ctx context.Context, c *core.Hypercore, r rpc.DownloadRange) error {
	for {
		changed := c.Changed()
		if !r.Live {
			n, err := c.Downloaded(ctx, r.Start, r.End)
			if err != nil {
				return err
			}
			if n == r.End-r.Start {
				return nil
			}
		}
		select {
		case <-changed:
			if _, err := c.Has(ctx, 0); errors.Is(err, core.ErrClosed) {
				return fmt.Errorf("download: %w", core.ErrClosed)
			}
		case <-ctx.Done():
			return fmt.Errorf("download cancelled: %w", context.Canceled)
		}
	}
}

func (w *rangeWait) Done() <-chan struct{} { return w.done }
func (w *rangeWait) Err() error            { return w.err }
func (w *rangeWait) Cancel()               { w.cancel() }
