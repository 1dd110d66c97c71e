package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallDisk mounts a tmpfs of size bytes for the test.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Getuid() != 0 {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must run this test as root")
		}
		t.Skip("needs root to mount a small tmpfs")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

// fill leaves about keep bytes free on the filesystem of dir.
func fill(t *testing.T, dir string, keep uint64) string {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	free := st.Bavail * uint64(st.Bsize)
	path := filepath.Join(dir, "filler")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if free > keep {
		chunk := make([]byte, 1<<20)
		for left := free - keep; left > 0; {
			n := min(left, uint64(len(chunk)))
			if _, err := f.Write(chunk[:n]); err != nil {
				break
			}
			left -= n
		}
	}
	return path
}

// TestCLIDiskFull: writes past the reserve exit 6 and say how much is
// free and needed; reads go on; writes resume once space is freed; a
// daemon killed and restarted on the full disk serves reads at once.
func TestCLIDiskFull(t *testing.T) {
	disk := smallDisk(t, "160m")
	c := newCLI(t)
	c.home = filepath.Join(disk, "home")
	key := strings.TrimSpace(c.ok("create"))
	c.ok("append", key, "before")
	filler := fill(t, disk, 40<<20) // below the 64 MiB reserve
	r := c.run(nil, "append", key, "refused")
	if r.code != 6 || !strings.Contains(r.stderr, "MiB free") || !strings.Contains(r.stderr, "needed") {
		t.Fatalf("an append on a full disk: exit %d\n%s", r.code, r.stderr)
	}
	if out := c.ok("cat", key); out != "before\n" {
		t.Fatalf("cat on a full disk: %q", out)
	}
	js := c.run(nil, "--json", "append", key, "refused")
	if js.code != 6 || !strings.Contains(js.stderr, `"code":"disk-full"`) {
		t.Fatalf("--json append on a full disk: %d %s", js.code, js.stderr)
	}

	c.kill9()
	start := time.Now()
	if out := c.ok("cat", key); out != "before\n" { // spawns a daemon on the full disk
		t.Fatalf("cat after a restart on a full disk: %q", out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Fatalf("the restart on a full disk took %v", took)
	}
	if r := c.run(nil, "append", key, "refused"); r.code != 6 {
		t.Fatalf("an append after the restart on a full disk: %d %s", r.code, r.stderr)
	}
	os.Remove(filler)
	deadline := time.Now().Add(10 * time.Second)
	for c.run(nil, "append", key, "after").code != 0 {
		if time.Now().After(deadline) {
			t.Fatal("appends never resumed once space was freed")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if out := c.ok("cat", key); !strings.HasPrefix(out, "before\nafter\n") {
		t.Fatalf("after freeing space: %q", out)
	}
}
