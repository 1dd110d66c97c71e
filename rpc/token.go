package rpc

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"
)

// Over TCP a connection starts with one preamble line from the client,
// "hsp-token <hex>\n", answered by "ok\n", "denied\n" or "busy\n" (the
// daemon serves as many clients as it may) before any Cap'n Proto message.
// Every TCP listener requires its token: no call is served on a connection
// that did not present it.
const (
	tokenPrefix     = "hsp-token "
	maxPreamble     = 256
	preambleTimeout = 5 * time.Second
)

// ErrUnauthorized: the daemon refused the connection's token.
var ErrUnauthorized = errors.New("the daemon refused this client's token")

// DialTCP connects to a daemon's TCP listener, presents token and performs
// the version handshake.
func DialTCP(ctx context.Context, addr, token string) (*Client, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w: %w", addr, ErrDaemonUnreachable, err)
	}
	if err := presentToken(conn, token); err != nil {
		conn.Close()
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	return NewClient(ctx, conn)
}

func presentToken(conn net.Conn, token string) error {
	conn.SetDeadline(time.Now().Add(preambleTimeout))
	defer conn.SetDeadline(time.Time{})
	if _, err := fmt.Fprintf(conn, "%s%s\n", tokenPrefix, token); err != nil {
		return fmt.Errorf("send token: %w", err)
	}
	reply, err := readLine(conn)
	switch {
	case err != nil:
		return fmt.Errorf("read token reply: %w", err)
	case reply == "ok":
		return nil
	case reply == "denied":
		return ErrUnauthorized
	case reply == "busy":
		return ErrBusy
	}
	return fmt.Errorf("unexpected token reply %q: %w", reply, ErrIncompatible)
}

// readLine reads one short line byte by byte, so that nothing after it is
// consumed from the connection.
func readLine(r io.Reader) (string, error) {
	var line []byte
	b := make([]byte, 1)
	for len(line) < maxPreamble {
		if _, err := io.ReadFull(r, b); err != nil {
			return "", err
		}
		if b[0] == '\n' {
			return string(line), nil
		}
		line = append(line, b[0])
	}
	return "", fmt.Errorf("preamble longer than %d bytes: %w", maxPreamble, ErrBadRequest)
}

// checkToken reads a client's preamble and answers it. want "" accepts any
// token.
func checkToken(conn net.Conn, want string) error {
	conn.SetDeadline(time.Now().Add(preambleTimeout))
	defer conn.SetDeadline(time.Time{})
	line, err := readLine(conn) // unbuffered: what follows is Cap'n Proto
	if err != nil {
		return fmt.Errorf("read token: %w", err)
	}
	got, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), tokenPrefix)
	if !ok || want == "" || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
		io.WriteString(conn, "denied\n")
		return ErrUnauthorized
	}
	_, err = io.WriteString(conn, "ok\n")
	return err
}

// ServeTCP serves a TCP listener like Serve, but serves a connection only
// once it presented token, which must not be empty.
func (s *Server) ServeTCP(ctx context.Context, l net.Listener, token string) error {
	if token == "" {
		l.Close()
		return errors.New("serve rpc over tcp: a token is required")
	}
	return s.serve(ctx, l, true, token)
}

// checkTCP vets a TCP connection's token, closing it when refused.
func (s *Server) checkTCP(conn net.Conn, token string) bool {
	if err := checkToken(conn, token); err != nil {
		if s.opts.OnRefused != nil {
			s.opts.OnRefused(conn.RemoteAddr(), err)
		}
		conn.Close()
		return false
	}
	return true
}

// answerPreamble reads a client's preamble and answers reply.
func answerPreamble(conn net.Conn, reply string) {
	if _, err := readLine(conn); err == nil {
		io.WriteString(conn, reply+"\n")
	}
}
