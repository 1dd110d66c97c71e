package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// env is what the jobs share: the hsp binaries, the JS side and a temp dir.
type env struct {
	root   string  // the repository's root
	builds []build // the hsp binaries measured: one, or A and B
	jsDir  string  // bench/js, with node_modules installed
	tmp    string  // every home, storage and store of the run lives below
}

// bin is the path of the hsp binary measured as side.
func (e *env) bin(side string) string {
	for _, b := range e.builds {
		if b.Side == side {
			return b.Path
		}
	}
	panic("bench: no hsp build for side " + side)
}

// build is an hsp binary a run measures, as the JSON file records it.
type build struct {
	Name string `json:"name"` // "hsp", or "A" and "B" when there are two
	Side string `json:"side"` // the side of its measurements: sideHSP, or sideHSPB for B
	Path string `json:"path"`
	// Built is set when the run built it from the repository (into its
	// temp dir, gone after the run).
	Built  bool   `json:"built,omitempty"`
	SHA256 string `json:"sha256"`
	// Revision and Modified are the VCS stamp go build put in the binary.
	Revision string `json:"vcsRevision,omitempty"`
	Modified bool   `json:"vcsModified,omitempty"`
}

// describe names b in one line: "A: /tmp/hsp-a (sha256 0123456789ab, 46e388c0a1b2, modified)".
func (b build) describe() string {
	var parts []string
	if b.Built {
		parts = append(parts, "built from the repository")
	}
	parts = append(parts, "sha256 "+short(b.SHA256, 12))
	if b.Revision != "" {
		rev := short(b.Revision, 12)
		if b.Modified {
			rev += ", modified"
		}
		parts = append(parts, rev)
	}
	return fmt.Sprintf("%s: %s (%s)", b.Name, b.Path, strings.Join(parts, ", "))
}

func short(s string, n int) string { return s[:min(n, len(s))] }

// resolveBinary finds the hsp binary a flag names: a path, or a bare name
// looked up in $PATH. It returns its absolute path.
func resolveBinary(flagName, path string) (string, error) {
	p, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	if p, err = filepath.Abs(p); err != nil {
		return "", fmt.Errorf("%s %s: %w", flagName, path, err)
	}
	return p, nil
}

// describeBuild hashes the binary at b.Path and reads its VCS stamp.
func describeBuild(b build) (build, error) {
	data, err := os.ReadFile(b.Path)
	if err != nil {
		return b, fmt.Errorf("read hsp binary: %w", err)
	}
	sum := sha256.Sum256(data)
	b.SHA256 = hex.EncodeToString(sum[:])
	if info, err := buildinfo.ReadFile(b.Path); err == nil {
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b, nil
}

const modulePath = "github.com/hspd/hsp"

// findRoot returns the repository root: the nearest directory up from the
// working directory whose go.mod declares hsp's module.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repository root: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module "+modulePath+"\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repository root: no go.mod of %s above the working directory", modulePath)
		}
		dir = parent
	}
}

// buildHSP builds the hsp binary from root into dir.
func buildHSP(ctx context.Context, root, dir string) (string, error) {
	bin := filepath.Join(dir, "hsp")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hsp: %w\n%s", err, out)
	}
	return bin, nil
}

// installJS runs `npm ci` in jsDir unless node_modules was installed from
// the current package-lock.json (a stamp file records its hash). A file
// lock keeps two runs from installing at once.
func installJS(ctx context.Context, jsDir string) error {
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("install js side: %w (the JS side needs Node.js 20 and npm)", err)
		}
	}
	lock, err := os.OpenFile(filepath.Join(jsDir, ".install.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return fmt.Errorf("lock js install: %w", err)
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return fmt.Errorf("lock js install: %w", err)
	}
	pkgLock, err := os.ReadFile(filepath.Join(jsDir, "package-lock.json"))
	if err != nil {
		return fmt.Errorf("read js lock: %w", err)
	}
	sum := sha256.Sum256(pkgLock)
	stamp := filepath.Join(jsDir, "node_modules", ".hsp-installed")
	if got, err := os.ReadFile(stamp); err == nil && string(got) == hex.EncodeToString(sum[:]) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = jsDir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("npm ci in %s: %w\n%s", jsDir, err, out)
	}
	if err := os.WriteFile(stamp, []byte(hex.EncodeToString(sum[:])), 0o644); err != nil {
		return fmt.Errorf("stamp js install: %w", err)
	}
	return nil
}

// machine describes where the run happened.
type machine struct {
	Date     string `json:"date"`
	CPUs     int    `json:"nproc"`
	CPUModel string `json:"cpuModel"`
	MemTotal string `json:"memTotal"`
	Go       string `json:"go"`
	Node     string `json:"node"`
	Kernel   string `json:"kernel"`
}

func describeMachine(ctx context.Context, cpus int) machine {
	return machine{
		Date:     time.Now().UTC().Format(time.RFC3339),
		CPUs:     cpus,
		CPUModel: procField("/proc/cpuinfo", "model name"),
		MemTotal: procField("/proc/meminfo", "MemTotal"),
		Go:       output(ctx, "go", "env", "GOVERSION"),
		Node:     output(ctx, "node", "--version"),
		Kernel:   output(ctx, "uname", "-sr"),
	}
}

// procField returns the value of the first "name: value" line of file.
func procField(file, name string) string {
	b, err := os.ReadFile(file)
	if err != nil {
		return "unknown"
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

func output(ctx context.Context, name string, args ...string) string {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
