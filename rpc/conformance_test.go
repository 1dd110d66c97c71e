package rpc

import (
	"context"
	"testing"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/coretest"
)

// TestConformanceRemote runs core's conformance suite against RemoteCore,
// through a Cap'n Proto connection to a server.
func TestConformanceRemote(t *testing.T) {
	b := newMemBackend()
	srv := NewServer(b, ServerOptions{})
	client := pipeClient(t, srv)
	coretest.Run(t, coretest.Factory{
		NewWritable: func(t *testing.T) core.Core {
			c, err := client.Open(context.Background(), OpenRequest{New: true})
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		Reopen: func(t *testing.T, c core.Core) core.Core {
			key := c.Key()
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			again, err := client.Open(context.Background(), OpenRequest{Key: &key})
			if err != nil {
				t.Fatal(err)
			}
			return again
		},
	})
}
