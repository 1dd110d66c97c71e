package commands

import (
	"bytes"
	"strings"
	"testing"

	"github.com/hspd/hsp/rpc"
)

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := Main([]string{"hsp", "--version"}, &out, &errOut); code != ExitOK {
		t.Fatalf("hsp --version exited %d: %s", code, errOut.String())
	}
	if got := out.String(); got != "hsp version "+rpc.Version+"\n" {
		t.Fatalf("hsp --version printed %q", got)
	}
}

func TestUnknownCommand(t *testing.T) {
	var out, errOut bytes.Buffer
	code := Main([]string{"hsp", "frobnicate"}, &out, &errOut)
	if code == ExitOK {
		t.Fatalf("an unknown command exited 0; stdout %q", out.String())
	}
	if !strings.Contains(errOut.String()+out.String(), "frobnicate") {
		t.Fatalf("the error does not name the command: %q / %q", out.String(), errOut.String())
	}
}
