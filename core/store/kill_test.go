package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cockroachdb/pebble/v2/vfs"
)

var killCount = flag.Int("store.kills", 24, "kill -9 rounds in TestKill9")

// Environment of the child process that TestHelperProcess becomes.
const (
	envChildDir  = "HSP_STORE_CHILD_DIR"
	envChildSeed = "HSP_STORE_CHILD_SEED"
	envChildFull = "HSP_STORE_CHILD_ENOSPC_AFTER" // see diskfull_test.go
	// envChildReserve sets the child's Options.MinFreeBytes; a child
	// refused with ErrDiskFull prints "refused <core>" and tries again.
	envChildReserve = "HSP_STORE_CHILD_RESERVE"
)

var killCores = []string{"k0", "k1", "k2"}

// killsPerEpoch is how many kills the same cores go through before the
// child moves to new ones (named by HSP_STORE_CHILD_EPOCH), which bounds
// the cost of auditing whole cores after each kill.
const killsPerEpoch = 8

const envChildEpoch = "HSP_STORE_CHILD_EPOCH"

// epochCores returns the names of the cores of one epoch.
func epochCores(epoch string) []string {
	if epoch == "" {
		return killCores
	}
	out := make([]string, len(killCores))
	for i, n := range killCores {
		out[i] = n + "-" + epoch
	}
	return out
}

// TestHelperProcess is not a test: run by TestKill9 (and the ENOSPC test)
// as a child process, it appends to the cores in loop and prints "try
// <core> <end>" before and "ack <core> <length>" after every append.
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(envChildDir)
	if dir == "" {
		t.Skip("helper process of TestKill9")
	}
	seed, _ := strconv.ParseUint(os.Getenv(envChildSeed), 10, 64)
	out := &lineWriter{w: os.Stdout}
	opts := Options{MemTableSize: 512 << 10}
	opts.FS = childFS(&opts, out)
	if v, err := strconv.ParseInt(os.Getenv(envChildReserve), 10, 64); err == nil {
		opts.MinFreeBytes = v
	}
	s, err := Open(context.Background(), dir, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for i, name := range epochCores(os.Getenv(envChildEpoch)) {
		go childAppend(s, name, rand.New(rand.NewPCG(seed, uint64(i))), out)
	}
	time.Sleep(time.Minute) // the parent kills us long before
	os.Exit(4)
}

// childAppend appends to one core until the process dies.
func childAppend(s *Store, name string, r *rand.Rand, out *lineWriter) {
	h, err := s.OpenNamed(context.Background(), name)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for {
		start, n := h.Length(), 1+r.IntN(4)
		out.printf("try %s %d\n", name, start+uint64(n))
		length, err := h.Append(context.Background(), blocksFrom(name, start, n)...)
		if errors.Is(err, ErrDiskFull) {
			out.printf("refused %s\n", name)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(5)
		}
		out.printf("ack %s %d\n", name, length)
	}
}

// lineWriter writes each line with one write(2), so lines never mix.
type lineWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lineWriter) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format, args...)
}

// child is one run of the helper process.
type child struct {
	cmd    *exec.Cmd
	stderr bytes.Buffer
	lines  chan string
}

func startChild(t *testing.T, dir string, seed uint64, env ...string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^TestHelperProcess$"), lines: make(chan string, 1<<16)}
	c.cmd.Env = append(os.Environ(), append(env, envChildDir+"="+dir, fmt.Sprint(envChildSeed, "=", seed))...)
	c.cmd.Stderr = &c.stderr
	stdout, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(c.lines)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
	}()
	return c
}

// record feeds the child's remaining lines into w, until its stdout
// closes, and counts the acknowledged appends.
func (c *child) record(w *writers) (acks int) {
	for line := range c.lines {
		if c.apply(w, line) {
			acks++
		}
	}
	return acks
}

// apply records one line of the child in w and reports whether it
// acknowledged an append.
func (c *child) apply(w *writers, line string) bool {
	f := strings.Fields(line)
	if len(f) != 3 {
		return false
	}
	n, _ := strconv.ParseUint(f[2], 10, 64)
	switch f[0] {
	case "try":
		w.attempt(f[1], n)
	case "ack":
		w.ack(f[1], n)
		return true
	}
	return false
}

// TestKill9 kills a child process appending to three cores with SIGKILL
// at random moments, again and again on the same directory. After each
// kill the store must open, and every core must pass Audit, hold at least
// every acknowledged append and end on a batch boundary.
func TestKill9(t *testing.T) {
	kills := *killCount
	if testing.Short() {
		kills = 5
	}
	seed := testSeed(t)
	rng, dir := rand.New(rand.NewPCG(seed, 1)), t.TempDir()
	var w *writers
	var acks, early int
	for i := range kills {
		epoch := strconv.Itoa(i / killsPerEpoch)
		if i%killsPerEpoch == 0 {
			w = newWriters(epochCores(epoch))
		}
		c := startChild(t, dir, seed+uint64(i), envChildEpoch+"="+epoch)
		time.Sleep(time.Duration(rng.IntN(300_000)) * time.Microsecond)
		c.cmd.Process.Kill()
		n := c.record(w)
		c.cmd.Wait()
		acks += n
		if n == 0 {
			early++
		}
		acked := w.snapshot()
		s := openStore(t, vfs.Default, dir, Options{})
		if err := w.verify(s, acked); err != nil {
			t.Fatalf("after kill %d: %v\nchild stderr: %s", i, err, c.stderr.Bytes())
		}
		s.Close()
	}
	t.Logf("%d kills (%d before the first acknowledged append), %d appends acknowledged; last cores' lengths %v", kills, early, acks, w.snapshot())
}
