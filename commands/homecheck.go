package commands

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hspd/hsp/home"
	"github.com/hspd/hsp/rpc"
)

// startFailure marks an error met while starting a daemon as "none could
// be started" (exit 3), unless it already has a code of its own (a full
// disk, say), and says what is wrong with the home when something is.
func startFailure(p home.Paths, err error) error {
	if err == nil {
		return nil
	}
	if why := homeProblem(p.Home); why != "" {
		return tagged{msg: why, errs: []error{rpc.ErrDaemonUnreachable, errNoHint}}
	}
	if code, _ := classify(err); code != ExitError {
		return err
	}
	return tagged{msg: err.Error(), errs: []error{err, rpc.ErrDaemonUnreachable}}
}

// homeFailure replaces an error of a home that cannot hold a daemon (a
// file in its place, a read-only mount) with one that says what to do.
func homeFailure(p home.Paths, err error) error {
	if err == nil || errors.Is(err, rpc.ErrDaemonUnreachable) {
		return err
	}
	if why := homeProblem(p.Home); why != "" {
		return tagged{msg: why, errs: []error{rpc.ErrDaemonUnreachable, errNoHint}}
	}
	return err
}

// homeProblem says what keeps dir from being a home, or "".
func homeProblem(dir string) string {
	const choose = "or choose another home with --home or $HSP_HOME"
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err == nil && !fi.IsDir() {
			if d == dir {
				return fmt.Sprintf("the home %s is a file, not a directory: move it away, %s", dir, choose)
			}
			return fmt.Sprintf("the home %s cannot be made: %s is a file, not a directory: move it away, %s", dir, d, choose)
		}
		if err == nil || d == filepath.Dir(d) {
			break
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Sprintf("cannot create the home %s (%v): make its parent writable, %s", dir, errors.Unwrap(err), choose)
	}
	f, err := os.CreateTemp(dir, ".hsp-probe-*")
	if err != nil {
		return fmt.Sprintf("cannot write to the home %s (%v; a read-only mount?): make it writable, %s", dir, errors.Unwrap(err), choose)
	}
	f.Close()
	os.Remove(f.Name())
	return ""
}

// tagged reads msg and matches each of errs with errors.Is.
type tagged struct {
	msg  string
	errs []error
}

func (t tagged) Error() string   { return t.msg }
func (t tagged) Unwrap() []error { return t.errs }

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
