package replicate

import (
	"errors"
	"fmt"
)

// Reasons a peer is cut off. Run returns a *PeerError whose Reason is one
// of them; Replicator.Disconnects counts them by their text.
var (
	// ErrBadData: a block, proof or signature that does not verify.
	ErrBadData = errors.New("bad data")
	// ErrMalformed: garbage or oversized frames, or a bad capability.
	ErrMalformed = errors.New("malformed stream")
	// ErrUnannounced: a request for a block we never announced.
	ErrUnannounced = errors.New("request for an unannounced block")
	// ErrTooManyRequests: more requests queued on a channel than twice our
	// largest window.
	ErrTooManyRequests = errors.New("too many requests")
	// ErrUnrequested: more unrequested Data than Options.MaxUnrequested.
	ErrUnrequested = errors.New("too much unrequested data")
	// ErrUnknownOpens: more Opens of unknown cores than Options.MaxUnknownOpens.
	ErrUnknownOpens = errors.New("too many opens of unknown cores")
	// ErrSlowReader: the peer does not read what it asked for.
	ErrSlowReader = errors.New("slow reader")
)

// PeerError is why a peer was cut off: Reason is one of the errors above,
// Err the detail.
type PeerError struct {
	Reason error
	Err    error
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("peer cut off: %v: %v", e.Reason, e.Err)
}

// Unwrap gives both the reason and the detail to errors.Is and errors.As.
func (e *PeerError) Unwrap() []error { return []error{e.Reason, e.Err} }
