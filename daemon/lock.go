package daemon

import (
	"errors"
	"fmt"
	"os"
	"syscall"

	"github.com/hspd/hsp/home"
)

// ErrAlreadyRunning: another daemon holds the home's lock.
var ErrAlreadyRunning = errors.New("a daemon is already running on this home")

// homeLock is an exclusive flock on the home's LOCK file. The kernel drops
// it when the process dies, so a killed daemon never leaves a stale lock.
type homeLock struct{ f *os.File }

func lockHome(path, socket string) (*homeLock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("open lock %s: %w", path, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("lock %s: %w", path, ErrAlreadyRunning)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	home.WriteLock(f, os.Getpid(), socket)
	return &homeLock{f: f}, nil
}

func (l *homeLock) release() error {
	if err := l.f.Close(); err != nil {
		return fmt.Errorf("release lock: %w", err)
	}
	return nil
}
