package rpc

import (
	"fmt"

	capnp "capnproto.org/go/capnp/v3"
)

// The client side of a call is always the same four steps: send it, wait
// for the answer, read what is needed out of the answer, release it. The
// callers send; await does the rest, so each client method is its request
// and its reading, nothing else.

// errMapper turns a failed call into the error a caller returns; what names
// the action.
type errMapper func(what string, err error) error

// clientErr maps the error of a call on the daemon or the corestore.
func clientErr(what string, err error) error { return fmt.Errorf("%s: %w", what, wireErr(err)) }

// await waits for a call's answer (result is its future's Struct), reads it
// with read, then releases it.
func await[R, T any](what string, fail errMapper, result func() (R, error), release capnp.ReleaseFunc, read func(R) (T, error)) (T, error) {
	defer release()
	res, err := result()
	if err != nil {
		var zero T
		return zero, fail(what, err)
	}
	v, err := read(res)
	if err != nil {
		return v, fmt.Errorf("%s: %w", what, err)
	}
	return v, nil
}

// nothing reads an answer that carries no result.
func nothing[R any](R) (struct{}, error) { return struct{}{}, nil }

// plain adapts a getter that cannot fail, such as a number field.
func plain[R, T any](get func(R) T) func(R) (T, error) {
	return func(r R) (T, error) { return get(r), nil }
}

// field reads a pointer field of an answer with the mapping of its type.
func field[S, T any](get func() (S, error), read func(S) (T, error)) (T, error) {
	s, err := get()
	if err != nil {
		var zero T
		return zero, err
	}
	return read(s)
}

// list reads a list field with the mapping of its element type.
func list[S ~capnp.StructKind, T any](get func() (capnp.StructList[S], error), read func(S) (T, error)) ([]T, error) {
	l, err := get()
	if err != nil {
		return nil, err
	}
	out := make([]T, l.Len())
	for i := range out {
		if out[i], err = read(l.At(i)); err != nil {
			return nil, fmt.Errorf("element %d: %w", i, err)
		}
	}
	return out, nil
}
