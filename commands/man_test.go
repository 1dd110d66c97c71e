package commands

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestManLint renders the manual page with mandoc's linter, which must
// have nothing to say. CI installs mandoc (.ci/run); without it the test
// fails there and is skipped elsewhere.
func TestManLint(t *testing.T) {
	page, code := run(t, "man")
	if code != ExitOK {
		t.Fatalf("hsp man exited %d: %s", code, page)
	}
	for _, section := range []string{"NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "EXAMPLES"} {
		if !strings.Contains(page, "\n.SH "+section+"\n") && !strings.Contains(page, "\n.SH \""+section+"\"\n") {
			t.Errorf("the page has no %s section", section)
		}
	}
	for _, want := range []string{"HSP_HOME", "HSP_TOKEN_FILE", "HSP_LOG_LEVEL", "HSP_TRACE", "NO_COLOR", "XDG_DATA_HOME", `\fB\-\-chunk\fR \fIN\fR`, `.SS "hsp daemon start"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	mandoc, err := exec.LookPath("mandoc")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("CI must have mandoc (.ci/run installs it)")
		}
		t.Skip("mandoc is not installed")
	}
	cmd := exec.Command(mandoc, "-T", "lint", "-W", "all")
	cmd.Stdin = strings.NewReader(page)
	if out, err := cmd.CombinedOutput(); err != nil || len(out) > 0 {
		t.Fatalf("mandoc -T lint: %v\n%s", err, out)
	}
}

// TestHelpTidy: no help text has trailing spaces or says "(default:
// false)", and every command's help lists its exit codes.
func TestHelpTidy(t *testing.T) {
	for _, path := range append(commandPaths(), nil) {
		out, code := run(t, append(path, "--help")...)
		if code != ExitOK {
			t.Fatalf("hsp %v --help exited %d", path, code)
		}
		for i, l := range strings.Split(out, "\n") {
			if strings.TrimRight(l, " ") != l {
				t.Errorf("hsp %v --help line %d ends in spaces: %q", path, i+1, l)
			}
		}
		if strings.Contains(out, "(default: false)") {
			t.Errorf("hsp %v --help shows a default that says nothing:\n%s", path, out)
		}
		if !strings.Contains(out, "EXIT STATUS") {
			t.Errorf("hsp %v --help lists no exit codes", path)
		}
	}
	top, _ := run(t, "--help")
	for _, want := range []string{"0  success", "6  the daemon's disk is full", "8  the daemon serves", "man "} {
		if !strings.Contains(top, want) {
			t.Errorf("the top-level help lacks %q", want)
		}
	}
}

func TestHelpAndVersionCommands(t *testing.T) {
	if out, code := run(t, "help", "cat"); code != ExitOK || !strings.Contains(out, "hsp cat - print a core's blocks") {
		t.Errorf("hsp help cat (exit %d):\n%s", code, out)
	}
	if out, code := run(t); code != ExitOK || !strings.Contains(out, "COMMANDS:") {
		t.Errorf("bare hsp (exit %d):\n%s", code, out)
	}
	if out, code := run(t, "version"); code != ExitOK || !strings.HasPrefix(out, "hsp version ") {
		t.Errorf("hsp version (exit %d): %q", code, out)
	}
	out, code := run(t, "--json", "--version")
	if code != ExitOK || !strings.Contains(out, `"version":`) || !strings.Contains(out, `"protocol":`) || !strings.Contains(out, `"go":"go`) {
		t.Errorf("hsp --json --version (exit %d): %q", code, out)
	}
}
