package home

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "config")
	os.WriteFile(path, []byte("# my settings\nport = 7070\nhost = \"0.0.0.0\" # all\n\nlog-level = \"debug\"\n"), 0o600)
	c, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, ok := c.Get("host"); !ok || v != "0.0.0.0" {
		t.Fatalf("host = %q, %v", v, ok)
	}
	c.Set("port", "8080")
	c.Set("trace", `gc,"rpc"`)
	if !c.Unset("log-level") || c.Unset("nothing") {
		t.Fatal("unset")
	}
	if err := c.Save(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	want := "# my settings\nport = 8080\nhost = \"0.0.0.0\"\n\ntrace = \"gc,\\\"rpc\\\"\"\n"
	if string(b) != want {
		t.Fatalf("saved:\n%s\nwant:\n%s", b, want)
	}
	again, err := LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := again.Get("trace"); v != `gc,"rpc"` {
		t.Fatalf("trace after a round trip: %q", v)
	}
}

func TestConfigErrorsNameTheLine(t *testing.T) {
	for text, line := range map[string]string{
		"port = 7070\nport 8080\n":      "line 2",
		"a = 1\nb = 2\nhost = \"open\n": "line 3",
		"x = unquoted\n":                "line 1",
		"port = 1\nport = 2\n":          "line 2",
		"Port = 1\n":                    "line 1",
		"host = \"a\" trailing\n":       "line 1",
	} {
		path := filepath.Join(t.TempDir(), "config")
		os.WriteFile(path, []byte(text), 0o600)
		_, err := LoadConfig(path)
		if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), line) {
			t.Errorf("%q: %v, want ErrConfig at %s", text, err, line)
		}
	}
	if c, err := LoadConfig(filepath.Join(t.TempDir(), "none")); err != nil || len(c.All()) != 0 {
		t.Fatalf("a missing config: %v", err)
	}
}
