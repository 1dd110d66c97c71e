package swarm

import (
	"errors"
	"testing"
)

// TestQueueFlushMarksAndUnreachable: a flush waits for the peers queued
// and being dialled, until each had its dial; the peers whose dials all
// failed are counted with the last failure, and one that connects is not.
func TestQueueFlushMarksAndUnreachable(t *testing.T) {
	q, _ := testQueue(1, queueConfig{})
	tp := qtopic(1)
	q.add(remotePeer(1, tp))
	q.add(remotePeer(2, tp))
	q.add(remotePeer(3, qtopic(2))) // another topic's
	marks := q.flushMarks(tp)
	if len(marks) != 2 || q.tried(marks) {
		t.Fatalf("marks %+v, tried %v: want peers 1 and 2, not tried", marks, q.tried(marks))
	}
	for range 3 {
		mustNext(t, q) // all three handed out, being dialled
	}
	a, b := qaddr(1), qaddr(2)
	if q.tried(marks) {
		t.Fatal("tried while both are being dialled")
	}
	q.dialFailed(a, errors.New("tcp: connect: timed out; utp: dht holepunch: request timed out"))
	if q.tried(marks) {
		t.Fatal("tried with one dial still running")
	}
	q.connected(b)
	if !q.tried(marks) {
		t.Fatal("not tried once both dials were reported")
	}
	if n, why := q.unreachable(tp); n != 1 || why != "tcp: connect: timed out; utp: dht holepunch: request timed out" {
		t.Fatalf("unreachable: %d, %q; want the failed one alone", n, why)
	}
}
