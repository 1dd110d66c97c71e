// Package nodejs gives tests the JavaScript peers they run: it checks that
// node and npm are there (failing under CI, skipping with a reason
// elsewhere) and installs a peer's pinned packages with `npm ci` once per
// lock file, under a file lock so concurrent test binaries never race. It
// imports nothing of hsp's.
package nodejs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// installs remembers, per directory, the outcome of its one install.
var installs sync.Map // dir → *install

type install struct {
	once sync.Once
	err  error
}

// Require makes sure node and npm are on the PATH and that dir (holding a
// package.json and package-lock.json) has its packages installed; what
// names the tests in messages ("live JS peer test").
func Require(t testing.TB, dir, what string) {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" {
				t.Fatalf("%s: %s is required in CI: %v", what, tool, err)
			}
			t.Skipf("%s skipped: %s not found (%v); install Node 20 to run it", what, tool, err)
		}
	}
	v, _ := installs.LoadOrStore(dir, &install{})
	in := v.(*install)
	in.once.Do(func() { in.err = npmCI(dir) })
	if in.err != nil {
		t.Fatal(in.err)
	}
}

// Install installs dir's pinned packages as Require does, for a script
// that prepares the tests before the network goes (.ci/test).
func Install(dir string) error { return npmCI(dir) }

// npmCI runs `npm ci` in dir unless node_modules was installed from the
// current lock.
func npmCI(dir string) error {
	lock, err := os.OpenFile(filepath.Join(dir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("lock npm install in %s: %w", dir, err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock npm install in %s: %w", dir, err)
	}
	pkgLock, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("read the npm lock in %s: %w", dir, err)
	}
	sum := sha256.Sum256(pkgLock)
	stamp := filepath.Join(dir, "node_modules", ".hsp-installed")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == hex.EncodeToString(sum[:]) {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", dir, err, out)
	}
	return os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644)
}
