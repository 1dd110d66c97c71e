package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/rpc"
)

// What the hsp side of the DHT workloads times: the download that B's rpc
// client asks for, its first peer-add event of the core, and the run of
// `hsp --json replicate KEY`.

// rpcRun is one download by key through an rpc client, as timed by the
// bench.
type rpcRun struct {
	elapsed   time.Duration // the first open → every block stored and synced
	firstPeer time.Duration // the first open → the first peer-add event
}

// replicateByRPC has c's daemon download key, making the calls `hsp
// replicate KEY` makes (commands/replicate.go): open the core by key,
// recording it; a download to the peers' length that discovers (the
// daemon joins the core's topic for lookup); wait until every block is
// verified and synced. The command also polls the download's progress to
// render it, which this leaves out, as JS's side has nothing to render.
// The first peer comes from a second open of the core, subscribed to its
// events before the download starts and closed at the first peer-add, so
// that the daemon does not send this client the download's events.
func replicateByRPC(ctx context.Context, c *rpc.Client, key core.Key) (rpcRun, error) {
	start := time.Now()
	pw, err := watchFirstPeer(ctx, c, key)
	if err != nil {
		return rpcRun{}, err
	}
	defer pw.close()
	rc, err := c.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		return rpcRun{}, fmt.Errorf("the downloader's daemon: open %s: %w", key, err)
	}
	defer rc.Close()
	dl, err := rc.DownloadRange(ctx, rpc.DownloadRange{Discover: true, ToPeers: true})
	if err != nil {
		return rpcRun{}, fmt.Errorf("the downloader's daemon: download %s: %w", key, err)
	}
	defer dl.Release()
	if err := dl.Wait(ctx); err != nil {
		return rpcRun{}, fmt.Errorf("the downloader's daemon: download %s: %w", key, err)
	}
	run := rpcRun{elapsed: time.Since(start)}
	peerAt, ok := pw.wait(5 * time.Second) // the event may trail the wait a little
	if !ok {
		return rpcRun{}, fmt.Errorf("the downloader's daemon sent no peer-add event for %s, yet its download completed", key)
	}
	run.firstPeer = peerAt.Sub(start)
	return run, nil
}

// peerWatch records when a daemon's first peer-add event of a core came
// (both sides opened the core's channel, as hypercore's 'peer-open').
type peerWatch struct {
	rc    *rpc.RemoteCore
	once  sync.Once
	at    time.Time
	added chan struct{} // closed at the first peer-add
	gone  chan struct{} // closed once rc is closed
}

// watchFirstPeer opens key through c (recording it, empty) and subscribes
// to its events. Once the first peer-add came, the core is closed, so that
// the daemon stops sending the download's events.
func watchFirstPeer(ctx context.Context, c *rpc.Client, key core.Key) (*peerWatch, error) {
	rc, err := c.Open(ctx, rpc.OpenRequest{Key: &key})
	if err != nil {
		return nil, fmt.Errorf("the downloader's daemon: open %s: %w", key, err)
	}
	w := &peerWatch{rc: rc, added: make(chan struct{}), gone: make(chan struct{})}
	rc.OnEvent(func(ev rpc.Event) {
		if ev.Type == "peer-add" {
			w.once.Do(func() { w.at = time.Now(); close(w.added) })
		}
	})
	// The subscribe is pipelined: a call after it reaches the daemon after
	// it, so once this one is answered the daemon has the subscription.
	if _, err := rc.Info(ctx); err != nil {
		w.close()
		return nil, fmt.Errorf("the downloader's daemon: subscribe to %s: %w", key, err)
	}
	go func() { // not in the event callback: Close waits for an answer
		select {
		case <-w.added:
		case <-w.gone:
			return
		}
		w.rc.Close()
	}()
	return w, nil
}

// wait returns the time of the first peer-add, waiting at most limit.
func (w *peerWatch) wait(limit time.Duration) (time.Time, bool) {
	select {
	case <-w.added:
		return w.at, true
	case <-time.After(limit):
		return time.Time{}, false
	}
}

func (w *peerWatch) close() {
	select {
	case <-w.gone:
		return
	default:
	}
	close(w.gone)
	w.rc.Close()
}

// replRun is one `hsp --json replicate KEY`, as timed by the bench.
type replRun struct {
	start         time.Time
	elapsed       time.Duration // exec → exit 0
	firstProgress time.Duration // exec → the first progress line with a peer; 0 for none
	done          replicateDone
	stdout        string
}

// replicateByKey runs `hsp --home home --json replicate KEY` (no --peer:
// the daemon finds the peers on the DHT) and times it from the exec to
// its exit 0, noting when each line of its output came.
func replicateByKey(ctx context.Context, bin, home string, key core.Key) (replRun, error) {
	args := []string{"--home", home, "--json", "replicate", key.String(), "--timeout", "300s"}
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return replRun{}, fmt.Errorf("hsp replicate: %w", err)
	}
	run := replRun{start: time.Now()}
	if err := cmd.Start(); err != nil {
		return replRun{}, fmt.Errorf("hsp replicate: %w", err)
	}
	lines := readTimedLines(out, run.start)
	err = cmd.Wait()
	run.elapsed = time.Since(run.start)
	run.stdout = joinLines(lines)
	if err != nil {
		what := ""
		if cmd.ProcessState != nil && cmd.ProcessState.ExitCode() == 7 {
			what = " (exit 7: unavailable)"
		}
		return replRun{}, fmt.Errorf("hsp %s: %w%s: %s %s", strings.Join(args, " "), err, what, tail(stderr.String(), 1500), tail(run.stdout, 500))
	}
	run.firstProgress, run.done = parseReplicateLines(lines)
	return run, nil
}

// timedLine is a line of output and when it came, since the exec.
type timedLine struct {
	at   time.Duration
	text string
}

// readTimedLines reads r to its end, noting when each line came.
func readTimedLines(r io.Reader, start time.Time) []timedLine {
	var lines []timedLine
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		lines = append(lines, timedLine{time.Since(start), sc.Text()})
	}
	io.Copy(io.Discard, r) // a line past the buffer: drain, so that the command can exit
	return lines
}

func joinLines(lines []timedLine) string {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l.text)
		b.WriteByte('\n')
	}
	return b.String()
}

// parseReplicateLines finds, in the JSON lines of `hsp --json replicate`,
// when the first progress record with peers ≥ 1 came (0 when none did:
// a download shorter than the first tick prints none) and the last done
// record.
func parseReplicateLines(lines []timedLine) (time.Duration, replicateDone) {
	var first time.Duration
	var done replicateDone
	for _, l := range lines {
		var rec struct {
			Type  string `json:"type"`
			Peers uint32 `json:"peers"`
		}
		if json.Unmarshal([]byte(l.text), &rec) != nil {
			continue
		}
		switch {
		case rec.Type == "progress" && rec.Peers > 0 && first == 0:
			first = l.at
		case rec.Type == "done":
			json.Unmarshal([]byte(l.text), &done)
		}
	}
	return first, done
}
