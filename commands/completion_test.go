package commands

import (
	"bytes"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Main(append([]string{"hsp"}, args...), &out, &errOut)
	return out.String() + errOut.String(), code
}

func TestCompletionScripts(t *testing.T) {
	for shell, want := range map[string]string{
		"bash": "complete -o bashdefault",
		"zsh":  "compdef _hsp hsp",
		"fish": "complete -c hsp",
	} {
		out, code := run(t, "completion", shell)
		if code != ExitOK || !strings.Contains(out, want) {
			t.Errorf("completion %s (exit %d) lacks %q:\n%s", shell, code, want, out)
		}
	}
	if _, code := run(t, "completion", "tcsh"); code != ExitUsage {
		t.Errorf("completion of an unknown shell exited %d", code)
	}
}

func TestManPage(t *testing.T) {
	out, code := run(t, "man")
	if code != ExitOK || !strings.Contains(out, ".TH") || !strings.Contains(out, "append") {
		t.Fatalf("man page (exit %d):\n%.300s", code, out)
	}
}
