package commands

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// serviceName is the systemd user unit install-service writes.
const serviceName = "hsp.service"

func daemonInstallServiceCommand() *cli.Command {
	return &cli.Command{
		Name:  "install-service",
		Usage: "write a systemd user unit that runs this home's daemon at login and after a crash",
		Description: `Writes ` + serviceName + ` into $XDG_CONFIG_HOME/systemd/user (else
~/.config/systemd/user): it runs 'hsp --home HOME daemon' in the foreground
(logging to the journal), restarts it when it fails, and stops it with 'hsp
daemon stop'. Then start it, now and at every login:

   systemctl --user daemon-reload && systemctl --user enable --now hsp

and, to keep it running when you are logged out (seeding across reboots):

   loginctl enable-linger "$USER"

A unit that differs is left alone unless --force; with --print the unit goes
to stdout and nothing is written.

` + exitStatus(ExitOK, ExitError, ExitUsage),
		Flags: []cli.Flag{
			&cli.BoolFlag{Name: "print", Usage: "print the unit instead of writing it"},
			&cli.BoolFlag{Name: "force", Usage: "replace a unit that differs"},
		},
		Action: installService,
	}
}

func installService(c *cli.Context) error {
	if c.Args().Present() {
		return usagef("install-service takes no arguments")
	}
	p, err := pathsOf(c)
	if err != nil {
		return err
	}
	exe, err := executable()
	if err != nil {
		return err
	}
	unit := serviceUnit(exe, p.Home)
	out := outputOf(c)
	if c.Bool("print") {
		_, err := io.WriteString(out.stdout, unit)
		return err
	}
	res, err := writeUnit(unitDir(), unit, c.Bool("force"))
	if err != nil {
		return err
	}
	return out.result(res, func(w io.Writer) {
		verb := "wrote"
		if !res.Written {
			verb = "unchanged:"
		}
		fmt.Fprintf(w, "%s %s\n", verb, printable(res.Path))
		fmt.Fprintln(w, "start it now and at every login: systemctl --user daemon-reload && systemctl --user enable --now hsp")
		fmt.Fprintln(w, `keep it running when logged out: loginctl enable-linger "$USER"`)
	})
}

// executable is this binary's path, symlinks resolved, for ExecStart.
func executable() (string, error) {
	exe, err := os.Executable()
	if err == nil {
		exe, err = filepath.EvalSymlinks(exe)
	}
	if err != nil {
		return "", fmt.Errorf("find the hsp binary for the unit: %w", err)
	}
	return exe, nil
}

// unitDir is where systemd looks for a user's units.
func unitDir() string {
	if d := os.Getenv("XDG_CONFIG_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "systemd", "user")
	}
	h, _ := os.UserHomeDir()
	return filepath.Join(h, ".config", "systemd", "user")
}

// serviceUnit is the unit that runs exe's daemon on home.
func serviceUnit(exe, home string) string {
	run := fmt.Sprintf("%s --home %s", systemdQuote(exe), systemdQuote(home))
	return fmt.Sprintf(`[Unit]
Description=hsp, a Hyperspace daemon (home %s)
Documentation=man:hsp(1)
Wants=network-online.target
After=network-online.target

[Service]
Type=simple
ExecStart=%s daemon
ExecStop=%s daemon stop
Restart=on-failure
RestartSec=5s
TimeoutStopSec=20s

[Install]
WantedBy=default.target
`, strings.ReplaceAll(home, "%", "%%"), run, run)
}

// systemdQuote quotes one command-line word as systemd reads ExecStart:
// double quotes with backslash escapes, and %% for a percent sign.
func systemdQuote(s string) string {
	s = strings.ReplaceAll(s, "%", "%%")
	if s != "" && !strings.ContainsAny(s, " \t\"'\\$;") {
		return s
	}
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `$$`)
	return `"` + r.Replace(s) + `"`
}

// writeUnit writes unit into dir, leaving an equal one as it is and
// refusing to replace one that differs unless force.
func writeUnit(dir, unit string, force bool) (rpc.ServiceResult, error) {
	path := filepath.Join(dir, serviceName)
	res := rpc.ServiceResult{Path: path}
	old, err := os.ReadFile(path)
	switch {
	case err == nil && bytes.Equal(old, []byte(unit)):
		return res, nil
	case err == nil && !force:
		return res, fmt.Errorf("%s exists and differs (another home or binary?): --force replaces it", path)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return res, fmt.Errorf("read %s: %w", path, err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, fmt.Errorf("create %s: %w", dir, err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(unit), 0o644); err != nil {
		return res, fmt.Errorf("write %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return res, fmt.Errorf("write %s: %w", path, err)
	}
	res.Written = true
	return res, nil
}
