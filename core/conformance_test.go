package core_test

import (
	"context"
	"crypto/rand"
	"testing"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/coretest"
)

func TestConformanceMemory(t *testing.T) {
	stores := map[core.Core]*core.MemoryStorage{}
	keys := map[core.Core]core.KeyPair{}
	coretest.Run(t, coretest.Factory{
		NewWritable: func(t *testing.T) core.Core {
			kp, err := core.GenerateKeyPair(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			st := core.NewMemoryStorage()
			c, err := core.Open(context.Background(), st, kp)
			if err != nil {
				t.Fatal(err)
			}
			stores[c], keys[c] = st, kp
			return c
		},
		Reopen: func(t *testing.T, c core.Core) core.Core {
			if err := c.Close(); err != nil {
				t.Fatal(err)
			}
			again, err := core.Open(context.Background(), stores[c].Reopen(), keys[c])
			if err != nil {
				t.Fatal(err)
			}
			return again
		},
	})
}
