package rpc

// wakeup lets goroutines wait, in a select, for a change their owner
// makes under its own mutex: waiting takes the channel of the next wake
// (under the mutex), wake closes it and starts another. The zero value is
// ready for use.
type wakeup struct{ ch chan struct{} }

// next is the channel the next wake closes. The owner's mutex is held.
func (w *wakeup) next() <-chan struct{} {
	if w.ch == nil {
		w.ch = make(chan struct{})
	}
	return w.ch
}

// wake wakes everyone waiting on next. The owner's mutex is held.
func (w *wakeup) wake() {
	if w.ch != nil {
		close(w.ch)
		w.ch = nil
	}
}
