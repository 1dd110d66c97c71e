package commands

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/fatih/color"
	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"

	"github.com/hspd/hsp/rpc"
)

// output writes results on stdout and diagnostics on stderr, as text or,
// with --json, as JSON.
type output struct {
	stdout, stderr io.Writer
	json           bool
	logPath        string
	key            *color.Color
	dim            *color.Color
	bad            *color.Color
}

func newOutput(stdout, stderr io.Writer) *output {
	return &output{stdout: stdout, stderr: stderr}
}

// setup reads the global flags and decides whether to use color: only on a
// terminal, and never under NO_COLOR.
func (o *output) setup(c *cli.Context) {
	o.json = c.Bool("json")
	if p, err := pathsOf(c); err == nil {
		o.logPath = p.Log
	}
	f, isFile := o.stdout.(*os.File)
	noColor := os.Getenv("NO_COLOR") != "" || !isFile || !isatty.IsTerminal(f.Fd())
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

// result prints v as JSON under --json, else calls text.
func (o *output) result(v any, text func(w io.Writer)) error {
	if o.json {
		return o.jsonLine(v)
	}
	text(o.stdout)
	return nil
}

// jsonLine writes v as one line of JSON on stdout.
func (o *output) jsonLine(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode result: %w", err)
	}
	_, err = fmt.Fprintf(o.stdout, "%s\n", b)
	return err
}

// warn prints a diagnostic on stderr.
func (o *output) warn(format string, args ...any) {
	fmt.Fprintf(o.stderr, "hsp: warning: "+format+"\n", args...)
}

// fail reports err on stderr and returns the exit code.
func (o *output) fail(err error) int {
	code, name := classify(err)
	if o.json {
		b, _ := json.Marshal(rpc.ErrorResult{Type: "error", Error: err.Error(), Code: name, ExitCode: code})
		fmt.Fprintf(o.stderr, "%s\n", b)
		return code
	}
	if o.bad == nil {
		o.bad = color.New()
		o.bad.DisableColor()
	}
	o.bad.Fprintf(o.stderr, "hsp: %v\n", err)
	if h := hint(err, o.logPath); h != "" {
		fmt.Fprintf(o.stderr, "hsp: %s\n", h)
	}
	return code
}
