package replicate

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/gob"
	"fmt"
	"hash/crc32"
	"io"
	"os"

	"github.com/hspd/hsp/core"
)

// logStorage is a durable core.Storage for the crash test and the durable
// benchmarks, without core/store: a MemoryStorage rebuilt on open from an
// append-only log of gob-encoded batches, each framed as u32 length, u32
// CRC-32, payload, and fsynced when the batch asks. A torn tail (a crash
// mid-write) is cut off on open, so a batch is all there or not at all.
type logStorage struct {
	*core.MemoryStorage
	f *os.File
}

func openLog(path string) (*logStorage, error) {
	mem := core.NewMemoryStorage()
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	good, err := replay(f, mem)
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Truncate(good); err != nil {
		f.Close()
		return nil, fmt.Errorf("cut torn log tail: %w", err)
	}
	if _, err := f.Seek(good, io.SeekStart); err != nil {
		f.Close()
		return nil, fmt.Errorf("seek log end: %w", err)
	}
	return &logStorage{MemoryStorage: mem, f: f}, nil
}

// replay commits every whole record to mem and returns where they end.
func replay(f *os.File, mem *core.MemoryStorage) (int64, error) {
	data, err := io.ReadAll(f)
	if err != nil {
		return 0, fmt.Errorf("read log: %w", err)
	}
	var off int64
	for len(data) >= 8 {
		n, sum := binary.BigEndian.Uint32(data), binary.BigEndian.Uint32(data[4:])
		if uint64(len(data)-8) < uint64(n) || crc32.ChecksumIEEE(data[8:8+n]) != sum {
			break
		}
		var b core.Batch
		if err := gob.NewDecoder(bytes.NewReader(data[8 : 8+n])).Decode(&b); err != nil {
			return 0, fmt.Errorf("decode log record at %d: %w", off, err)
		}
		if err := mem.Commit(context.Background(), &b); err != nil {
			return 0, fmt.Errorf("replay log record at %d: %w", off, err)
		}
		data = data[8+n:]
		off += 8 + int64(n)
	}
	return off, nil
}

// Commit appends the batch to the log (and fsyncs it when asked) before
// it becomes visible.
func (l *logStorage) Commit(ctx context.Context, b *core.Batch) error {
	var buf bytes.Buffer
	buf.Write(make([]byte, 8))
	if err := gob.NewEncoder(&buf).Encode(b); err != nil {
		return fmt.Errorf("encode batch: %w", err)
	}
	rec := buf.Bytes()
	binary.BigEndian.PutUint32(rec, uint32(len(rec)-8))
	binary.BigEndian.PutUint32(rec[4:], crc32.ChecksumIEEE(rec[8:]))
	if _, err := l.f.Write(rec); err != nil {
		return fmt.Errorf("write log: %w", err)
	}
	if b.Sync {
		if err := l.f.Sync(); err != nil {
			return fmt.Errorf("sync log: %w", err)
		}
	}
	return l.MemoryStorage.Commit(ctx, b)
}

func (l *logStorage) Close() error {
	l.MemoryStorage.Close()
	return l.f.Close()
}
