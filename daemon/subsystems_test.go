package daemon

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

type runFunc func(ctx context.Context) error

func (f runFunc) Run(ctx context.Context) error { return f(ctx) }

// TestRunAllStopsOnFirstFailure: one subsystem failing cancels the others,
// and the error names it.
func TestRunAllStopsOnFirstFailure(t *testing.T) {
	boom := errors.New("boom")
	cancelled := make(chan struct{})
	wait, failed := runAll(context.Background(), []named{
		{"patient", runFunc(func(ctx context.Context) error { <-ctx.Done(); close(cancelled); return nil })},
		{"broken", runFunc(func(ctx context.Context) error { return boom })},
	})
	select {
	case <-failed:
	case <-time.After(5 * time.Second):
		t.Fatal("a failed subsystem did not signal")
	}
	<-cancelled
	err := wait()
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "broken: ") {
		t.Fatalf("wait: %v", err)
	}
}

// TestRunAllStopsWithContext: ending the context ends every subsystem
// without an error.
func TestRunAllStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	block := runFunc(func(ctx context.Context) error { <-ctx.Done(); return nil })
	wait, _ := runAll(ctx, []named{{"a", block}, {"b", block}})
	cancel()
	if err := wait(); err != nil {
		t.Fatal(err)
	}
}
