package dht

import "time"

// Clock is the node's source of time and timers. Tests inject a fake one.
type Clock interface {
	Now() time.Time
	// AfterFunc calls f in its own goroutine after d.
	AfterFunc(d time.Duration, f func()) Timer
}

// Timer is a timer made by a Clock.
type Timer interface {
	Stop() bool
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) AfterFunc(d time.Duration, f func()) Timer { return time.AfterFunc(d, f) }

// Timing holds every period the node uses. Zero fields take the JS
// defaults given next to them; tests shrink them to run in seconds.
type Timing struct {
	IOTick        time.Duration // 750 ms: request retry and timeout tick
	TableTick     time.Duration // 5 s: routing-table maintenance tick
	FastHolepunch time.Duration // 500 ms: first holepunch to a referred node
	RotateSecrets time.Duration // 5 min: roundtrip-token secret rotation
	RecordMaxAge  time.Duration // 12 min: peers records live 2/3..4/3 of it
	QueryTimeout  time.Duration // 10 s: bound of a walk towards a target (not in JS)
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.IOTick, 750*time.Millisecond)
	def(&t.TableTick, 5*time.Second)
	def(&t.FastHolepunch, 500*time.Millisecond)
	def(&t.RotateSecrets, 5*time.Minute)
	def(&t.RecordMaxAge, 12*time.Minute)
	def(&t.QueryTimeout, 10*time.Second)
	return t
}

// repeat calls f every d until the returned stop function is called.
func repeat(c Clock, d time.Duration, f func()) (stop func()) {
	done := make(chan struct{})
	var arm func()
	arm = func() {
		c.AfterFunc(d, func() {
			select {
			case <-done:
				return
			default:
			}
			f()
			arm()
		})
	}
	arm()
	return func() { close(done) }
}

// DefaultTiming returns the JS timings (and our 10 s walk bound).
func DefaultTiming() Timing { return Timing{}.withDefaults() }
