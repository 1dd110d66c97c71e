package rpc

import (
	"context"
	"fmt"

	"github.com/hspd/hsp/rpc/schema"
)

// Batch sizes of RemoteCore.Read: how much one round trip asks for.
const (
	readBatchBlocks = 1024
	readBatchBytes  = 4 << 20
)

// Read calls fn with blocks [start, end) in order, many per round trip, and
// two round trips in flight. end 0 means the core's length when Read
// starts; with live, Read then follows new appends until ctx ends or fn
// returns an error.
func (r *RemoteCore) Read(ctx context.Context, start, end uint64, live bool, fn func(index uint64, block []byte) error) error {
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Read(ctx, func(p schema.Core_read_Params) error {
		p.SetStart(start)
		p.SetEnd(end)
		p.SetLive(live)
		return nil
	})
	defer release()
	cursor := f.Cursor()
	next := func() (schema.Cursor_next_Results_Future, func()) {
		nf, rel := cursor.Next(ctx, func(p schema.Cursor_next_Params) error {
			p.SetMaxBlocks(readBatchBlocks)
			p.SetMaxBytes(readBatchBytes)
			return nil
		})
		return nf, rel
	}
	pending, rel := next()
	for {
		ahead, relAhead := next() // keep a second request in flight
		done, err := r.deliverBatch(ctx, pending, fn)
		rel()
		if err != nil || done {
			relAhead()
			return err
		}
		pending, rel = ahead, relAhead
	}
}

func (r *RemoteCore) deliverBatch(ctx context.Context, f schema.Cursor_next_Results_Future, fn func(uint64, []byte) error) (bool, error) {
	res, err := f.Struct()
	if err != nil {
		return false, r.result(ctx, "read", err)
	}
	list, err := res.Blocks()
	if err != nil {
		return false, fmt.Errorf("read: %w", err)
	}
	for i := range list.Len() {
		b, err := list.At(i)
		if err != nil {
			return false, fmt.Errorf("read: %w", err)
		}
		if err := fn(res.Start()+uint64(i), b); err != nil {
			return false, err
		}
	}
	return res.Done(), nil
}

// Download is a range of blocks the daemon was asked to fetch.
type Download struct {
	r *RemoteCore
	d schema.Download
}

// Download asks the daemon to fetch [start, end) from peers (end 0 means
// the core's length; with live, everything, for good). A range whose
// blocks are all here is complete at once.
func (r *RemoteCore) Download(ctx context.Context, start, end uint64, live bool) (*Download, error) {
	return r.DownloadRange(ctx, DownloadRange{Start: start, End: end, Live: live})
}

// DownloadRange asks the daemon to fetch a range; see DownloadRange (with
// ToPeers, the range ends at the longest length a peer announces).
func (r *RemoteCore) DownloadRange(ctx context.Context, dr DownloadRange) (*Download, error) {
	start, end := dr.Start, dr.End
	ctx, cancel := r.call(ctx)
	defer cancel()
	f, release := r.c.Download(ctx, func(p schema.Core_download_Params) error {
		p.SetStart(dr.Start)
		p.SetEnd(dr.End)
		p.SetLive(dr.Live)
		p.SetToPeers(dr.ToPeers)
		p.SetDiscover(dr.Discover)
		return nil
	})
	return await(fmt.Sprintf("download [%d, %d)", start, end), r.fail(ctx), f.Struct, release, func(res schema.Core_download_Results) (*Download, error) {
		return &Download{r: r, d: res.Download().AddRef()}, nil
	})
}

// Wait returns once every block of the range is here.
func (d *Download) Wait(ctx context.Context) error {
	ctx, cancel := d.r.call(ctx)
	defer cancel()
	f, release := d.d.Wait(ctx, nil)
	_, err := await("wait for download", d.r.fail(ctx), f.Struct, release, nothing)
	return err
}

// Cancel undownloads the range; a Wait in progress fails with
// context.Canceled.
func (d *Download) Cancel(ctx context.Context) error {
	f, release := d.d.Cancel(ctx, nil)
	_, err := await("cancel download", d.r.fail(ctx), f.Struct, release, nothing)
	return err
}

// Progress tells how far the download is.
func (d *Download) Progress(ctx context.Context) (DownloadProgress, error) {
	ctx, cancel := d.r.call(ctx)
	defer cancel()
	f, release := d.d.Progress(ctx, nil)
	return await("download progress", d.r.fail(ctx), f.Struct, release, func(res schema.Download_progress_Results) (DownloadProgress, error) {
		p, err := res.Progress()
		if err != nil {
			return DownloadProgress{}, err
		}
		return readDownloadProgress(p)
	})
}

// Release drops the download; an incomplete one is undownloaded.
func (d *Download) Release() { d.d.Release() }
