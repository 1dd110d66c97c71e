package home

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// NewToken makes a random token for TCP clients to present.
func NewToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("make token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// EnsureToken reads the token file at path, creating it (0600) with a new
// token if it does not exist.
func EnsureToken(path string) (string, error) {
	if tok, err := ReadToken(path); err == nil {
		return tok, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	tok, err := NewToken()
	if err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", fmt.Errorf("create token file %s: %w", path, err)
	}
	defer f.Close()
	if _, err := fmt.Fprintln(f, tok); err != nil {
		return "", fmt.Errorf("write token file %s: %w", path, err)
	}
	return tok, f.Sync()
}

// ErrTokenExposed: a token file others than its owner may read, refused
// as ssh refuses such a key.
var ErrTokenExposed = errors.New("token file is readable by others")

// ReadToken reads a token file, refusing one that group or others may
// read. A line ending in CRLF is fine.
func ReadToken(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", fmt.Errorf("read token file: %w", err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: %w; run chmod 600 %s", path, perm, ErrTokenExposed, path)
	}
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("read token file %s: %w", path, err)
	}
	return strings.TrimSpace(string(b)), nil
}
