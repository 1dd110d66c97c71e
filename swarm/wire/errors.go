package wire

import "errors"

// Errors a Stream reports. Those that end a stream (everything but
// ErrChannelClosed, ErrTooManyChannels and a rejected OpenChannel's
// ErrBadCapability) are returned by every later call.
var (
	// ErrMalformed: a frame or message body that does not parse. JS
	// destroys the stream on one; so does a Stream.
	ErrMalformed = errors.New("malformed message")
	// ErrUnknownType: Decode was asked for a type outside 0..10 and 15.
	ErrUnknownType = errors.New("unknown message type")
	// ErrFrameTooLarge: a frame body over MaxBody, sent or received.
	ErrFrameTooLarge = errors.New("frame too large")
	// ErrBadCapability: the remote's Open capability does not prove it
	// knows the core's key. Received for a core opened locally it ends the
	// stream, as in JS.
	ErrBadCapability = errors.New("invalid remote channel capability")
	// ErrTimeout: nothing was received for Config.Timeout.
	ErrTimeout = errors.New("stream timed out")
	// ErrClosed: the stream was closed locally.
	ErrClosed = errors.New("stream closed")
	// ErrChannelClosed: a send on a channel already closed.
	ErrChannelClosed = errors.New("channel closed")
	// ErrTooManyChannels: OpenChannel beyond Config.MaxChannels.
	ErrTooManyChannels = errors.New("too many channels")
	// ErrHandshake: the Noise handshake failed or was not done yet.
	ErrHandshake = errors.New("handshake failed")
)
