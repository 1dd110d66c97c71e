package replicate

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/hspd/hsp/core"
	"github.com/hspd/hsp/swarm/wire"
)

// serveQueue holds a peer's requests until they are answered, in order.
type serveQueue struct {
	mu      sync.Mutex
	q       []served
	perChan map[*peerChan]int
	wake    chan struct{}
}

type served struct {
	pc  *peerChan
	req wire.Request
}

func newServeQueue() *serveQueue {
	return &serveQueue{perChan: map[*peerChan]int{}, wake: make(chan struct{}, 1)}
}

// push queues a request and returns how many the channel, and the peer
// over all channels, have queued.
func (q *serveQueue) push(pc *peerChan, req wire.Request) (int, int) {
	q.mu.Lock()
	q.q = append(q.q, served{pc, req})
	q.perChan[pc]++
	n, total := q.perChan[pc], len(q.q)
	q.mu.Unlock()
	signal(q.wake)
	return n, total
}

func (q *serveQueue) pop() (served, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.q) == 0 {
		return served{}, false
	}
	s := q.q[0]
	q.q[0] = served{}
	q.q = q.q[1:]
	q.perChan[s.pc]--
	return s, true
}

// cancel drops a queued request (JS ignores Cancel; honouring it is free).
func (q *serveQueue) cancel(pc *peerChan, m wire.Cancel) {
	q.remove(func(s served) bool {
		return s.pc == pc && s.req.Index == m.Index && s.req.Hash.Value == m.Hash.Value && s.req.Bytes.Value == m.Bytes.Value
	})
}

// drop forgets a closed channel's requests.
func (q *serveQueue) drop(pc *peerChan) { q.remove(func(s served) bool { return s.pc == pc }) }

func (q *serveQueue) remove(match func(served) bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	kept := q.q[:0]
	for _, s := range q.q {
		if match(s) {
			q.perChan[s.pc]--
			continue
		}
		kept = append(kept, s)
	}
	clear(q.q[len(kept):])
	q.q = kept
}

// onRequest checks a request and queues it. Asking for a block we do not
// have (so never announced), or queueing more than twice our largest
// window on a channel (or eight times over all of a peer's channels),
// costs the peer its connection.
func (pc *peerChan) onRequest(m wire.Request) {
	cs := pc.cs
	if !cs.uploading() {
		return
	}
	if m.Bytes.Value == 0 && !pc.announced(m.Index, m.Hash.Value) {
		pc.p.kill(ErrUnannounced, fmt.Errorf("core %v block %d", cs.dk, m.Index))
		return
	}
	n, total := pc.p.reqs.push(pc, m)
	switch w := cs.r.opts.MaxWindow; {
	case n > 2*w:
		pc.p.kill(ErrTooManyRequests, fmt.Errorf("%d requests queued on core %v", n, cs.dk))
	case total > 8*w:
		pc.p.kill(ErrTooManyRequests, fmt.Errorf("%d requests queued on all cores", total))
	}
}

// announced reports whether we have block i (or, for a hash request, its
// tree node): what we hold is what our Haves announced.
func (pc *peerChan) announced(i uint64, hash bool) bool {
	if i >= 1<<61 {
		return false
	}
	if hash {
		return pc.cs.c.HasNode(2 * i)
	}
	return pc.cs.has(i)
}

// blockBufs recycles the buffers served blocks are read into: a block's
// buffer is free again once its frame is written, so a busy responder
// reads into warm memory instead of allocating a block's worth per answer.
var blockBufs sync.Pool

// maxPooledBuf bounds what blockBufs keeps: a rare huge block is not
// pinned for every later answer.
const maxPooledBuf = 1 << 20

func getBlockBuf() *[]byte {
	if b, ok := blockBufs.Get().(*[]byte); ok {
		return b
	}
	return new([]byte)
}

// putBlockBuf gives buf back, holding used (its contents, perhaps grown
// into a new array).
func putBlockBuf(buf *[]byte, used []byte) {
	if cap(used) > maxPooledBuf {
		return
	}
	*buf = used[:0]
	blockBufs.Put(buf)
}

// serveLoop answers requests while the outbox has room.
func (p *peer) serveLoop(ctx context.Context) {
	for {
		s, ok := p.reqs.pop()
		if !ok {
			select {
			case <-p.reqs.wake:
				continue
			case <-ctx.Done():
				return
			}
		}
		if err := p.out.waitBelow(ctx, p.r.opts.ServeBytes); err != nil {
			return
		}
		if err := s.pc.answer(ctx, s.req); err != nil {
			p.r.opts.Logger.Debug("answer request", "err", err)
		}
	}
}

// answer sends the block (or proof) a request asks for, with the proof
// the request's digest calls for. A byte request is answered for the block
// holding that byte, with a full proof.
func (pc *peerChan) answer(ctx context.Context, req wire.Request) error {
	c := pc.cs.c
	i, digest, hash := req.Index, req.Nodes.Value, req.Hash.Value
	if b := req.Bytes.Value; b > 0 {
		var err error
		if i, _, err = c.Seek(ctx, b); err != nil {
			return fmt.Errorf("answer byte request %d: %w", b, err)
		}
		digest = 0
	}
	proof, err := c.Proof(ctx, i, digest, hash, pc.remoteTree)
	if errors.Is(err, core.ErrNoProof) {
		pc.p.kill(ErrUnannounced, fmt.Errorf("core %v block %d: %w", pc.cs.dk, i, err))
	}
	if err != nil {
		return fmt.Errorf("answer request %d: %w", i, err)
	}
	d := wire.Data{Index: i, Nodes: proof.Nodes, Signature: proof.Signature}
	var buf *[]byte
	if !hash {
		buf = getBlockBuf()
		if d.Value, err = c.AppendBlock(ctx, (*buf)[:0], i); err != nil {
			putBlockBuf(buf, d.Value)
			return fmt.Errorf("answer request %d: %w", i, err)
		}
		if d.Value == nil {
			d.Value = []byte{} // an empty block, not a proof-only reply
		}
	}
	pc.sendPooled(d, buf)
	n := uint64(len(d.Value))
	st := Stats{UploadedBlocks: 1, UploadedBytes: n}
	if hash {
		st.UploadedBlocks = 0
	}
	pc.p.addStats(st)
	pc.cs.mu.Lock()
	pc.cs.stats.UploadedBlocks += st.UploadedBlocks
	pc.cs.stats.UploadedBytes += n
	if !hash {
		pc.cs.emit(Event{Kind: Upload, Peer: pc.p.info, Index: i, Bytes: n})
	}
	pc.cs.mu.Unlock()
	return nil
}
