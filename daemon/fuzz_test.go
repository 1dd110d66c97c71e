package daemon

import (
	"strings"
	"testing"
)

// FuzzParseLogLevel: a level from a flag, the environment or the config
// file is one of the four names, or an error.
func FuzzParseLogLevel(f *testing.F) {
	for _, s := range []string{"debug", "INFO", "warn", "error", "warn+2", "", "loud"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		l, err := ParseLogLevel(s)
		if err != nil {
			return
		}
		if name := strings.ToLower(l.String()); name != strings.ToLower(s) {
			t.Fatalf("%q parsed as %s", s, l)
		}
	})
}
