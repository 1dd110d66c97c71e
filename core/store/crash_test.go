package store

import (
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

// roundsPerEpoch is how many power losses the same cores go through.
const roundsPerEpoch = 12

var (
	crashRounds = flag.Int("store.crashes", 60, "power losses simulated by TestPowerLoss")
	crashSeed   = flag.Uint64("store.seed", 0, "seed of the randomised crash tests (0: from the clock)")
)

func testSeed(t *testing.T) uint64 {
	seed := *crashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (rerun with -store.seed=%d)", seed, seed)
	return seed
}

// TestPowerLoss simulates power losses at random moments while four
// goroutines append to four cores, on pebble's crashable in-memory
// filesystem: each crash keeps what was synced and a random share of what
// was not. After each one the store must open, and every core must pass
// Audit, hold every append acknowledged before the crash and end on a batch
// boundary. The next round writes on the crashed filesystem, so recovery
// itself is crashed too. Small memtables make flushes and compactions
// happen during the rounds. Every coresPerEpoch rounds the writers move to
// four new cores, which bounds the cost of auditing whole cores.
func TestPowerLoss(t *testing.T) {
	rounds := *crashRounds
	if testing.Short() {
		rounds = 8
	}
	seed := testSeed(t)
	rng := rand.New(rand.NewPCG(seed, 0))
	fs := vfs.NewCrashableMem()
	var w *writers
	opts := Options{MemTableSize: 256 << 10, MinFreeBytes: -1}
	for round := range rounds {
		if round%roundsPerEpoch == 0 {
			e := round / roundsPerEpoch
			w = newWriters([]string{fmt.Sprint("p0-", e), fmt.Sprint("p1-", e), fmt.Sprint("p2-", e), fmt.Sprint("p3-", e)})
		}
		s := openStore(t, fs, "db", opts)
		w.start(t, s, seed+uint64(round))
		time.Sleep(time.Duration(rng.IntN(20_000)) * time.Microsecond)
		acked := w.snapshot()
		crashed := fs.CrashClone(vfs.CrashCloneCfg{UnsyncedDataPercent: rng.IntN(101), RNG: rng})
		w.halt()
		s.Close()
		if err := w.wait(); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		s = openStore(t, crashed, "db", opts)
		if err := w.verify(s, acked); err != nil {
			t.Fatalf("round %d, after the power loss: %v", round, err)
		}
		s.Close()
		fs = crashed
	}
	blobs := countBlobFiles(t, fs)
	if blobs == 0 && !testing.Short() {
		t.Error("no blob file was written: value separation went untested")
	}
	t.Logf("%d power losses; %d blob files; last cores' lengths %v", rounds, blobs, w.snapshot())
}

// countBlobFiles counts pebble's blob files (separated values) in db.
func countBlobFiles(t *testing.T, fs vfs.FS) int {
	names, err := fs.List("db")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, name := range names {
		if strings.HasSuffix(name, ".blob") {
			n++
		}
	}
	return n
}
