package commands

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// manDate is the date on the manual page; change it with the page.
const manDate = "2026-12-01"

func manCommand() *cli.Command {
	return &cli.Command{
		Name:        "man",
		Usage:       "print hsp's manual page (roff; man -l <(hsp man) shows it)",
		Description: exitStatus(ExitOK, ExitError, ExitUsage),
		Action: func(c *cli.Context) error {
			if c.Args().Present() {
				return usagef("man takes no arguments")
			}
			m := &manPage{}
			m.write(c.App)
			_, err := io.WriteString(c.App.Writer, m.String())
			return err
		},
	}
}

// manPage builds a section-1 page in man(7) roff from the app itself, so
// that it lists the same commands and flags as the help.
type manPage struct{ strings.Builder }

func (m *manPage) line(format string, args ...any) { fmt.Fprintf(m, format+"\n", args...) }

// text writes prose: escaped, a blank line starting a new paragraph.
func (m *manPage) text(s string) {
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			m.line(".PP")
			continue
		}
		for _, w := range wrapRoff(l, 79) {
			m.line("%s", w)
		}
	}
}

// wrapRoff escapes a line of text and cuts it at spaces into lines of at
// most width bytes (a longer word stays whole).
func wrapRoff(s string, width int) []string {
	var out []string
	cur := ""
	for _, w := range strings.Fields(s) {
		if cur != "" && len(roffText(cur+" "+w)) > width {
			out, cur = append(out, roffText(cur)), w
			continue
		}
		cur = strings.TrimSpace(cur + " " + w)
	}
	return append(out, roffText(cur))
}

func (m *manPage) write(app *cli.App) {
	m.line(`.TH HSP 1 %s "hsp %s" "User Commands"`, manDate, rpc.Version)
	m.line(".SH NAME")
	m.line(`hsp \- %s`, roffText(app.Usage))
	m.line(".SH SYNOPSIS")
	m.line(".B hsp")
	m.line(`.RI [ "global options" ] " command" " " [ "command options" ] " " [ arguments ]`)
	m.line(".SH DESCRIPTION")
	m.text(manDescription)
	m.line(".SH OPTIONS")
	m.text("Global options go before or after the command; " +
		"a command's options may follow its arguments. \"--\" ends the options.")
	m.flags(app.Flags)
	m.flag(&cli.BoolFlag{Name: "help", Aliases: []string{"h"}, Usage: "show the help (of the command, after one)"})
	m.flag(&cli.BoolFlag{Name: "version", Aliases: []string{"v"}, Usage: "print the version"})
	m.line(".SH COMMANDS")
	for _, cmd := range app.Commands {
		m.command("hsp", cmd)
	}
	m.exitStatus()
	m.WriteString(manTail)
}

func (m *manPage) command(parent string, cmd *cli.Command) {
	if cmd.Hidden {
		return
	}
	name := parent + " " + cmd.Name
	m.line(`.SS "%s"`, roffText(strings.TrimSpace(name+" "+cmd.ArgsUsage)))
	m.text(strings.ToUpper(cmd.Usage[:1]) + cmd.Usage[1:] + ".")
	desc, codes, _ := strings.Cut(cmd.Description, "EXIT STATUS")
	if desc = strings.TrimSpace(desc); desc != "" {
		m.line(".PP")
		m.text(desc)
	}
	if codes = exitCodesOf(codes); codes != "" {
		m.line(".PP")
		m.text("Exit status: " + codes + ".")
	}
	m.flags(cmd.Flags)
	for _, sub := range cmd.Subcommands {
		m.command(name, sub)
	}
}

func (m *manPage) flags(flags []cli.Flag) {
	for _, f := range flags {
		if vf, ok := f.(cli.VisibleFlag); ok && !vf.IsVisible() {
			continue
		}
		if n := f.Names()[0]; n == "help" || n == "version" {
			continue // urfave/cli's own, added as it runs; the page says them once
		}
		m.flag(f)
	}
}

// flag writes one flag as a tagged paragraph: "--chunk N", then its use.
func (m *manPage) flag(f cli.Flag) {
	s := flagString(f)
	names, usage, _ := strings.Cut(s, "\t")
	placeholder := ""
	if df, ok := f.(cli.DocGenerationFlag); ok && df.TakesValue() {
		placeholder, _ = splitPlaceholder(df.GetUsage())
		names = strings.TrimSuffix(names, " "+placeholder)
	}
	var tag []string
	for _, n := range strings.Split(names, ", ") {
		tag = append(tag, `\fB`+roffText(n)+`\fR`)
	}
	head := strings.Join(tag, ", ")
	if placeholder != "" {
		head += ` \fI` + roffText(placeholder) + `\fR`
	}
	m.line(".TP")
	m.line("%s", head)
	m.text(usage)
}

func (m *manPage) exitStatus() {
	m.line(".SH EXIT STATUS")
	for _, e := range exitMeanings {
		m.line(".TP")
		m.line(`.B %d`, e.code)
		m.text(e.meaning)
	}
	m.line(".PP")
	m.text("Under --json a failure prints one JSON object on stderr " +
		"naming its code; a write to a closed pipe (hsp ls | head) ends hsp quietly by SIGPIPE.")
}

// exitCodesOf reads the codes of an EXIT STATUS section: "0, 1, 2".
func exitCodesOf(section string) string {
	var codes []string
	for _, l := range strings.Split(section, "\n") {
		if f := strings.Fields(l); len(f) > 0 && len(f[0]) == 1 && f[0][0] >= '0' && f[0][0] <= '9' {
			codes = append(codes, f[0])
		}
	}
	return strings.Join(codes, ", ")
}

// roffText escapes a line of text for roff: backslashes and dashes, and a
// leading dot or quote that would make it a request.
func roffText(s string) string {
	s = strings.NewReplacer(`\`, `\e`, "-", `\-`).Replace(s)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

const manDescription = `hsp keeps hypercores, the signed append-only logs of the Hypercore Protocol,
byte for byte compatible with JavaScript hypercore 9, and serves them to its
clients through a daemon, as Hyperspace does.

One binary does both. "hsp daemon" runs the daemon; every other command is a
client that reaches it over a unix socket in the home and, when nothing
answers, starts one itself, detached, which keeps running after the command
ends ("hsp daemon stop" stops it; --no-spawn turns the automatic start off).

A core is named by its key: 64 hex characters, hyper://<key> (the scheme in
any case), or a prefix of at least 8 hex characters that only one stored key
starts with. A named core (hsp create --name NAME) is derived from the
daemon's master key: the same name gives the same key; other commands
address it by that key.

Results go to stdout, errors and diagnostics to stderr. With --json each
result is one line of JSON, as docs/json.md in hsp's sources describes.`

const manTail = `.SH ENVIRONMENT
.TP
.B HSP_HOME
The home, where the daemon keeps its data, socket, lock, log and token
(\-\-home overrides it).
.TP
.B XDG_DATA_HOME
Without HSP_HOME, the home is $XDG_DATA_HOME/hsp, else ~/.local/share/hsp.
.TP
.B XDG_RUNTIME_DIR
Where the socket goes when the home's path is too long for one (else a
hsp\-UID directory in the temporary directory).
.TP
.B HSP_TOKEN_FILE
The file whose token a TCP client presents (\-\-token\-file).
.TP
.B HSP_LOG_LEVEL
The daemon's log level: debug, info, warn or error (hsp daemon \-\-log\-level).
.TP
.B HSP_TRACE
The subsystems the daemon logs everything of, comma\-separated, or all
(hsp daemon \-\-trace).
.TP
.B HSP_BOOTSTRAP
The DHT nodes to join through, HOST:PORT entries separated by commas, or
none (hsp daemon \-\-bootstrap, hsp dht \-\-bootstrap).
.TP
.B NO_COLOR
When set, no color, even on a terminal.
.SH FILES
.TP
.I $HSP_HOME/storage/
The pebble database that holds every core.
.TP
.I $HSP_HOME/hsp.sock
The daemon's unix socket.
.TP
.I $HSP_HOME/LOCK
Held by the running daemon; it records the daemon's pid and socket.
.TP
.I $HSP_HOME/daemon.log
The log of a detached daemon, rotated past 10 MiB.
.TP
.I $HSP_HOME/token
The token TCP clients present.
.TP
.I $HSP_HOME/config
The settings every daemon start reads (hsp config).
.SH EXAMPLES
Create a core, append two blocks and read them back:
.PP
.EX
K=$(hsp create)
hsp append $K hello world
hsp cat $K
.EE
.PP
Store a file in 64 KiB blocks and get it back byte for byte:
.PP
.EX
hsp append \-\-chunk 65536 $K < file.bin
hsp cat \-\-raw $K > copy.bin
.EE
.PP
List the cores as JSON, then stop the daemon:
.PP
.EX
hsp \-\-json ls
hsp daemon stop
.EE
.SH SEE ALSO
.BR man (1)
`
