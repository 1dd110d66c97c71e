package store

import (
	"context"
	"testing"

	"github.com/cockroachdb/pebble/v2/vfs"
	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/core/coretest"
)

// TestConformance runs core's conformance suite on cores in this store,
// each in its own database on disk; Reopen closes the whole store and opens
// the core again from the files.
func TestConformance(t *testing.T) {
	dirs := map[core.Core]string{}
	coretest.Run(t, coretest.Factory{
		NewWritable: func(t *testing.T) core.Core {
			dir := t.TempDir()
			h, err := openStore(t, vfs.Default, dir, Options{}).Create(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			dirs[h] = dir
			return h
		},
		Reopen: func(t *testing.T, c core.Core) core.Core {
			h := c.(*Handle)
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			if err := h.e.s.Close(); err != nil {
				t.Fatal(err)
			}
			again, err := openStore(t, vfs.Default, dirs[c], Options{}).OpenKey(context.Background(), c.Key())
			if err != nil {
				t.Fatal(err)
			}
			return again
		},
	})
}
