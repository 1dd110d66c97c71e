package home

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestResolveHome(t *testing.T) {
	for _, tc := range []struct {
		name, explicit string
		vars           map[string]string
		want           string
	}{
		{"flag wins", "/a", map[string]string{"HSP_HOME": "/b", "HOME": "/h"}, "/a"},
		{"HSP_HOME", "", map[string]string{"HSP_HOME": "/b", "XDG_DATA_HOME": "/x"}, "/b"},
		{"XDG_DATA_HOME", "", map[string]string{"XDG_DATA_HOME": "/x", "HOME": "/h"}, "/x/hsp"},
		{"HOME", "", map[string]string{"HOME": "/h"}, "/h/.local/share/hsp"},
	} {
		got, err := ResolveHome(tc.explicit, env(tc.vars))
		if err != nil || got != tc.want {
			t.Errorf("%s: got %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	if _, err := ResolveHome("", env(nil)); err == nil {
		t.Error("no home and no HOME: no error")
	}
	rel, err := ResolveHome("rel", env(nil))
	if err != nil || !filepath.IsAbs(rel) {
		t.Errorf("relative home resolved to %q, %v", rel, err)
	}
}

func TestPathsFor(t *testing.T) {
	p := PathsFor("/h", env(nil))
	want := Paths{Home: "/h", Storage: "/h/storage", Socket: "/h/hsp.sock", Lock: "/h/LOCK", Log: "/h/daemon.log", Token: "/h/token", Config: "/h/config"}
	if p != want {
		t.Fatalf("got %+v, want %+v", p, want)
	}
	long := "/" + strings.Repeat("x", 120)
	p = PathsFor(long, env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"}))
	if !strings.HasPrefix(p.Socket, "/run/user/1/hsp-") || len(p.Socket) > MaxSocketPath {
		t.Fatalf("long home: socket %q", p.Socket)
	}
	if again := PathsFor(long, env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"})); again.Socket != p.Socket {
		t.Fatalf("the fallback socket is not stable: %q then %q", p.Socket, again.Socket)
	}
	if other := PathsFor(long+"y", env(map[string]string{"XDG_RUNTIME_DIR": "/run/user/1"})); other.Socket == p.Socket {
		t.Fatal("two homes share a fallback socket")
	}
}

func TestEnsureToken(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	tok, err := EnsureToken(path)
	if err != nil || len(tok) != 64 {
		t.Fatalf("EnsureToken: %q, %v", tok, err)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v, %v; want 0600", fi.Mode(), err)
	}
	again, err := EnsureToken(path)
	if err != nil || again != tok {
		t.Fatalf("second EnsureToken: %q, %v; want the same token", again, err)
	}
	if read, err := ReadToken(path); err != nil || read != tok {
		t.Fatalf("ReadToken: %q, %v", read, err)
	}
}

func TestReadTokenRefusesExposedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(path, []byte("abc\r\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadToken(path); !errors.Is(err, ErrTokenExposed) || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a 0644 token file: %v", err)
	}
	if _, err := EnsureToken(path); !errors.Is(err, ErrTokenExposed) {
		t.Fatalf("EnsureToken on a 0644 token file: %v", err)
	}
	os.Chmod(path, 0o600)
	if tok, err := ReadToken(path); err != nil || tok != "abc" {
		t.Fatalf("a CRLF token: %q, %v", tok, err)
	}
}
