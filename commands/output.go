package commands

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// output writes results on stdout and diagnostics on stderr, as text or,
// with --json, as JSON.
type output struct {
	stdout  *stickyWriter // remembers its first write error
	stderr  io.Writer
	json    bool
	ctx     hintContext
	key     *color.Color
	dim     *color.Color
	bad     *color.Color
	rawFile *os.File // stdout, when it is a file (for the terminal test)
}

func newOutput(stdout, stderr io.Writer) *output {
	o := &output{stdout: &stickyWriter{w: stdout}, stderr: stderr}
	o.rawFile, _ = stdout.(*os.File)
	o.key, o.dim, o.bad = plainColor(), plainColor(), plainColor()
	return o
}

func plainColor() *color.Color {
	c := color.New()
	c.DisableColor()
	return c
}

// setup reads the global flags and decides whether to use color: only on a
// terminal, and never under NO_COLOR.
func (o *output) setup(c *cli.Context) {
	o.json = o.json || c.Bool("json")
	o.ctx = hintContext{noSpawn: c.Bool("no-spawn"), connect: c.String("connect")}
	if p, err := pathsOf(c); err == nil {
		o.ctx.logPath = p.Log
		o.ctx.tokenPath = p.Token
	}
	noColor := os.Getenv("NO_COLOR") != "" || o.rawFile == nil || !isatty.IsTerminal(o.rawFile.Fd())
	o.key = color.New(color.FgCyan)
	o.dim = color.New(color.Faint)
	o.bad = color.New(color.FgRed)
	for _, c := range []*color.Color{o.key, o.dim, o.bad} {
		if noColor {
			c.DisableColor()
		} else {
			c.EnableColor()
		}
	}
}

// result prints v as JSON under --json, else calls text. Either way a
// failed write is an error: output nobody can read is not a success.
func (o *output) result(v any, text func(w io.Writer)) error {
	if o.json {
		return o.jsonLine(v)
	}
	text(o.stdout)
	return o.stdout.err
}

// jsonLine writes v as one line of JSON on stdout.
func (o *output) jsonLine(v any) error {
	b, err := marshalJSON(v)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	if _, err = o.stdout.Write(b); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// marshalJSON encodes v on one line, ending in a newline, leaving <, > and
// & as they are: the output is for scripts, not for HTML.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v)
	return buf.Bytes(), err
}

// warn prints a diagnostic on stderr.
func (o *output) warn(format string, args ...any) {
	fmt.Fprintf(o.stderr, "hsp: warning: "+format+"\n", args...)
}

// errQuiet is a failure already explained to the user (a declined
// confirmation): it exits 1 and prints nothing more in text.
var errQuiet = errors.New("quiet")

// fail reports err on stderr and returns the exit code.
func (o *output) fail(err error) int {
	code, name := classify(err)
	msg := tidyMessage(err)
	if o.json {
		if errors.Is(err, errUsage) {
			msg = strings.TrimPrefix(msg, errUsage.Error()+": ")
		}
		b, _ := marshalJSON(rpc.ErrorResult{Type: "error", Error: msg, Code: name, ExitCode: code})
		o.stderr.Write(b)
		return code
	}
	if errors.Is(err, errQuiet) {
		return code
	}
	o.bad.Fprintf(o.stderr, "hsp: %s\n", printableText(msg))
	if h := hint(err, o.ctx); h != "" {
		fmt.Fprintf(o.stderr, "hsp: %s\n", printableText(h))
	}
	return code
}

// stickyWriter passes writes on and remembers the first error, so that a
// renderer that ignores what Fprintf returns still fails its command.
type stickyWriter struct {
	w   io.Writer
	err error
}

func (s *stickyWriter) Write(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.w.Write(p)
	if err != nil {
		s.err = err
	}
	return n, s.err
}

// tidyMessage is err's text with a clause repeated at its start said once:
// the client names what it tried ("delete core K: …") and the daemon's
// answer often starts the same way.
func tidyMessage(err error) string {
	msg := err.Error()
	for {
		head, rest, ok := strings.Cut(msg, ": ")
		if !ok || !strings.HasPrefix(rest, head+": ") {
			return msg
		}
		msg = rest
	}
}

// printable escapes the control characters of s (and invalid UTF-8), so
// that a name cannot move the cursor, clear the screen or break a table:
// ESC [ 2 J prints as `\x1b[2J`, a newline as `\n`.
func printable(s string) string { return escapeControls(s, false) }

// printableText is printable but keeps newlines and tabs, for messages of
// several lines.
func printableText(s string) string { return escapeControls(s, true) }

func escapeControls(s string, keepLines bool) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case keepLines && (r == '\n' || r == '\t'):
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}
