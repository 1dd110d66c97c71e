package commands

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestInstallService(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	home := filepath.Join(t.TempDir(), "my home")
	unit := filepath.Join(cfg, "systemd", "user", "hsp.service")

	out, code := run(t, "--home", home, "daemon", "install-service")
	if code != ExitOK || !strings.Contains(out, "wrote "+unit) || !strings.Contains(out, "systemctl --user daemon-reload") {
		t.Fatalf("install-service: exit %d\n%s", code, out)
	}
	b, err := os.ReadFile(unit)
	if err != nil {
		t.Fatal(err)
	}
	exe, _ := executable()
	for _, want := range []string{
		"ExecStart=" + exe + ` --home "` + home + `" daemon` + "\n",
		"ExecStop=" + exe + ` --home "` + home + `" daemon stop` + "\n",
		"Restart=on-failure\n", "WantedBy=default.target\n",
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("the unit lacks %q:\n%s", want, b)
		}
	}
	if _, err := os.Stat(home); err == nil {
		t.Error("install-service created the home")
	}

	if out, code := run(t, "--home", home, "--json", "daemon", "install-service"); code != ExitOK || !strings.Contains(out, `"written":false`) {
		t.Fatalf("again: exit %d\n%s", code, out)
	}
	if out, code := run(t, "--home", home+"2", "daemon", "install-service"); code != ExitError || !strings.Contains(out, "--force") {
		t.Fatalf("another home over it: exit %d\n%s", code, out)
	}
	if out, code := run(t, "--home", home+"2", "daemon", "install-service", "--force"); code != ExitOK || !strings.Contains(out, "wrote") {
		t.Fatalf("--force: exit %d\n%s", code, out)
	}
	printed, code := run(t, "--home", home, "daemon", "install-service", "--print")
	if code != ExitOK || !strings.HasPrefix(printed, "[Unit]\n") || printed != serviceUnit(exe, home) {
		t.Fatalf("--print: exit %d\n%s", code, printed)
	}
	if b, _ := os.ReadFile(unit); !strings.Contains(string(b), home+"2") {
		t.Error("--print wrote the unit")
	}
}

func TestSystemdQuote(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/hsp": "/usr/bin/hsp",
		"/a b/hsp":     `"/a b/hsp"`,
		`/a"b`:         `"/a\"b"`,
		"/50%":         "/50%%",
		"/$HOME x":     `"/$$HOME x"`,
		"":             `""`,
	} {
		if got := systemdQuote(in); got != want {
			t.Errorf("systemdQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
