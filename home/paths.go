package home

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Paths are the files of one hsp home. The CLI and the daemon derive them
// here, in one place, so they always agree.
type Paths struct {
	// Home holds everything below.
	Home string `json:"home"`
	// Storage is the pebble database directory.
	Storage string `json:"storage"`
	// Socket is the daemon's unix socket: Home/hsp.sock, or a short path in
	// the runtime directory when that would exceed the OS limit.
	Socket string `json:"socket"`
	// Lock is the file whose lock decides which daemon runs on Home.
	Lock string `json:"lock"`
	// Log is where a detached daemon writes.
	Log string `json:"log"`
	// Token is the file holding the token TCP clients must present.
	Token string `json:"token"`
	// Config is the settings file every daemon start reads (Config).
	Config string `json:"config"`
}

// MaxSocketPath is the longest unix socket path Linux accepts (sun_path is
// 108 bytes, with the terminating NUL).
const MaxSocketPath = 107

// ResolveHome picks the home directory: explicit when set, else $HSP_HOME,
// else $XDG_DATA_HOME/hsp, else ~/.local/share/hsp. getenv reads the
// environment (os.Getenv outside tests).
func ResolveHome(explicit string, getenv func(string) string) (string, error) {
	home := explicit
	switch {
	case home != "":
	case getenv("HSP_HOME") != "":
		home = getenv("HSP_HOME")
	case getenv("XDG_DATA_HOME") != "":
		home = filepath.Join(getenv("XDG_DATA_HOME"), "hsp")
	case getenv("HOME") != "":
		home = filepath.Join(getenv("HOME"), ".local", "share", "hsp")
	default:
		return "", errors.New("resolve home: set --home, HSP_HOME or HOME")
	}
	abs, err := filepath.Abs(home)
	if err != nil {
		return "", fmt.Errorf("resolve home %q: %w", home, err)
	}
	return abs, nil
}

// PathsFor derives the paths of an absolute home directory.
func PathsFor(home string, getenv func(string) string) Paths {
	p := Paths{
		Home:    home,
		Storage: filepath.Join(home, "storage"),
		Socket:  filepath.Join(home, "hsp.sock"),
		Lock:    filepath.Join(home, "LOCK"),
		Log:     filepath.Join(home, "daemon.log"),
		Token:   filepath.Join(home, "token"),
		Config:  filepath.Join(home, "config"),
	}
	if len(p.Socket) > MaxSocketPath {
		sum := sha256.Sum256([]byte(home))
		p.Socket = filepath.Join(RuntimeDir(getenv), "hsp-"+hex.EncodeToString(sum[:8])+".sock")
	}
	return p
}

// RuntimeDir is the per-user directory for sockets whose home path is too
// long: $XDG_RUNTIME_DIR, else a hsp-<uid> directory in the temp dir.
func RuntimeDir(getenv func(string) string) string {
	if d := getenv("XDG_RUNTIME_DIR"); d != "" {
		return d
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("hsp-%d", os.Getuid()))
}

// WriteLock records in the lock file f the pid and socket of the daemon
// that holds it, so a client finds a daemon started with another socket.
func WriteLock(f *os.File, pid int, socket string) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(fmt.Sprintf("%d\n%s\n", pid, socket)), 0)
	return err
}

// ReadLock reads what WriteLock recorded. The file may be stale: a client
// still has to reach the socket.
func ReadLock(path string) (pid int, socket string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, "", err
	}
	lines := strings.SplitN(strings.TrimSpace(string(b)), "\n", 2)
	if pid, err = strconv.Atoi(strings.TrimSpace(lines[0])); err != nil {
		return 0, "", fmt.Errorf("read lock %s: %w", path, err)
	}
	if len(lines) > 1 {
		socket = strings.TrimSpace(lines[1])
	}
	return pid, socket, nil
}
