package daemon

import (
	"context"
	"testing"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/coretest"
	"github.com/hspd/hsp/rpc"
)

// replica is the conformance suite's core whose source is a second
// daemon: it is read through daemon B, where it is sparse and every block
// comes from daemon A over the swarm; appends go to A, and return once B
// has learnt the new length from A (as a reader's append would be seen).
type replica struct {
	*rpc.RemoteCore                 // on B
	src             *rpc.RemoteCore // on A, the writer
}

func (r replica) Append(ctx context.Context, blocks ...[]byte) (uint64, error) {
	n, err := r.src.Append(ctx, blocks...)
	if err != nil || len(blocks) == 0 {
		return n, err
	}
	return r.RemoteCore.Update(ctx, n)
}

func (r replica) Close() error {
	r.src.Close()
	return r.RemoteCore.Close()
}

// TestConformanceReplica runs the core conformance suite against
// RemoteCore on a sparse core whose source is a second daemon.
func TestConformanceReplica(t *testing.T) {
	_, ca, addrA := swarmDaemon(t)
	_, cb, _ := swarmDaemon(t)
	ctx := context.Background()
	if _, err := cb.Connect(ctx, addrA); err != nil {
		t.Fatal(err)
	}
	coretest.Run(t, coretest.Factory{
		NewWritable: func(t *testing.T) core.Core {
			src, err := ca.Open(ctx, rpc.OpenRequest{New: true})
			if err != nil {
				t.Fatal(err)
			}
			key := src.Key()
			rc, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			return replica{RemoteCore: rc, src: src}
		},
		Reopen: func(t *testing.T, c core.Core) core.Core {
			r := c.(replica)
			key := r.Key()
			if err := r.RemoteCore.Close(); err != nil {
				t.Fatal(err)
			}
			rc, err := cb.Open(ctx, rpc.OpenRequest{Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			return replica{RemoteCore: rc, src: r.src}
		},
		Replica: true,
	})
}
