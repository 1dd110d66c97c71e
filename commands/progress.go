package commands

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/schollz/progressbar/v3"
	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// progressEvery is how often a download's progress is asked for, and
// jsonEvery how often --json prints it.
const (
	progressEvery = 100 * time.Millisecond
	jsonEvery     = 250 * time.Millisecond
)

// watch follows one download until it completes: it renders progress (a
// bar on a terminal's stderr, JSON lines under --json) and decides when
// waiting is hopeless (the peers do not have the core).
type watch struct {
	out      *output
	key      rpc.Key
	conns    int
	began    time.Time
	bar      *progressbar.ProgressBar // nil unless stderr is a terminal
	lastJSON time.Time
}

func newWatch(c *cli.Context, key rpc.Key, conns int) *watch {
	w := &watch{out: outputOf(c), key: key, conns: conns, began: time.Now()}
	if f, ok := c.App.ErrWriter.(*os.File); ok && !w.out.json && isatty.IsTerminal(f.Fd()) {
		w.bar = newBar(f)
	}
	return w
}

func newBar(w io.Writer) *progressbar.ProgressBar {
	return progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
		progressbar.OptionSetDescription("waiting for peers"),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("blocks"),
		progressbar.OptionSetPredictTime(true),
		progressbar.OptionThrottle(progressEvery),
		progressbar.OptionFullWidth(),
		progressbar.OptionClearOnFinish(),
		progressbar.OptionSetRenderBlankState(true),
	)
}

// run waits for dl, rendering its progress; a live download runs until
// ctx ends, which then is no error.
func (w *watch) run(ctx context.Context, dl *rpc.Download, live bool) error {
	waited := make(chan error, 1)
	go func() { waited <- dl.Wait(ctx) }()
	tick := time.NewTicker(progressEvery)
	defer tick.Stop()
	var last rpc.DownloadProgress
	for {
		select {
		case err := <-waited:
			if live && ctx.Err() != nil {
				err = nil
			}
			if err != nil {
				w.clear()
				return err
			}
			p, perr := dl.Progress(context.WithoutCancel(ctx))
			if perr != nil {
				p = last
			}
			return w.done(p)
		case <-tick.C:
		}
		p, err := dl.Progress(ctx)
		if err != nil {
			continue // the wait reports what went wrong
		}
		last = p
		if err := w.hopeless(p); err != nil {
			w.clear()
			return err
		}
		if err := w.show(p); err != nil {
			return err
		}
	}
}

// hopeless reports that no connected peer has the core: every one
// refused it, or none opened it within noChannelGrace.
func (w *watch) hopeless(p rpc.DownloadProgress) error {
	if p.Peers > 0 || p.Done {
		return nil
	}
	since := time.Since(w.began)
	if w.conns == 0 { // peers from the DHT only: those connected may be there for other cores
		switch {
		case p.Lookups > 0 && p.Found == 0 && p.Connections == 0:
			return noPeerFound(w.key, p) // nobody to ask, after a whole lookup
		case since <= noChannelGrace:
			return nil
		case p.Found > 0 && p.Unreachable == 0 && p.Connections == 0 && since <= 2*noChannelGrace:
			return nil // the dials of the peers found are still running (10 s each at most)
		case p.Refused > 0 || p.Connections > 0:
			return noPeerHasIt(w.key, p, noChannelGrace)
		case p.Lookups > 0:
			return noPeerFound(w.key, p)
		}
		return nil
	}
	if p.Refused > 0 && p.Refused >= max(uint32(w.conns), p.Connections) {
		return noPeerHasIt(w.key, p, 0)
	}
	if since > noChannelGrace && p.Connections > 0 {
		return noPeerHasIt(w.key, p, noChannelGrace)
	}
	return nil
}

// show renders one progress report.
func (w *watch) show(p rpc.DownloadProgress) error {
	if w.out.json {
		if time.Since(w.lastJSON) < jsonEvery {
			return nil
		}
		w.lastJSON = time.Now()
		return w.out.jsonLine(rpc.ReplicateProgress{Type: "progress", Key: w.key, DownloadProgress: p, ElapsedMs: w.elapsed()})
	}
	if w.bar == nil {
		return nil
	}
	if p.Peers == 0 {
		w.bar.Describe("waiting for peers")
		return nil
	}
	if p.End > p.Start && w.bar.GetMax64() != int64(p.End-p.Start) {
		w.bar.ChangeMax64(int64(p.End - p.Start))
	}
	w.bar.Describe(fmt.Sprintf("%s · %d peer%s", humanBytes(p.DownloadedBytes), p.Peers, plural(int(p.Peers))))
	return w.bar.Set64(int64(p.Have))
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func (w *watch) elapsed() uint64 { return uint64(time.Since(w.began).Milliseconds()) }

func (w *watch) clear() {
	if w.bar != nil {
		w.bar.Clear()
	}
}

// done prints the result of a completed download.
func (w *watch) done(p rpc.DownloadProgress) error {
	if w.bar != nil {
		w.bar.Finish()
	}
	res := rpc.ReplicateDone{
		Type: "done", Key: w.key, Start: p.Start, End: p.End, Have: p.Have,
		DownloadedBlocks: p.DownloadedBlocks, DownloadedBytes: p.DownloadedBytes,
		Peers: p.Peers, ElapsedMs: w.elapsed(),
	}
	return w.out.result(res, func(out io.Writer) {
		secs := float64(res.ElapsedMs) / 1000
		w.out.key.Fprint(out, res.Key)
		fmt.Fprintf(out, ": blocks [%d, %d) stored; downloaded %d blocks, %s, from %d peer%s in %.1fs",
			res.Start, res.End, res.DownloadedBlocks, humanBytes(res.DownloadedBytes), res.Peers, plural(int(res.Peers)), secs)
		if secs > 0 && res.DownloadedBytes > 0 {
			fmt.Fprintf(out, " (%s/s)", humanBytes(uint64(float64(res.DownloadedBytes)/secs)))
		}
		fmt.Fprintln(out)
	})
}
