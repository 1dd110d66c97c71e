package home

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadConfig: any config file loads or fails with an error, never a
// panic, and what loads saves and loads back the same.
func FuzzLoadConfig(f *testing.F) {
	f.Add([]byte("# settings\nport = 7070\nhost = \"0.0.0.0\" # all\n"))
	f.Add([]byte("trace = \"gc,\\\"rpc\\\"\"\nlog-level = \"debug\"\n"))
	f.Add([]byte("a = \"unterminated\n"))
	f.Add([]byte("x = 1\nx = 2\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "config")
		os.WriteFile(path, b, 0o600)
		c, err := LoadConfig(path)
		if err != nil {
			return
		}
		if err := c.Save(); err != nil {
			t.Fatal(err)
		}
		again, err := LoadConfig(path)
		if err != nil {
			t.Fatalf("a saved config does not load: %v", err)
		}
		want, got := c.All(), again.All()
		if len(want) != len(got) {
			t.Fatalf("%v loaded back as %v", want, got)
		}
		for i := range want {
			if want[i] != got[i] {
				t.Fatalf("%v loaded back as %v", want, got)
			}
		}
	})
}

// FuzzReadLock: any lock file gives a pid and socket or an error.
func FuzzReadLock(f *testing.F) {
	f.Add([]byte("4242\n/run/hsp.sock\n"))
	f.Add([]byte("4242\n"))
	f.Add([]byte("\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "LOCK")
		os.WriteFile(path, b, 0o600)
		ReadLock(path)
	})
}
